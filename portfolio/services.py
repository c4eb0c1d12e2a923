"""Every write to accounts, holdings, the ledger and watchlists (STYLE.md).

Lock order, everywhere: the account row, then holding rows by stock id.
Holding and reservation services expect the caller to hold the account lock
inside its transaction (`account_lock`); the trading engine composes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from kernel.errors import ApplicationError, ConflictError, NotFoundError
from marketdata.calendar import add_trading_days, seoul_today
from marketdata.models import Stock
from payments.selectors import user_is_premium
from portfolio import hooks
from portfolio.errors import (
    AccountNotFound,
    DuplicateWatchlistEntry,
    InsufficientFunds,
    InsufficientQuantity,
    InvalidInput,
    LimitReached,
    WatchlistNotFound,
)
from portfolio.events import account_event_record, account_events_forget, account_events_hold, account_events_write
from portfolio.models import Account, Holding, Transaction, TransactionType, Watchlist, WatchlistItem
from portfolio.selectors import account_withdrawable_cash, watchlist_limits

# --- accounts ------------------------------------------------------------------


def account_open(*, user, starting_cash: Decimal | None = None) -> Account:
    """Open a paper account with its opening DEPOSIT row. Raises ConflictError if one is open."""
    starting_cash = settings.STARTING_CASH if starting_cash is None else starting_cash
    try:
        with transaction.atomic():
            account = Account.objects.create(user=user, cash=Decimal(0), starting_cash=starting_cash)
            _ledger_write(
                account=account, transaction_type=TransactionType.DEPOSIT, amount=starting_cash, memo="Opening deposit"
            )
    except IntegrityError as exc:
        raise ConflictError("This user already has an open account.") from exc
    return account


def account_lock(*, user) -> Account:
    """The user's open account, row-locked until the surrounding transaction ends."""
    account = Account.objects.select_for_update().filter(user=user, is_open=True).first()
    if account is None:
        raise AccountNotFound()
    return account


# --- balance writes of locked rows -------------------------------------------------

_BALANCE_FIELDS = {
    Account: ["cash", "reserved_cash", "last_event_seq"],
    Holding: ["quantity", "reserved_quantity", "average_cost", "last_fill_price", "updated_at"],
}


def _balances_save(row: Account | Holding) -> None:
    """Write a locked row's balances now, unless `account_writes_batched` holds them."""
    if not row._balances_held:
        row.save(update_fields=_BALANCE_FIELDS[type(row)])


@contextmanager
def account_writes_batched(account: Account, *holdings: Holding) -> Iterator[None]:
    """Inside, the locked account's and holdings' balances and the account's events live in memory;
    each row is written once at the end (events in one INSERT).

    For a transaction that moves one account many times (an order that fills as it is
    placed; the matcher filling many orders of one account on one tick). On an exception
    nothing more is written and the surrounding transaction must roll back. Before a
    savepoint that may roll back, `account_writes_flush`; after its rollback, `account_writes_reload`.
    """
    rows: tuple[Account | Holding, ...] = (account, *holdings)
    for row in rows:
        row._balances_held = True
    account_events_hold(account)
    try:
        yield
    except BaseException:
        account_events_forget(account, release=True)  # rolled back with the transaction
        raise
    finally:
        for row in rows:
            row._balances_held = False
    account_writes_flush(account, *holdings)
    account_events_write(account, release=True)


def account_writes_flush(account: Account, *holdings: Holding) -> None:
    for row in (account, *holdings):
        row.save(update_fields=_BALANCE_FIELDS[type(row)])
    account_events_write(account)


def account_writes_reload(account: Account, *holdings: Holding) -> None:
    """Forget in-memory changes a rolled-back savepoint undid: reread the rows (event seq too), drop held events."""
    account_events_forget(account)
    for row in (account, *holdings):
        row.refresh_from_db()


