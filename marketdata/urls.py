from django.urls import path

from marketdata import views

urlpatterns = [
    path("stocks/<str:code>/", views.stock_detail, name="stock-detail"),
    path("market/indices/<str:code>/", views.index_detail, name="index-detail"),
    path("market/movers/", views.movers, name="market-movers"),
]
