"""Payments API (docs/architecture.md §9, §10): PortOne V2 prepare / complete / webhook, my payments, my subscription.

Paths and the `{"data": …}` envelope are kept from the original service.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from kernel.errors import error_response
from kernel.pagination import PagePagination
from payments import selectors, services
from payments.errors import PaymentFailed, PaymentNotPaid, PaymentsDisabled
from payments.models import PaymentStatus
from payments.portone import config, verify_webhook

TAGS = ["payments"]
PAYMENTS_DISABLED = error_response("`payments_disabled`: this server runs without payments (PAYMENTS_ENABLED=false)")


def ensure_payments_enabled() -> None:
    """Before anything is parsed, written or asked of PortOne: an operator may run without payments."""
    if not settings.PAYMENTS_ENABLED:
        raise PaymentsDisabled()


class PaymentOutputSerializer(serializers.Serializer):
    payment_id = serializers.CharField()
    product = serializers.CharField(source="product.code")
    order_name = serializers.CharField()
    amount = serializers.IntegerField(help_text="whole won")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


class SubscriptionOutputSerializer(serializers.Serializer):
    is_premium = serializers.BooleanField(help_text="an ACTIVE subscription whose period has not ended")
    status = serializers.CharField(allow_null=True, help_text="ACTIVE or CANCELLED; null: never subscribed")
    product = serializers.CharField(allow_null=True)
    current_period_start = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)


def _subscription_data(user) -> dict:
    subscription = selectors.subscription_get(user=user)
    if subscription is None:
        return {"is_premium": False, "status": None, "product": None,
                "current_period_start": None, "current_period_end": None}  # fmt: skip
    return SubscriptionOutputSerializer(
        {
            "is_premium": subscription.is_active,
            "status": subscription.status,
            "product": subscription.product.code,
            "current_period_start": subscription.current_period_start,
            "current_period_end": subscription.current_period_end,
        }
    ).data


class PrepareThrottle(UserRateThrottle):
    scope = "payments_prepare"
    rate = "30/min"  # each call writes a payment row


class PrepareApi(APIView):
    throttle_classes = [PrepareThrottle]

    class InputSerializer(serializers.Serializer):
        product = serializers.SlugRelatedField(
            slug_field="code",
            queryset=selectors.products_for_sale(),
            help_text="a product code of the catalogue, e.g. premium_monthly",
            error_messages={"does_not_exist": _("No product {slug_name}={value} is for sale.")},
        )

    class OutputSerializer(serializers.Serializer):
        store_id = serializers.CharField()
        channel_key = serializers.CharField()
        payment_id = serializers.CharField(help_text="ours; pass it to PortOne.requestPayment as paymentId")
        order_name = serializers.CharField()
        amount = serializers.IntegerField(help_text="whole won, from the catalogue")
        currency = serializers.CharField()

    @extend_schema(
        tags=TAGS,
        request=InputSerializer,
        responses={200: inline_serializer("PrepareEnvelope", {"data": OutputSerializer()}), 503: PAYMENTS_DISABLED},
        description="Create a READY payment for a product at the catalogue's price and return what "
        "`PortOne.requestPayment` needs. The amount is never taken from the client.",
        examples=[OpenApiExample("Monthly premium", value={"product": "premium_monthly"}, request_only=True)],
    )
    def post(self, request):
        ensure_payments_enabled()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = services.payment_prepare(user=request.user, product=data.validated_data["product"])
        cfg = config()
        body = {
            "store_id": cfg.store_id,
            "channel_key": cfg.channel_key,
            "payment_id": payment.payment_id,
            "order_name": payment.order_name,
            "amount": int(payment.amount),
            "currency": payment.currency,
        }
        return Response({"data": self.OutputSerializer(body).data})


class CompleteApi(APIView):
    class InputSerializer(serializers.Serializer):
        payment_id = serializers.CharField(max_length=64, help_text="the id `prepare` returned")

    class OutputSerializer(serializers.Serializer):
        payment = PaymentOutputSerializer()
        subscription = SubscriptionOutputSerializer()

    @extend_schema(
        tags=TAGS,
        request=InputSerializer,
        responses={
            200: inline_serializer("CompleteEnvelope", {"data": OutputSerializer()}),
            404: error_response("`payment_not_found`: no such payment of yours"),
            409: error_response("`payment_failed` (with the reason) or `payment_not_paid`"),
            502: error_response("`portone_unavailable`: try again"),
            503: PAYMENTS_DISABLED,
        },
        description="Verify the payment with PortOne (status PAID, amount, currency and store ours) and grant "
        "premium once. Idempotent: completing again, or after the webhook, answers the same.",
        examples=[OpenApiExample("Complete", value={"payment_id": "stk_0123456789abcdef"}, request_only=True)],
    )
    def post(self, request):
        ensure_payments_enabled()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = services.payment_complete(user=request.user, payment_id=data.validated_data["payment_id"])
        details = {"payment_id": payment.payment_id, "status": payment.status}
        if payment.status == PaymentStatus.FAILED:
            raise PaymentFailed(payment.failure_reason or PaymentFailed.default_message, details=details)
        if payment.status != PaymentStatus.PAID:
            raise PaymentNotPaid(details=details)
        body = {"payment": PaymentOutputSerializer(payment).data, "subscription": _subscription_data(request.user)}
        return Response({"data": body})


class WebhookApi(APIView):
    """PortOne V2 webhooks: no session, no CSRF; trust comes from the Standard Webhooks signature."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=TAGS,
        request=OpenApiTypes.OBJECT,
        responses={
            200: inline_serializer(
                "WebhookAck",
                {
                    "data": inline_serializer(
                        "WebhookOutcome", {"duplicate": serializers.BooleanField(), "outcome": serializers.CharField()}
                    )
                },
            ),  # fmt: skip
            400: error_response("`invalid_webhook`: missing header, bad signature or stale timestamp"),
            502: error_response("`portone_unavailable`: PortOne will retry"),
            503: error_response("`webhook_not_configured`: this server has no PORTONE_WEBHOOK_SECRET"),
        },
        description="Called by PortOne (`Transaction.Paid`, `Transaction.Cancelled`, …; other types are "
        "acknowledged and ignored). Signed with `webhook-id`, `webhook-timestamp`, `webhook-signature`; "
        "the payment is fetched from PortOne again, never taken from the body. Replays are no-ops. "
        "503 `payments_disabled` while the server runs without payments (PortOne retries).",
    )
    def post(self, request):
        ensure_payments_enabled()
        verified = verify_webhook(body=request.body, headers=request.headers)  # the raw body: never request.data
        result = services.webhook_process(
            webhook_id=verified.webhook_id, event_type=verified.event_type, event=verified.event
        )
        return Response({"data": {"duplicate": result.duplicate, "outcome": result.outcome}})


class PaymentsApi(APIView):
    @extend_schema(
        tags=TAGS, responses={200: PaymentOutputSerializer(many=True)}, description="My payments, newest first."
    )
    def get(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.payments_for(user=request.user), request, view=self)
        return paginator.get_paginated_response(PaymentOutputSerializer(page, many=True).data)


class SubscriptionApi(APIView):
    @extend_schema(
        tags=TAGS,
        responses={200: inline_serializer("SubscriptionEnvelope", {"data": SubscriptionOutputSerializer()})},
        description="My premium subscription; `is_premium` false and nulls when I never subscribed.",
    )
    def get(self, request):
        return Response({"data": _subscription_data(request.user)})
