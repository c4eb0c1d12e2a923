"""Orders and executions (docs/architecture.md §2–3)."""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import pgettext_lazy

from portfolio.models import WON


class Side(models.TextChoices):
    BUY = "BUY", pgettext_lazy("order side", "Buy")
    SELL = "SELL", pgettext_lazy("order side", "Sell")


class OrderType(models.TextChoices):
    MARKET = "MARKET", pgettext_lazy("order type", "Market")
    LIMIT = "LIMIT", pgettext_lazy("order type", "Limit")
    STOP = "STOP", pgettext_lazy("order type", "Stop")
    STOP_LIMIT = "STOP_LIMIT", pgettext_lazy("order type", "Stop limit")


class TimeInForce(models.TextChoices):
    DAY = "DAY", pgettext_lazy("time in force", "Day")
    GTC = "GTC", pgettext_lazy("time in force", "Good till canceled")
    IOC = "IOC", pgettext_lazy("time in force", "Immediate or cancel")
    FOK = "FOK", pgettext_lazy("time in force", "Fill or kill")


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", pgettext_lazy("order status", "Pending")
    OPEN = "OPEN", pgettext_lazy("order status", "Open")
    PARTIALLY_FILLED = "PARTIALLY_FILLED", pgettext_lazy("order status", "Partially filled")
    FILLED = "FILLED", pgettext_lazy("order status", "Filled")
    CANCELED = "CANCELED", pgettext_lazy("order status", "Canceled")
    REJECTED = "REJECTED", pgettext_lazy("order status", "Rejected")
    EXPIRED = "EXPIRED", pgettext_lazy("order status", "Expired")


WORKING_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


class Book(models.TextChoices):
    """Where a resting order waits, and so which side of a tick wakes it.

    BUY_LIMIT and SELL_STOP act when the price falls to or below trigger_price;
    SELL_LIMIT and BUY_STOP when it rises to or above. NULL once the order stops resting.
    """

    BUY_LIMIT = "BUY_LIMIT"
    SELL_LIMIT = "SELL_LIMIT"
    BUY_STOP = "BUY_STOP"
    SELL_STOP = "SELL_STOP"


class Order(models.Model):
    account = models.ForeignKey("portfolio.Account", on_delete=models.PROTECT, related_name="orders")
    stock = models.ForeignKey("marketdata.Stock", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=10, choices=OrderType.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, default=TimeInForce.DAY)
    quantity = models.PositiveBigIntegerField()
    filled_quantity = models.PositiveBigIntegerField(default=0)
    limit_price = models.DecimalField(**WON, null=True, blank=True)
    stop_price = models.DecimalField(**WON, null=True, blank=True)
    average_fill_price = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    # What the order still holds: cash for buys, shares for sells. Released on fill, cancel, expiry.
    reserved_cash = models.DecimalField(**WON, default=Decimal(0))
    reserved_quantity = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    book = models.CharField(max_length=10, choices=Book.choices, null=True, blank=True)
    trigger_price = models.DecimalField(**WON, null=True, blank=True)
    client_order_id = models.CharField(max_length=64, null=True, blank=True)
    reject_reason = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="filled, canceled, rejected or expired")
    # 정정: a replaced order is canceled and points to its replacement (`replaced_by`), which points back here.
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by", editable=False
    )

    # Not a column: the order's executions, newest first, once known. An order being placed
    # collects its fills here as they happen (order_place), so its response reads nothing back.
    fills: list["Execution"] | None = None

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the matcher's range query: resting orders of one stock that a price crosses
            models.Index(fields=["stock", "book", "trigger_price"], name="order_book_price"),
            models.Index(fields=["account", "status", "-created_at"], name="order_account_status"),
            models.Index(fields=["status", "expires_at"], name="order_expiry"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["account", "client_order_id"], name="client_order_id_unique_per_account"),
            models.CheckConstraint(condition=Q(filled_quantity__lte=F("quantity")), name="order_fill_within_qty"),
            models.CheckConstraint(condition=Q(reserved_cash__gte=0), name="order_reserved_cash_not_negative"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.quantity} {self.stock_id} {self.order_type} ({self.status})"

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def is_working(self) -> bool:
        return self.status in WORKING_STATUSES


class Execution(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="executions")
    account = models.ForeignKey("portfolio.Account", on_delete=models.PROTECT, related_name="executions")
    stock = models.ForeignKey("marketdata.Stock", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = models.PositiveBigIntegerField()
    price = models.DecimalField(**WON)
    commission = models.DecimalField(**WON)
    tax = models.DecimalField(**WON, default=Decimal(0))
    amount = models.DecimalField(**WON, help_text="signed cash change, as on the ledger row")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="execution_account_time")]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} @ {self.price} (order {self.order_id})"