def _ledger_write(
    *,
    account: Account,
    transaction_type: str,
    amount: Decimal,
    stock: Stock | None = None,
    quantity: int = 0,
    price: Decimal | None = None,
    commission: Decimal = Decimal(0),
    tax: Decimal = Decimal(0),
    realized_pnl: Decimal | None = None,
    settlement_date: date | None = None,
    memo: str = "",
    created_by=None,
    order=None,
    execution=None,
) -> Transaction:
    """Move the (locked) account's cash by `amount` and write the ledger row for it."""
    before = account.cash
    after = before + amount
    if after < account.reserved_cash:
        raise InsufficientFunds(details={"available_cash": int(account.available_cash)})
    account.cash = after
    _balances_save(account)
    return Transaction.objects.create(
        account=account,
        stock=stock,
        transaction_type=transaction_type,
        quantity=quantity,
        price=price,
        amount=amount,
        commission=commission,
        tax=tax,
        realized_pnl=realized_pnl,
        cash_balance_before=before,
        cash_balance_after=after,
        settlement_date=settlement_date,
        memo=memo,
        created_by=created_by,
        order=order,
        execution=execution,
    )


def _cash_changed(account: Account, reason: str, amount: Decimal) -> None:
    account_event_record(
        account=account,
        event_type="cash.changed",
        payload={"reason": reason, "amount": int(amount), "cash": int(account.cash),
                 "available_cash": int(account.available_cash)},
    )  # fmt: skip


def _require_positive(amount: Decimal) -> None:
    if amount <= 0 or amount != amount.to_integral_value():
        raise InvalidInput(details={"amount": ["Enter a positive whole number of won."]})


def account_deposit(*, user, amount: Decimal) -> Account:
    """Add virtual cash to the user's open account: one DEPOSIT row."""
    _require_positive(amount)
    with transaction.atomic(durable=True):
        account = account_lock(user=user)
        with account_writes_batched(account):
            _ledger_write(account=account, transaction_type=TransactionType.DEPOSIT, amount=amount)
            _cash_changed(account, "deposit", amount)
    return account


def account_withdraw(*, user, amount: Decimal) -> Account:
    """Take cash out, up to withdrawable_cash (available minus unsettled sale proceeds): one WITHDRAW row.

    Raises InsufficientFunds (409) beyond that; nothing is written then.
    """
    _require_positive(amount)
    with transaction.atomic(durable=True):
        account = account_lock(user=user)
        withdrawable = account_withdrawable_cash(account=account)
        if amount > withdrawable:
            raise InsufficientFunds(
                f"You can withdraw at most {withdrawable:,} won now.",
                details={"withdrawable_cash": int(withdrawable), "requested": int(amount)},
            )
        with account_writes_batched(account):
            _ledger_write(account=account, transaction_type=TransactionType.WITHDRAW, amount=-amount)
            _cash_changed(account, "withdraw", -amount)
    return account


FREE_RESET_INTERVAL = timedelta(days=30)  # premium resets are unlimited


class ResetLimited(ApplicationError):
    status_code = 429
    code = "reset_limited"


def account_reset(*, user) -> Account:
    """Close the open account (its orders canceled, its history kept) and open a fresh one.

    Free users may reset once per FREE_RESET_INTERVAL, counted from their last closed account's
    closed_at (checked under the account lock); premium users without limit. Raises ResetLimited (429).
    """
    with transaction.atomic(durable=True):
        account = account_lock(user=user)
        if not user_is_premium(user=user):
            _require_reset_allowed(user=user)
        _cancel_open_orders(account=account)
        Account.objects.filter(pk=account.pk).update(closed_at=timezone.now(), is_open=None)
        return account_open(user=user)


def _require_reset_allowed(*, user) -> None:
    last_reset = Account.objects.filter(user=user, closed_at__isnull=False).aggregate(last=Max("closed_at"))["last"]
    if last_reset is None:
        return
    next_reset_at = last_reset + FREE_RESET_INTERVAL
    wait = next_reset_at - timezone.now()
    if wait > timedelta(0):
        raise ResetLimited(
            f"Free accounts can be reset once every {FREE_RESET_INTERVAL.days} days; the next reset is possible "
            f"from {timezone.localtime(next_reset_at):%Y-%m-%d %H:%M} (KST). Premium resets are unlimited.",
            details={"next_reset_at": next_reset_at.isoformat(), "retry_after_seconds": int(wait.total_seconds()) + 1},
        )


def _cancel_open_orders(*, account: Account) -> None:
    for closing in hooks.account_closing:  # trading cancels the account's working orders
        closing(account, "account reset")


