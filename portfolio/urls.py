from django.urls import path

from portfolio import views

urlpatterns = [
    path("portfolio/", views.portfolio_page, name="portfolio"),
    path("portfolio/deposit/", views.cash_move, {"direction": "deposit"}, name="deposit"),
    path("portfolio/withdraw/", views.cash_move, {"direction": "withdraw"}, name="withdraw"),
    path("portfolio/ledger/", views.ledger_page, name="ledger"),
    path("portfolio/reset/", views.reset_page, name="account-reset"),
    path("analytics/", views.analytics_page, name="analytics"),
    path("accounts/history/", views.accounts_history_page, name="accounts-history"),
    path("accounts/history/<int:account_id>/", views.account_history_detail, name="account-history-detail"),
    path("watchlists/", views.watchlists_page, name="watchlists"),
    path("watchlists/new/", views.watchlist_create, name="watchlist-create"),
    path("watchlists/<int:watchlist_id>/delete/", views.watchlist_delete, name="watchlist-delete"),
    path("watchlists/<int:watchlist_id>/rename/", views.watchlist_rename, name="watchlist-rename"),
    path("watchlists/<int:watchlist_id>/add/", views.watchlist_add, name="watchlist-add"),
    path("watchlists/<int:watchlist_id>/suggest/", views.watchlist_stock_suggestions, name="watchlist-suggest"),
    path("watchlists/<int:watchlist_id>/remove/<str:stock_code>/", views.watchlist_remove, name="watchlist-remove"),
]
