from django.urls import path

from marketdata import views

urlpatterns = [
    path("stocks/<str:code>/", views.stock_detail, name="stock-detail"),
]