def account_adjust(*, account_id: int, amount: Decimal, reason: str, staff_user) -> Transaction:
    """A staff correction: one ADJUSTMENT row with the reason and who made it."""
    if not amount or amount != amount.to_integral_value():
        raise InvalidInput(details={"amount": ["Enter a non-zero whole number of won."]})
    if not reason.strip():
        raise InvalidInput(details={"reason": ["Say why the balance is corrected."]})
    with transaction.atomic(durable=True):
        account = Account.objects.select_for_update().get(pk=account_id)
        with account_writes_batched(account):
            row = _ledger_write(
                account=account,
                transaction_type=TransactionType.ADJUSTMENT,
                amount=Decimal(amount),
                memo=reason.strip()[:200],
                created_by=staff_user,
            )
            _cash_changed(account, "adjustment", Decimal(amount))
    return row


# --- reservations (caller holds the account lock) ----------------------------------


def account_reserve_cash(*, account: Account, amount: Decimal) -> None:
    if amount > account.available_cash:
        raise InsufficientFunds(details={"available_cash": int(account.available_cash), "required": int(amount)})
    account.reserved_cash += amount
    _balances_save(account)


def account_release_cash(*, account: Account, amount: Decimal) -> None:
    if amount > account.reserved_cash:
        raise ConflictError("Releasing more cash than is reserved.")
    account.reserved_cash -= amount
    _balances_save(account)


def holding_lock(*, account: Account, stock: Stock) -> Holding:
    holding, _ = Holding.objects.select_for_update().get_or_create(account=account, stock=stock)
    return holding


def holding_reserve_quantity(*, holding: Holding, quantity: int) -> None:
    if quantity > holding.available_quantity:
        raise InsufficientQuantity(details={"available_quantity": holding.available_quantity, "required": quantity})
    holding.reserved_quantity += quantity
    _balances_save(holding)


def holding_release_quantity(*, holding: Holding, quantity: int) -> None:
    if quantity > holding.reserved_quantity:
        raise ConflictError("Releasing more shares than are reserved.")
    holding.reserved_quantity -= quantity
    _balances_save(holding)


# --- fills (caller holds the account lock) --------------------------------------


def holding_apply_buy(
    *,
    account: Account,
    stock: Stock,
    quantity: int,
    price: Decimal,
    commission: Decimal,
    release_reserved_cash: Decimal = Decimal(0),
    holding: Holding | None = None,
    order=None,
    execution=None,
) -> Transaction:
    """Book a bought lot: the BUY row (−price×qty−commission), average cost including commission.

    `release_reserved_cash` is the part of the order's reservation this fill consumes;
    `holding`, if given, is the caller's already locked row (saves a second lock).
    """
    cost = price * quantity + commission
    account.reserved_cash -= release_reserved_cash
    holding = holding or holding_lock(account=account, stock=stock)
    holding.average_cost = (holding.average_cost * holding.quantity + cost) / (holding.quantity + quantity)
    holding.quantity += quantity
    holding.last_fill_price = price
    _balances_save(holding)
    return _ledger_write(
        account=account,
        transaction_type=TransactionType.BUY,
        amount=-cost,
        stock=stock,
        quantity=quantity,
        price=price,
        commission=commission,
        order=order,
        execution=execution,
    )


