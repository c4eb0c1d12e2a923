from django.urls import path

from portfolio import api

urlpatterns = [
    path("portfolio", api.PortfolioApi.as_view(), name="api-portfolio"),
    path("portfolio/holdings", api.HoldingsApi.as_view(), name="api-holdings"),
    path("portfolio/transactions", api.TransactionsApi.as_view(), name="api-transactions"),
    path("portfolio/deposit", api.DepositApi.as_view(), name="api-deposit"),
    path("portfolio/withdraw", api.WithdrawApi.as_view(), name="api-withdraw"),
    path("portfolio/reset", api.ResetApi.as_view(), name="api-reset"),
    path("portfolio/history", api.HistoryApi.as_view(), name="api-portfolio-history"),
    path("portfolio/analytics", api.AnalyticsApi.as_view(), name="api-portfolio-analytics"),
    path("portfolio/accounts", api.AccountsApi.as_view(), name="api-portfolio-accounts"),
    path("portfolio/watchlists", api.WatchlistsApi.as_view(), name="api-watchlists"),
    path("portfolio/watchlists/<int:watchlist_id>", api.WatchlistDetailApi.as_view(), name="api-watchlist"),
    path("portfolio/watchlists/<int:watchlist_id>/items", api.WatchlistItemsApi.as_view(), name="api-watchlist-items"),
    path(
        "portfolio/watchlists/<int:watchlist_id>/items/<str:stock_code>",
        api.WatchlistItemApi.as_view(),
        name="api-watchlist-item",
    ),
    path("portfolio/watchlists/<int:watchlist_id>/order", api.WatchlistOrderApi.as_view(), name="api-watchlist-order"),
]
