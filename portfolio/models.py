"""Cash accounts, holdings, the append-only ledger and watchlists (docs/architecture.md §4)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import pgettext_lazy

# Whole won: KRW has no minor unit. 18 digits hold a quadrillion won.
WON = {"max_digits": 18, "decimal_places": 0}


class Account(models.Model):
    """A paper cash account. A user has at most one open account; resets close it and open another."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="accounts")
    cash = models.DecimalField(**WON)
    reserved_cash = models.DecimalField(**WON, default=Decimal(0))
    starting_cash = models.DecimalField(**WON)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # True while open, NULL once closed: unique (user, is_open) allows one open account
    # per user on every database (MariaDB has no conditional unique constraints).
    is_open = models.BooleanField(null=True, default=True, editable=False)
    # The seq of the account's newest event (AccountEvent): the next one is +1,
    # written with the balances, so numbering an event needs no MAX() query.
    last_event_seq = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "is_open"], name="one_open_account_per_user"),
            models.CheckConstraint(condition=Q(is_open=True) | Q(is_open__isnull=True), name="is_open_true_or_null"),
            models.CheckConstraint(condition=Q(cash__gte=0), name="account_cash_not_negative"),
            models.CheckConstraint(condition=Q(reserved_cash__gte=0), name="account_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved_cash__lte=F("cash")), name="account_reserved_within_cash"),
        ]

    def __str__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"{self.user} #{self.pk} ({state})"

    @property
    def available_cash(self) -> Decimal:
        return self.cash - self.reserved_cash


class AccountEvent(models.Model):
    """What happened to an account, numbered per account; pushed over /ws/account/ and replayed on resume."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    event_type = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "seq"]
        constraints = [models.UniqueConstraint(fields=["account", "seq"], name="event_seq_unique_per_account")]

    def __str__(self) -> str:
        return f"{self.account_id}#{self.seq} {self.event_type}"


class Holding(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holdings")
    stock = models.ForeignKey("marketdata.Stock", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveBigIntegerField(default=0)
    reserved_quantity = models.PositiveBigIntegerField(default=0)
    # Weighted average cost per share, buy commissions included.
    average_cost = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    last_fill_price = models.DecimalField(**WON, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "stock"], name="one_holding_per_stock"),
            models.CheckConstraint(
                condition=Q(reserved_quantity__lte=F("quantity")), name="holding_reserved_within_qty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stock.code} × {self.quantity}"

    @property
    def available_quantity(self) -> int:
        return self.quantity - self.reserved_quantity


class TransactionType(models.TextChoices):
    BUY = "BUY", pgettext_lazy("transaction type", "Buy")
    SELL = "SELL", pgettext_lazy("transaction type", "Sell")
    DEPOSIT = "DEPOSIT", pgettext_lazy("transaction type", "Deposit")
    WITHDRAW = "WITHDRAW", pgettext_lazy("transaction type", "Withdraw")
    FEE = "FEE", pgettext_lazy("transaction type", "Fee")
    TAX = "TAX", pgettext_lazy("transaction type", "Tax")
    DIVIDEND = "DIVIDEND", pgettext_lazy("transaction type", "Dividend")
    ADJUSTMENT = "ADJUSTMENT", pgettext_lazy("transaction type", "Adjustment")


class Transaction(models.Model):
    """One row per money movement, written with the movement; never updated or deleted."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="transactions")
    stock = models.ForeignKey("marketdata.Stock", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    transaction_type = models.CharField(max_length=10, choices=TransactionType.choices)
    order = models.ForeignKey("trading.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    execution = models.OneToOneField(
        "trading.Execution", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_row"
    )
    quantity = models.PositiveBigIntegerField(default=0)
    price = models.DecimalField(**WON, null=True, blank=True)
    amount = models.DecimalField(**WON, help_text="signed change of cash: cash_balance_after − cash_balance_before")
    commission = models.DecimalField(**WON, default=Decimal(0))
    tax = models.DecimalField(**WON, default=Decimal(0))
    realized_pnl = models.DecimalField(**WON, null=True, blank=True, help_text="on SELL rows")
    cash_balance_before = models.DecimalField(**WON)
    cash_balance_after = models.DecimalField(**WON)
    settlement_date = models.DateField(null=True, blank=True, help_text="T+2 for sale proceeds")
    memo = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="ledger_account_time"),
            models.Index(fields=["account", "transaction_type", "-created_at"], name="ledger_account_type_time"),
            models.Index(fields=["account", "stock", "-created_at"], name="ledger_account_stock_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(cash_balance_after=F("cash_balance_before") + F("amount")), name="ledger_row_balances"
            ),
            models.CheckConstraint(condition=Q(cash_balance_after__gte=0), name="ledger_cash_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_type} {self.amount} ({self.account_id})"


class Watchlist(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlists")
    name = models.CharField(max_length=50)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="watchlist_name_unique_per_user")]

    def __str__(self) -> str:
        return self.name


class WatchlistItem(models.Model):
    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="items")
    stock = models.ForeignKey("marketdata.Stock", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["watchlist", "stock"], name="watchlist_stock_unique")]

    def __str__(self) -> str:
        return f"{self.watchlist_id}: {self.stock_id}"


class EquitySnapshot(models.Model):
    """An account's value at the end of one KST day (docs/architecture.md §13): derived data, rebuilt from the
    ledger and candles.

    `net_flow` is the day's deposits − withdrawals (staff adjustments included): money paid in or out, never profit.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="snapshots")
    date = models.DateField(help_text="KST day")
    equity = models.DecimalField(**WON)
    cash = models.DecimalField(**WON)
    market_value = models.DecimalField(**WON)
    net_flow = models.DecimalField(**WON, default=Decimal(0))
    benchmark_close = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, help_text="KOSPI")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "date"]
        constraints = [
            # Also the index every history read uses: (account, date range).
            models.UniqueConstraint(fields=["account", "date"], name="snapshot_one_per_account_day"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date} {self.equity}"
