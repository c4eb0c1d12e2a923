"""Every write to accounts, holdings, the ledger and watchlists (STYLE.md).

Account money moves only inside an `AccountUnitOfWork` (portfolio.unit_of_work), which takes
the locks in the canonical order and writes each row once. The reservation and fill services
take the unit as their first argument; the trading engine composes them inside its own unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from kernel.db import is_lock_wait_failure, locked
from kernel.errors import ApplicationError, ConflictError, NotFoundError
from marketdata.calendar import add_trading_days, seoul_today
from marketdata.models import Stock
from payments.selectors import user_is_premium
from portfolio import hooks
from portfolio.errors import (
    DuplicateWatchlistEntry,
    InsufficientFunds,
    InsufficientQuantity,
    InvalidInput,
    LimitReached,
    WatchlistNotFound,
)
from portfolio.models import Account, Transaction, TransactionType, Watchlist, WatchlistItem
from portfolio.selectors import account_withdrawable_cash, watchlist_limits
from portfolio.unit_of_work import AccountUnitOfWork

# --- accounts ------------------------------------------------------------------


def account_open(*, user, starting_cash: Decimal | None = None) -> Account:
    """Open a paper account with its opening DEPOSIT row. Raises ConflictError if one is open."""
    starting_cash = settings.STARTING_CASH if starting_cash is None else starting_cash
    try:
        with transaction.atomic():
            account = Account.objects.create(user=user, cash=Decimal(0), starting_cash=starting_cash)
            work = AccountUnitOfWork.of_new_account(account)
            ledger_write(work, transaction_type=TransactionType.DEPOSIT, amount=starting_cash, memo="Opening deposit")
            work.commit()
    except IntegrityError as exc:
        raise ConflictError(gettext("This user already has an open account.")) from exc
    return account


def ledger_write(
    work: AccountUnitOfWork,
    *,
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
    """Move the unit's account's cash by `amount` and queue the ledger row for it. Raises InsufficientFunds."""
    account = work.account
    before = account.cash
    after = before + amount
    if after < account.reserved_cash:
        raise InsufficientFunds(details={"available_cash": int(account.available_cash)})
    account.cash = after
    row = Transaction(
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
    work.insert(row)
    return row


def _cash_changed(work: AccountUnitOfWork, reason: str, amount: Decimal) -> None:
    account = work.account
    work.record_event(
        "cash.changed",
        {
            "reason": reason,
            "amount": int(amount),
            "cash": int(account.cash),
            "available_cash": int(account.available_cash),
        },
    )


def _require_positive(amount: Decimal) -> None:
    if amount <= 0 or amount != amount.to_integral_value():
        raise InvalidInput(details={"amount": [gettext("Enter a positive whole number of won.")]})


def account_deposit(*, user, amount: Decimal) -> Account:
    """Add virtual cash to the user's open account: one DEPOSIT row, one cash.changed event."""
    _require_positive(amount)
    with AccountUnitOfWork.of_user(user=user) as work:
        ledger_write(work, transaction_type=TransactionType.DEPOSIT, amount=amount)
        _cash_changed(work, "deposit", amount)
    return work.account


def account_withdraw(*, user, amount: Decimal) -> Account:
    """Take cash out, up to withdrawable_cash (available minus unsettled sale proceeds): one WITHDRAW row.

    Raises InsufficientFunds (409) beyond that; nothing is written then.
    """
    _require_positive(amount)
    with AccountUnitOfWork.of_user(user=user) as work:
        withdrawable = account_withdrawable_cash(account=work.account)
        if amount > withdrawable:
            raise InsufficientFunds(
                gettext("You can withdraw at most %(amount)s won now.") % {"amount": f"{withdrawable:,}"},
                details={"withdrawable_cash": int(withdrawable), "requested": int(amount)},
            )
        ledger_write(work, transaction_type=TransactionType.WITHDRAW, amount=-amount)
        _cash_changed(work, "withdraw", -amount)
    return work.account


FREE_RESET_INTERVAL = timedelta(days=30)  # premium resets are unlimited


class ResetLimited(ApplicationError):
    status_code = 429
    code = "reset_limited"


def account_reset(*, user) -> Account:
    """Close the open account (its orders canceled, its history kept) and open a fresh one.

    Free users may reset once per FREE_RESET_INTERVAL, counted from their last closed account's
    closed_at (checked under the account lock); premium users without limit. Raises ResetLimited (429).
    Higher apps act on the closing account inside the same unit of work (portfolio.hooks.account_closing).
    """
    with AccountUnitOfWork.of_user(user=user) as work:
        if not user_is_premium(user=user):
            _require_reset_allowed(user=user)
        for closing in hooks.account_closing:  # trading cancels the account's working orders
            closing(work, "account reset")
        work.account.closed_at = timezone.now()
        work.account.is_open = None
        work.update(work.account, ["closed_at", "is_open"])
        work.commit()  # the old account is closed before the new one opens: one open account per user
        return account_open(user=user)


