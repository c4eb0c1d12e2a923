from django.urls import path

from trading import views

urlpatterns = [
    path("orders/", views.orders_page, name="orders"),
    path("orders/<int:order_id>/cancel/", views.order_cancel_view, name="order-cancel"),
    path("orders/ticket/<str:code>/", views.order_ticket, name="order-ticket"),
    path("orders/ticket/<str:code>/place/", views.order_ticket_submit, name="order-ticket-place"),
]
