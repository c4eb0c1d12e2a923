from django.urls import path

from payments import views

urlpatterns = [
    path("premium/", views.premium_page, name="premium"),
    path("premium/account/", views.premium_account, name="premium-account"),
]
