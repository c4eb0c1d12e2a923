from django.urls import path

from payments import api

urlpatterns = [
    path("payments/portone/prepare", api.PrepareApi.as_view(), name="api-payment-prepare"),
    path("payments/portone/complete", api.CompleteApi.as_view(), name="api-payment-complete"),
    path("payments/portone/webhook", api.WebhookApi.as_view(), name="api-payment-webhook"),
    path("payments", api.PaymentsApi.as_view(), name="api-payments"),
    path("payments/subscription", api.SubscriptionApi.as_view(), name="api-subscription"),
]