def holding_apply_sell(
    *,
    account: Account,
    stock: Stock,
    quantity: int,
    price: Decimal,
    commission: Decimal,
    tax: Decimal,
    release_reserved_quantity: int = 0,
    holding: Holding | None = None,
    order=None,
    execution=None,
) -> Transaction:
    """Book a sold lot: the SELL row (+price×qty−commission−tax, settling T+2) with its realized P&L.

    realized P&L = proceeds − commission − tax − average cost × quantity.
    """
    holding = holding or holding_lock(account=account, stock=stock)
    unreserved = holding.quantity - holding.reserved_quantity + release_reserved_quantity
    if quantity > unreserved or release_reserved_quantity > holding.reserved_quantity:
        raise InsufficientQuantity(details={"available_quantity": holding.available_quantity, "required": quantity})
    proceeds = price * quantity - commission - tax
    realized = (proceeds - holding.average_cost * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    holding.quantity -= quantity
    holding.reserved_quantity -= release_reserved_quantity
    if holding.quantity == 0:
        holding.average_cost = Decimal(0)
    holding.last_fill_price = price
    _balances_save(holding)
    return _ledger_write(
        account=account,
        transaction_type=TransactionType.SELL,
        amount=proceeds,
        stock=stock,
        quantity=quantity,
        price=price,
        commission=commission,
        tax=tax,
        realized_pnl=realized,
        settlement_date=add_trading_days(seoul_today(timezone.now()), 2),
        order=order,
        execution=execution,
    )


# --- watchlists ------------------------------------------------------------------------


def _watchlist_for_update(*, user, watchlist_id: int) -> Watchlist:
    watchlist = Watchlist.objects.select_for_update().filter(pk=watchlist_id, user=user).first()
    if watchlist is None:
        raise WatchlistNotFound()
    return watchlist


def watchlist_create(*, user, name: str) -> Watchlist:
    name = name.strip()
    max_lists, _ = watchlist_limits(user=user)
    with transaction.atomic(durable=True):
        # lock the user's lists so two creates cannot both pass the cap
        existing = list(Watchlist.objects.select_for_update().filter(user=user).values_list("name", flat=True))
        if len(existing) >= max_lists:
            raise LimitReached(f"You can keep at most {max_lists} watchlists.", details={"limit": max_lists})
        if name.lower() in {n.lower() for n in existing}:
            raise DuplicateWatchlistEntry(f"You already have a watchlist named {name!r}.")
        return Watchlist.objects.create(user=user, name=name, position=len(existing))


def watchlist_rename(*, user, watchlist_id: int, name: str) -> Watchlist:
    name = name.strip()
    with transaction.atomic(durable=True):
        watchlist = _watchlist_for_update(user=user, watchlist_id=watchlist_id)
        if Watchlist.objects.filter(user=user, name__iexact=name).exclude(pk=watchlist.pk).exists():
            raise DuplicateWatchlistEntry(f"You already have a watchlist named {name!r}.")
        watchlist.name = name
        watchlist.save(update_fields=["name"])
    return watchlist


def watchlist_delete(*, user, watchlist_id: int) -> None:
    with transaction.atomic(durable=True):
        _watchlist_for_update(user=user, watchlist_id=watchlist_id).delete()


def watchlist_add_stock(*, user, watchlist_id: int, stock: Stock) -> WatchlistItem:
    _, max_items = watchlist_limits(user=user)
    with transaction.atomic(durable=True):
        watchlist = _watchlist_for_update(user=user, watchlist_id=watchlist_id)
        items = watchlist.items.all()
        if items.filter(stock=stock).exists():
            raise DuplicateWatchlistEntry(f"{stock.name} is already on {watchlist.name}.")
        count = items.count()
        if count >= max_items:
            raise LimitReached(f"A watchlist holds at most {max_items} stocks.", details={"limit": max_items})
        last = items.aggregate(last=Max("position"))["last"]
        return WatchlistItem.objects.create(watchlist=watchlist, stock=stock, position=0 if last is None else last + 1)


def watchlist_remove_stock(*, user, watchlist_id: int, stock: Stock) -> None:
    with transaction.atomic(durable=True):
        watchlist = _watchlist_for_update(user=user, watchlist_id=watchlist_id)
        deleted, _ = watchlist.items.filter(stock=stock).delete()
        if not deleted:
            raise NotFoundError(f"{stock.code} is not on {watchlist.name}.")


def watchlist_reorder(*, user, watchlist_id: int, stock_codes: list[str]) -> Watchlist:
    """Set the order of a list's items; the codes must be exactly the list's stocks."""
    with transaction.atomic(durable=True):
        watchlist = _watchlist_for_update(user=user, watchlist_id=watchlist_id)
        items = {item.stock.code: item for item in watchlist.items.select_related("stock")}
        if len(stock_codes) != len(set(stock_codes)) or set(stock_codes) != set(items):
            raise InvalidInput(
                "Send every stock code of the list exactly once.",
                details={"stock_codes": sorted(items)},
            )
        for position, code in enumerate(stock_codes):
            items[code].position = position
        WatchlistItem.objects.bulk_update(items.values(), ["position"])
    return watchlist
