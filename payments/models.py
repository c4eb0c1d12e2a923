"""Premium subscription paid through PortOne V2 (docs/architecture.md §10): catalogue, payments, entitlement,
webhooks."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import pgettext_lazy

# Whole won: KRW has no minor unit (as in portfolio.models).
WON = {"max_digits": 18, "decimal_places": 0}


class Product(models.Model):
    """What can be bought. The price is ours: the browser never sends an amount that is trusted."""

    code = models.SlugField(max_length=50, unique=True, help_text="e.g. premium_monthly; the API's `product`")
    name = models.CharField(max_length=100, help_text="shown on the page and sent to PortOne as the order name")
    price = models.DecimalField(**WON, help_text="whole won")
    currency = models.CharField(max_length=3, default="KRW")
    period_days = models.PositiveIntegerField(help_text="premium days one payment adds")
    is_active = models.BooleanField(default=True, help_text="inactive products cannot be bought")
    position = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(condition=Q(period_days__gt=0), name="product_period_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class PaymentStatus(models.TextChoices):
    """PortOne V2's payment statuses, mirrored."""

    READY = "READY", pgettext_lazy("payment status", "Ready")
    PAY_PENDING = "PAY_PENDING", pgettext_lazy("payment status", "Pay pending")
    VIRTUAL_ACCOUNT_ISSUED = "VIRTUAL_ACCOUNT_ISSUED", pgettext_lazy("payment status", "Virtual account issued")
    PAID = "PAID", pgettext_lazy("payment status", "Paid")
    FAILED = "FAILED", pgettext_lazy("payment status", "Failed")
    PARTIAL_CANCELLED = "PARTIAL_CANCELLED", pgettext_lazy("payment status", "Partially cancelled")
    CANCELLED = "CANCELLED", pgettext_lazy("payment status", "Cancelled")


# Not paid yet: the entitlement may still be granted (FAILED too: PortOne allows another attempt on one id).
GRANTABLE_STATUSES = (
    PaymentStatus.READY,
    PaymentStatus.PAY_PENDING,
    PaymentStatus.VIRTUAL_ACCOUNT_ISSUED,
    PaymentStatus.FAILED,
)
# Asked again by the reconciliation task until they resolve or run out of attempts.
RECONCILED_STATUSES = (PaymentStatus.READY, PaymentStatus.PAY_PENDING)


class Payment(models.Model):
    """One purchase attempt. PAID means the entitlement was granted, in the same transaction."""

    payment_id = models.CharField(max_length=64, unique=True, editable=False, help_text="ours, unguessable")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="payments")
    order_name = models.CharField(max_length=100)
    # Snapshots of the catalogue at prepare time: a later price change does not alter this payment.
    amount = models.DecimalField(**WON)
    currency = models.CharField(max_length=3)
    period_days = models.PositiveIntegerField()
    status = models.CharField(max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.READY)
    transaction_id = models.CharField(max_length=100, blank=True, help_text="PortOne's transaction id")
    raw_response = models.JSONField(null=True, blank=True, help_text="PortOne's last answer about this payment")
    failure_reason = models.CharField(max_length=500, blank=True)
    reconcile_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="payment_user_time"),
            models.Index(fields=["status", "created_at"], name="payment_status_time"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.amount} {self.currency} {self.status}"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    CANCELLED = "CANCELLED", "Cancelled"  # refunded or ended by staff


class Subscription(models.Model):
    """A user's premium. Premium = ACTIVE and current_period_end in the future: expiry needs no job."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscription")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(current_period_end__gte=models.F("current_period_start")), name="subscription_period_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.status} until {self.current_period_end:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        return self.status == SubscriptionStatus.ACTIVE and self.current_period_end > timezone.now()


class ProcessedWebhook(models.Model):
    """A webhook we acted on; its id (Standard Webhooks `webhook-id`, kept across retries) makes replays no-ops."""

    webhook_id = models.CharField(max_length=200, unique=True)
    event_type = models.CharField(max_length=64, blank=True)
    payment_id = models.CharField(max_length=64, blank=True, db_index=True)
    outcome = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.event_type}"
