from django.urls import path

from trading import views

urlpatterns = [
    path("orders/", views.orders_page, name="orders"),
    path("orders/<int:order_id>/cancel/", views.order_cancel_view, name="order-cancel"),
    path("orders/<int:order_id>/replace/", views.order_replace_view, name="order-replace"),
    path("orders/stock/<str:code>/", views.stock_orders, name="stock-orders"),
    path("orders/ticket/<str:code>/", views.order_ticket, name="order-ticket"),
    path("orders/ticket/<str:code>/place/", views.order_ticket_submit, name="order-ticket-place"),
]
