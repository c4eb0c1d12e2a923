"""Market-data API routes under /api/v1/: no trailing slash; realtime and admin paths are the original service's."""

from django.urls import path

from marketdata import api

urlpatterns = [
    path("stocks/<str:code>/candles", api.StockCandlesApi.as_view(), name="api-stock-candles"),
    path("market/indices", api.MarketIndicesApi.as_view(), name="api-market-indices"),
    path("market/indices/<str:code>/history", api.MarketIndexHistoryApi.as_view(), name="api-market-index-history"),
    path("market/movers", api.MarketMoversApi.as_view(), name="api-market-movers"),
    path("trading/realtime/stock/<str:stock_code>", api.RealtimeStockApi.as_view(), name="api-realtime-stock"),
    path("trading/realtime/stocks/multiple", api.RealtimeStocksMultipleApi.as_view(), name="api-realtime-multiple"),
    path("trading/realtime/stocks/all", api.RealtimeStocksAllApi.as_view(), name="api-realtime-all"),
    path("trading/realtime/daemon/health", api.RelayHealthApi.as_view(), name="api-relay-health"),
    path("admin/websocket/subscriptions", api.RelaySubscriptionsApi.as_view(), name="api-relay-subscriptions"),
    path("admin/websocket/subscriptions/subscribe", api.RelaySubscribeApi.as_view(), name="api-relay-subscribe"),
    path(
        "admin/websocket/subscriptions/unsubscribe",
        api.RelayUnsubscribeApi.as_view(),
        name="api-relay-unsubscribe",
    ),
]