def _require_reset_allowed(*, user) -> None:
    last_reset = Account.objects.filter(user=user, closed_at__isnull=False).aggregate(last=Max("closed_at"))["last"]
    if last_reset is None:
        return
    next_reset_at = last_reset + FREE_RESET_INTERVAL
    wait = next_reset_at - timezone.now()
    if wait > timedelta(0):
        raise ResetLimited(
            gettext(
                "Free accounts can be reset once every %(days)s days; the next reset is possible "
                "from %(when)s (KST). Premium resets are unlimited."
            )
            % {"days": FREE_RESET_INTERVAL.days, "when": f"{timezone.localtime(next_reset_at):%Y-%m-%d %H:%M}"},
            details={"next_reset_at": next_reset_at.isoformat(), "retry_after_seconds": int(wait.total_seconds()) + 1},
        )


def account_adjust(*, account_id: int, amount: Decimal, reason: str, staff_user) -> Transaction:
    """A staff correction: one ADJUSTMENT row with the reason and who made it."""
    if not amount or amount != amount.to_integral_value():
        raise InvalidInput(details={"amount": [gettext("Enter a non-zero whole number of won.")]})
    if not reason.strip():
        raise InvalidInput(details={"reason": [gettext("Say why the balance is corrected.")]})
    with AccountUnitOfWork.of_account(account_id=account_id) as work:
        row = ledger_write(
            work,
            transaction_type=TransactionType.ADJUSTMENT,
            amount=Decimal(amount),
            memo=reason.strip()[:200],
            created_by=staff_user,
        )
        _cash_changed(work, "adjustment", Decimal(amount))
    return row


# --- reservations and fills, inside a unit of work (trading composes these) -----------------


def account_reserve_cash(work: AccountUnitOfWork, *, amount: Decimal) -> None:
    account = work.account
    if amount > account.available_cash:
        raise InsufficientFunds(details={"available_cash": int(account.available_cash), "required": int(amount)})
    account.reserved_cash += amount


def account_release_cash(work: AccountUnitOfWork, *, amount: Decimal) -> None:
    if amount > work.account.reserved_cash:
        raise ConflictError(gettext("Releasing more cash than is reserved."))
    work.account.reserved_cash -= amount


def holding_reserve_quantity(work: AccountUnitOfWork, *, stock_id: int, quantity: int) -> None:
    holding = work.holding(stock_id)
    if quantity > holding.available_quantity:
        raise InsufficientQuantity(details={"available_quantity": holding.available_quantity, "required": quantity})
    holding.reserved_quantity += quantity


def holding_release_quantity(work: AccountUnitOfWork, *, stock_id: int, quantity: int) -> None:
    holding = work.holding(stock_id)
    if quantity > holding.reserved_quantity:
        raise ConflictError(gettext("Releasing more shares than are reserved."))
    holding.reserved_quantity -= quantity


