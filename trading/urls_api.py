from django.urls import path

from trading import api

urlpatterns = [
    path("trading/orders", api.OrdersApi.as_view(), name="api-orders"),
    path("trading/orders/<int:order_id>", api.OrderDetailApi.as_view(), name="api-order"),
    path("trading/orders/<int:order_id>/cancel", api.OrderCancelApi.as_view(), name="api-order-cancel"),
    path("trading/executions", api.ExecutionsApi.as_view(), name="api-executions"),
]
