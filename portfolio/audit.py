"""The ledger invariants of docs/architecture.md §4, checked with set-based queries (no query per account)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Max, Q, Sum, Window
from django.db.models.functions import Coalesce, Lag

from portfolio import hooks
from portfolio.models import Account, AccountEvent, Holding, Transaction, TransactionType


@dataclass(frozen=True)
class Violation:
    account_id: int
    check: str
    detail: str

    def __str__(self) -> str:
        return f"account {self.account_id}: {self.check}: {self.detail}"


def expected_reservations(account_ids) -> tuple[dict[int, Decimal], dict[tuple[int, int], int]]:
    """What the account's reservations should be, summed over every source that holds some (portfolio.hooks)."""
    cash: dict[int, Decimal] = defaultdict(Decimal)
    shares: dict[tuple[int, int], int] = defaultdict(int)
    for source in hooks.reservation_sources:
        source_cash, source_shares = source(account_ids)
        for account_id, amount in source_cash.items():
            cash[account_id] += amount
        for key, quantity in source_shares.items():
            shares[key] += quantity
    return cash, shares


def newest_event_seqs(account_ids) -> dict[int, int]:
    events = AccountEvent.objects.filter(account_id__in=account_ids).values("account_id")
    return dict(events.annotate(newest=Max("seq")).values_list("account_id", "newest"))


def ledger_audit(*, account_ids: list[int] | None = None) -> tuple[list[Violation], int, int]:
    """Returns (violations, accounts checked, ledger rows checked)."""
    accounts = Account.objects.all()
    rows = Transaction.objects.all()
    holdings = Holding.objects.all()
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
        rows = rows.filter(account_id__in=account_ids)
        holdings = holdings.filter(account_id__in=account_ids)
    violations: list[Violation] = []

    # cash equals the sum of the account's ledger; no negative or over-reserved cash
    ledger_sums = dict(rows.values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total"))
    account_rows = list(accounts.values_list("id", "cash", "reserved_cash", "last_event_seq"))
    reserved_cash_expected, reserved_qty_expected = expected_reservations([a[0] for a in account_rows])
    newest_events = newest_event_seqs([a[0] for a in account_rows])
    for account_id, cash, reserved_cash, last_event_seq in account_rows:
        if last_event_seq != newest_events.get(account_id, 0):  # else the next event would reuse or skip a seq
            violations.append(
                Violation(
                    account_id,
                    "event_seq",
                    f"last_event_seq {last_event_seq} != newest event {newest_events.get(account_id, 0)}",
                )
            )
        ledger_total = ledger_sums.get(account_id, Decimal(0))
        if cash != ledger_total:
            violations.append(Violation(account_id, "cash_equals_ledger", f"cash {cash} != ledger sum {ledger_total}"))
        if cash < 0 or reserved_cash < 0 or reserved_cash > cash:
            violations.append(Violation(account_id, "cash_bounds", f"cash {cash}, reserved {reserved_cash}"))
        expected = reserved_cash_expected.get(account_id, Decimal(0))
        if reserved_cash != expected:
            violations.append(
                Violation(account_id, "reserved_cash_matches_orders", f"reserved {reserved_cash} != orders {expected}")
            )

    # each row's after − before = amount; rows chain (before = previous after, first before = 0)
    for row in rows.exclude(cash_balance_after=F("cash_balance_before") + F("amount")).values(
        "account_id", "id", "cash_balance_before", "cash_balance_after", "amount"
    ):
        violations.append(Violation(row["account_id"], "row_balances", f"row {row['id']}: {row}"))
    chained = rows.annotate(
        previous_after=Window(Lag("cash_balance_after"), partition_by=[F("account_id")], order_by=F("id").asc())
    )
    for row in chained.values("account_id", "id", "cash_balance_before", "previous_after"):
        previous = row["previous_after"] if row["previous_after"] is not None else Decimal(0)
        if row["cash_balance_before"] != previous:
            violations.append(
                Violation(
                    row["account_id"],
                    "rows_chain",
                    f"row {row['id']} starts at {row['cash_balance_before']}, previous row ended at {previous}",
                )
            )

    # each holding's quantity equals its executions (BUY − SELL rows of the ledger)
    traded = defaultdict(int)
    for entry in (
        rows.filter(transaction_type__in=[TransactionType.BUY, TransactionType.SELL])
        .values("account_id", "stock_id")
        .annotate(
            bought=Coalesce(Sum("quantity", filter=Q(transaction_type=TransactionType.BUY)), 0),
            sold=Coalesce(Sum("quantity", filter=Q(transaction_type=TransactionType.SELL)), 0),
        )
    ):
        traded[(entry["account_id"], entry["stock_id"])] = entry["bought"] - entry["sold"]
    seen = set()
    for account_id, stock_id, quantity, reserved_quantity in holdings.values_list(
        "account_id", "stock_id", "quantity", "reserved_quantity"
    ):
        key = (account_id, stock_id)
        seen.add(key)
        if quantity != traded.get(key, 0):
            violations.append(
                Violation(
                    account_id, "holding_equals_executions", f"stock {stock_id}: {quantity} != {traded.get(key, 0)}"
                )
            )
        if quantity < 0 or reserved_quantity < 0 or reserved_quantity > quantity:
            violations.append(
                Violation(account_id, "quantity_bounds", f"stock {stock_id}: {quantity}/{reserved_quantity}")
            )
        if reserved_quantity != reserved_qty_expected.get(key, 0):
            violations.append(
                Violation(
                    account_id,
                    "reserved_quantity_matches_orders",
                    f"stock {stock_id}: reserved {reserved_quantity} != orders {reserved_qty_expected.get(key, 0)}",
                )
            )
    for (account_id, stock_id), quantity in traded.items():
        if (account_id, stock_id) not in seen and quantity != 0:
            violations.append(Violation(account_id, "holding_equals_executions", f"stock {stock_id}: no holding row"))

    return violations, len(account_rows), rows.count()