def holding_apply_buy(
    work: AccountUnitOfWork,
    *,
    stock: Stock,
    quantity: int,
    price: Decimal,
    commission: Decimal,
    release_reserved_cash: Decimal = Decimal(0),
    order=None,
    execution=None,
) -> Transaction:
    """Book a bought lot: the BUY row (−price×qty−commission), average cost including commission.

    `release_reserved_cash` is the part of the order's reservation this fill consumes.
    """
    cost = price * quantity + commission
    work.account.reserved_cash -= release_reserved_cash
    work.lock_holdings([stock.pk])
    holding = work.holding(stock.pk)
    holding.average_cost = (holding.average_cost * holding.quantity + cost) / (holding.quantity + quantity)
    holding.quantity += quantity
    holding.last_fill_price = price
    return ledger_write(
        work,
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
    work: AccountUnitOfWork,
    *,
    stock: Stock,
    quantity: int,
    price: Decimal,
    commission: Decimal,
    tax: Decimal,
    release_reserved_quantity: int = 0,
    order=None,
    execution=None,
) -> Transaction:
    """Book a sold lot: the SELL row (+price×qty−commission−tax, settling T+2) with its realized P&L.

    realized P&L = proceeds − commission − tax − average cost × quantity.
    """
    work.lock_holdings([stock.pk])
    holding = work.holding(stock.pk)
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
    return ledger_write(
        work,
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
    watchlist = locked(Watchlist.objects.filter(pk=watchlist_id, user=user)).first()
    if watchlist is None:
        raise WatchlistNotFound()
    return watchlist


def _watchlists_owner_lock(*, user) -> None:
    """Lock the user's row, which always exists, to serialize changes to the set of their lists (count, names).

    Locking the lists themselves locks nothing for a user with none: on MariaDB concurrent first creates
    deadlocked on gap locks, hit the unique name and, under READ COMMITTED, got past the cap together."""
    list(locked(get_user_model().objects.filter(pk=user.pk)).values_list("pk", flat=True))


@contextmanager
def _watchlist_conflicts() -> Iterator[None]:
    """A write that lost a race (a unique key, a deadlock victim, a lock wait timed out) answers 409, never 500.
    Wraps the whole transaction: it has rolled back when the error arrives here."""
    try:
        yield
    except IntegrityError as exc:
        raise ConflictError() from exc
    except OperationalError as exc:
        if not is_lock_wait_failure(exc):
            raise
        raise ConflictError() from exc


def watchlist_create(*, user, name: str) -> Watchlist:
    """Takes the owner lock, then checks the cap and the case-insensitive name; ConflictError (409) on a lost race."""
    name = name.strip()
    max_lists, _ = watchlist_limits(user=user)
    with _watchlist_conflicts(), transaction.atomic(durable=True):
        _watchlists_owner_lock(user=user)
        existing = list(Watchlist.objects.filter(user=user).values_list("name", flat=True))
        if len(existing) >= max_lists:
            raise LimitReached(
                ngettext(
                    "You can keep at most %(limit)d watchlist.", "You can keep at most %(limit)d watchlists.", max_lists
                )
                % {"limit": max_lists},
                details={"limit": max_lists},
            )
        if name.lower() in {n.lower() for n in existing}:
            raise DuplicateWatchlistEntry(gettext("You already have a watchlist named “%(name)s”.") % {"name": name})
        return Watchlist.objects.create(user=user, name=name, position=len(existing))


def watchlist_rename(*, user, watchlist_id: int, name: str) -> Watchlist:
    """Takes the owner lock (names are unique per user, whatever the case), then the list's row."""
    name = name.strip()
    with _watchlist_conflicts(), transaction.atomic(durable=True):
        _watchlists_owner_lock(user=user)
        watchlist = _watchlist_for_update(user=user, watchlist_id=watchlist_id)
        if Watchlist.objects.filter(user=user, name__iexact=name).exclude(pk=watchlist.pk).exists():
            raise DuplicateWatchlistEntry(gettext("You already have a watchlist named “%(name)s”.") % {"name": name})
        watchlist.name = name
        watchlist.save(update_fields=["name"])
    return watchlist


def watchlist_delete(*, user, watchlist_id: int) -> None:
    with _watchlist_conflicts(), transaction.atomic(durable=True):
        _watchlist_for_update(user=user, watchlist_id=watchlist_id).delete()


def watchlist_add_stock(*, user, watchlist_id: int, stock: Stock) -> WatchlistItem:
    """The list's row lock serializes its items: the cap and the duplicate check hold under concurrency."""
    _, max_items = watchlist_limits(user=user)
    with _watchlist_conflicts(), transaction.atomic(durable=True):
        watchlist = _watchlist_for_update(user=user, watchlist_id=watchlist_id)
        items = watchlist.items.all()
        if items.filter(stock=stock).exists():
            raise DuplicateWatchlistEntry(
                gettext("%(stock)s is already on %(watchlist)s.") % {"stock": stock.name, "watchlist": watchlist.name}
            )
        count = items.count()
        if count >= max_items:
            raise LimitReached(
                ngettext(
                    "A watchlist holds at most %(limit)d stock.",
                    "A watchlist holds at most %(limit)d stocks.",
                    max_items,
                )
                % {"limit": max_items},
                details={"limit": max_items},
            )
        last = items.aggregate(last=Max("position"))["last"]
        return WatchlistItem.objects.create(watchlist=watchlist, stock=stock, position=0 if last is None else last + 1)


def watchlist_remove_stock(*, user, watchlist_id: int, stock: Stock) -> None:
    with _watchlist_conflicts(), transaction.atomic(durable=True):
        watchlist = _watchlist_for_update(user=user, watchlist_id=watchlist_id)
        deleted, _ = watchlist.items.filter(stock=stock).delete()
        if not deleted:
            raise NotFoundError(
                gettext("%(code)s is not on %(watchlist)s.") % {"code": stock.code, "watchlist": watchlist.name}
            )


def watchlist_reorder(*, user, watchlist_id: int, stock_codes: list[str]) -> Watchlist:
    """Set the order of a list's items; the codes must be exactly the list's stocks."""
    with _watchlist_conflicts(), transaction.atomic(durable=True):
        watchlist = _watchlist_for_update(user=user, watchlist_id=watchlist_id)
        items = {item.stock.code: item for item in watchlist.items.select_related("stock")}
        if len(stock_codes) != len(set(stock_codes)) or set(stock_codes) != set(items):
            raise InvalidInput(
                gettext("Send every stock code of the list exactly once."),
                details={"stock_codes": sorted(items)},
            )
        for position, code in enumerate(stock_codes):
            items[code].position = position
        WatchlistItem.objects.bulk_update(items.values(), ["position"])
    return watchlist
