"""Every write of the order engine: place, fill, cancel, expire, match (docs/architecture.md, STYLE.md).

Each operation moves one account inside portfolio's `AccountUnitOfWork`: it locks the account,
then the account's holdings by stock id, then its orders by id, and writes each row once at the
end (an order that fills as it arrives is inserted once, already filled). A cancel racing a fill
of the same order is decided by whoever locks the account first; order updates are also
compare-and-set, so a writer that bypassed the lock would fail loudly rather than double-fill.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from marketdata.models import Stock
from marketdata.prices import Quote, latest_price
from marketdata.selectors import stock_by_id_cached, stock_get_cached
from portfolio.errors import InsufficientFunds
from portfolio.services import (
    account_release_cash,
    account_reserve_cash,
    holding_apply_buy,
    holding_apply_sell,
    holding_release_quantity,
    holding_reserve_quantity,
)
from portfolio.unit_of_work import AccountUnitOfWork, row_id
from trading import rules
from trading.errors import (
    IdempotencyConflict,
    MarketClosed,
    NoFreshPrice,
    OrderNotCancelable,
    OrderNotFound,
    OrderNotReplaceable,
    OrderRejected,
)
from trading.models import WORKING_STATUSES, Book, Execution, Order, OrderStatus, OrderType, Side, TimeInForce

logger = logging.getLogger(__name__)

_RESTING_BOOK: dict[tuple[str, str], str] = {
    (Side.BUY, OrderType.LIMIT): Book.BUY_LIMIT,
    (Side.SELL, OrderType.LIMIT): Book.SELL_LIMIT,
    (Side.BUY, OrderType.STOP): Book.BUY_STOP,
    (Side.SELL, OrderType.STOP): Book.SELL_STOP,
    (Side.BUY, OrderType.STOP_LIMIT): Book.BUY_STOP,
    (Side.SELL, OrderType.STOP_LIMIT): Book.SELL_STOP,
}
_CLOSE_EVENTS: dict[str, str] = {
    OrderStatus.CANCELED: "order.canceled",
    OrderStatus.EXPIRED: "order.expired",
    OrderStatus.REJECTED: "order.rejected",
}
# Books that a falling price wakes (price <= trigger) and a rising one (price >= trigger).
_WAKES_ON_FALL = (Book.BUY_LIMIT, Book.SELL_STOP)
_WAKES_ON_RISE = (Book.SELL_LIMIT, Book.BUY_STOP)
# What a fill or a close changes on an order row, written once by the unit of work.
_FILL_FIELDS = ["filled_quantity", "average_fill_price", "status", "reserved_cash", "reserved_quantity",
                "book", "trigger_price", "closed_at"]  # fmt: skip
_CLOSE_FIELDS = ["status", "reserved_cash", "reserved_quantity", "book", "trigger_price", "reject_reason", "closed_at"]


@dataclass(frozen=True)
class OrderRequest:
    stock_code: str
    side: str
    order_type: str
    quantity: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str = TimeInForce.DAY
    client_order_id: str | None = None

    def same_as(self, order: Order) -> bool:
        return (
            order.stock.code == self.stock_code
            and order.side == self.side
            and order.order_type == self.order_type
            and order.quantity == self.quantity
            and order.limit_price == self.limit_price
            and order.stop_price == self.stop_price
            and order.time_in_force == self.time_in_force
        )


def _status_text(order: Order) -> str:
    """The order's status as a message says it: "partially filled", "체결"."""
    return str(OrderStatus(order.status).label).lower()


def _not_cancelable(order: Order) -> OrderNotCancelable:
    return OrderNotCancelable(
        _("Order %(order)s is %(status)s; it cannot be canceled.") % {"order": order.pk, "status": _status_text(order)}
    )


def _validate_shape(request: OrderRequest) -> None:
    """Rules about the order itself (400), checked before anything is read or locked."""
    errors: dict[str, list[str]] = {}
    kind = {"order_type": request.order_type}
    has_limit = request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    has_stop = request.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    if has_limit and request.limit_price is None:
        errors["limit_price"] = [_("A %(order_type)s order needs a limit_price.") % kind]
    if not has_limit and request.limit_price is not None:
        errors["limit_price"] = [_("A %(order_type)s order takes no limit_price.") % kind]
    if has_stop and request.stop_price is None:
        errors["stop_price"] = [_("A %(order_type)s order needs a stop_price.") % kind]
    if not has_stop and request.stop_price is not None:
        errors["stop_price"] = [_("A %(order_type)s order takes no stop_price.") % kind]
    if request.order_type == OrderType.MARKET and request.time_in_force == TimeInForce.GTC:
        errors["time_in_force"] = [_("A market order fills at once or not at all; use DAY, IOC or FOK.")]
    if has_stop and request.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        errors["time_in_force"] = [_("Stop orders wait for their trigger; use DAY or GTC.")]
    if errors:
        raise OrderRejected(_("The order is not valid; see details."), details=errors)


def order_place(*, user, request: OrderRequest) -> tuple[Order, bool]:
    """Accept an order, reserve what it needs, and execute what can execute now, in one unit of work.

    Returns (order, created). A retry with the same client_order_id returns the original order
    (created=False); different parameters raise IdempotencyConflict. Raises OrderRejected/InvalidPrice
    (400), StockNotFound (404), NoFreshPrice, MarketClosed, InsufficientFunds, InsufficientQuantity
    (409), AccountBusy (503). Nothing is written then.
    """
    _validate_shape(request)
    stock = stock_get_cached(code=request.stock_code)
    if not stock.is_active:
        raise OrderRejected(
            _("%(name)s (%(code)s) is not tradable.") % {"name": stock.name, "code": stock.code},
            details={"stock_code": ["inactive"]},
        )
    now = timezone.now()
    quote = latest_price(stock.code)  # read before taking locks: no network call under a row lock
    fresh = quote if quote is not None and quote.is_fresh() else None

    with AccountUnitOfWork.of_user(user=user) as work:
        if request.client_order_id:
            existing = Order.objects.filter(account_id=work.account.pk, client_order_id=request.client_order_id).first()
            if existing is not None:
                existing.stock = stock_by_id_cached(existing.stock_id)
                if not request.same_as(existing):
                    raise IdempotencyConflict(details={"order_id": existing.pk})
                return existing, False
        if not rules.market_is_open(now):
            raise MarketClosed()
        _check_prices(request, quote=quote, fresh=fresh)
        work.lock_holdings([stock.pk])
        order = Order(
            account=work.account,
            stock=stock,
            side=request.side,
            order_type=request.order_type,
            time_in_force=request.time_in_force,
            quantity=request.quantity,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            client_order_id=request.client_order_id or None,
            expires_at=rules.day_order_expiry(now) if request.time_in_force == TimeInForce.DAY else None,
            status=OrderStatus.OPEN,
        )
        order.fills = []
        if order.side == Side.BUY:
            order.reserved_cash = rules.buy_reservation(_reservation_price(order, fresh), order.quantity)
            account_reserve_cash(work, amount=order.reserved_cash)
        else:
            holding_reserve_quantity(work, stock_id=stock.pk, quantity=order.quantity)
            order.reserved_quantity = order.quantity
        work.insert(order)  # inserted at commit, in the state execution on arrival leaves it
        work.record_event("order.accepted", order_payload(order))
        _execute_on_arrival(work, order, fresh)
    return order, True


def _check_prices(request: OrderRequest, *, quote: Quote | None, fresh: Quote | None) -> None:
    if request.order_type == OrderType.MARKET:
        if fresh is None:
            raise NoFreshPrice()
        return
    if quote is None:
        raise NoFreshPrice(_("No reference price for this stock yet, so its price band is unknown; try again shortly."))
    if request.limit_price is not None:
        rules.check_order_price(request.limit_price, base=quote.base, field="limit_price")
    if request.stop_price is not None:
        rules.check_order_price(request.stop_price, base=quote.base, field="stop_price")


def _reservation_price(order: Order, fresh: Quote | None) -> Decimal:
    if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return _limit(order)
    if order.order_type == OrderType.STOP:
        return rules.market_reservation_price(_stop(order))
    return rules.market_reservation_price(cast(Quote, fresh).price)  # a market order needs a fresh price


def _limit(order: Order) -> Decimal:
    return cast(Decimal, order.limit_price)  # LIMIT and STOP_LIMIT orders always have one (_validate_shape)


def _stop(order: Order) -> Decimal:
    return cast(Decimal, order.stop_price)  # STOP and STOP_LIMIT orders always have one


def _execute_on_arrival(work: AccountUnitOfWork, order: Order, fresh: Quote | None) -> None:
    if order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        if fresh is not None and _stop_crossed(order, fresh.price):
            _trigger_stop(work, order, fresh.price, fresh.volume)
        else:
            _rest(work, order)
        return
    if order.order_type == OrderType.MARKET:
        fresh = cast(Quote, fresh)  # checked by _check_prices
        _execute_at_market(work, order, fresh.price, fresh.volume)
        return
    # LIMIT: marketable now fills at the current price (never beyond the limit); the rest rests or ends
    if fresh is not None and _limit_crossed(order, fresh.price):
        _execute_limit(work, order, fresh.price, fresh.volume)
    if order.is_working:
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            _close(work, order, OrderStatus.CANCELED, f"{order.time_in_force}: nothing more fills now")
        else:
            _rest(work, order)


def _limit_crossed(order: Order, price: Decimal) -> bool:
    return price <= _limit(order) if order.side == Side.BUY else price >= _limit(order)


def _stop_crossed(order: Order, price: Decimal) -> bool:
    return price >= _stop(order) if order.side == Side.BUY else price <= _stop(order)


def _fillable(order: Order, cap: int | None) -> int:
    return order.remaining_quantity if cap is None else min(order.remaining_quantity, cap)


def _execute_limit(work: AccountUnitOfWork, order: Order, price: Decimal, volume: int | None) -> int:
    quantity = _fillable(order, rules.fill_cap(volume))
    if order.time_in_force == TimeInForce.FOK and quantity < order.remaining_quantity:
        return 0  # all or nothing: the caller cancels it
    if quantity > 0:
        order_fill(work, order=order, quantity=quantity, price=price)
    return quantity


def _execute_at_market(work: AccountUnitOfWork, order: Order, price: Decimal, volume: int | None) -> None:
    """Market orders (and triggered stops) fill now at the tick price; they never rest."""
    fill_price = rules.slipped_price(price, buying=order.side == Side.BUY)
    quantity = _fillable(order, rules.fill_cap(volume))
    if order.time_in_force == TimeInForce.FOK and quantity < order.remaining_quantity:
        _close(work, order, OrderStatus.CANCELED, "FOK: the whole quantity cannot fill now")
        return
    if quantity > 0:
        order_fill(work, order=order, quantity=quantity, price=fill_price, resting=False)
    if order.is_working:
        _close(work, order, OrderStatus.CANCELED, "market order: no more volume at this price")


def _trigger_stop(work: AccountUnitOfWork, order: Order, price: Decimal, volume: int | None) -> None:
    """A crossed stop becomes a market order (STOP) or a resting limit (STOP_LIMIT)."""
    order.triggered_at = timezone.now()
    work.update(order, ["triggered_at"])
    if order.order_type == OrderType.STOP:
        _execute_at_market(work, order, price, volume)
        return
    if _limit_crossed(order, price):
        _execute_limit(work, order, price, volume)
    if order.is_working:
        _rest(work, order, book=_RESTING_BOOK[(order.side, OrderType.LIMIT)], trigger=order.limit_price)


def _rest(work: AccountUnitOfWork, order: Order, *, book: str | None = None, trigger: Decimal | None = None) -> None:
    order.book = book or _RESTING_BOOK[(order.side, order.order_type)]
    order.trigger_price = trigger or (
        order.stop_price if order.book in (Book.BUY_STOP, Book.SELL_STOP) else order.limit_price
    )
    work.update(order, ["book", "trigger_price"])


def order_fill(
    work: AccountUnitOfWork, *, order: Order, quantity: int, price: Decimal, resting: bool = True
) -> Execution:
    """The one place a fill happens (inside the unit of work that locked the order's account, holding, order).

    Queues the execution and the BUY/SELL ledger row with commission and tax, changes the holding,
    settles the reservation (a buy that keeps resting keeps limit × remaining + commission), moves
    the order's status (written guarded: compare-and-set on status and filled quantity), and
    records the account event.
    """
    value = price * quantity
    commission = rules.commission_for(value)
    tax = rules.sell_tax_for(value) if order.side == Side.SELL else Decimal(0)
    amount = -(value + commission) if order.side == Side.BUY else value - commission - tax
    account = work.account
    execution = Execution(
        order=order, account=account, stock=order.stock, side=order.side, quantity=quantity, price=price,
        commission=commission, tax=tax, amount=amount,
    )  # fmt: skip
    work.insert(execution)
    if order.fills is not None:
        order.fills.insert(0, execution)
    filled_before = order.filled_quantity
    remaining_after = order.remaining_quantity - quantity
    if order.side == Side.BUY:
        keep = Decimal(0)
        if resting and remaining_after and order.limit_price is not None:
            keep = min(order.reserved_cash, rules.buy_reservation(order.limit_price, remaining_after))
        holding_apply_buy(
            work, stock=order.stock, quantity=quantity, price=price, commission=commission,
            release_reserved_cash=order.reserved_cash - keep, order=order, execution=execution,
        )  # fmt: skip
        order.reserved_cash = keep
    else:
        holding_apply_sell(
            work, stock=order.stock, quantity=quantity, price=price, commission=commission, tax=tax,
            release_reserved_quantity=quantity, order=order, execution=execution,
        )  # fmt: skip
        order.reserved_quantity -= quantity
    order.average_fill_price = ((order.average_fill_price or 0) * filled_before + value) / (filled_before + quantity)
    order.filled_quantity = filled_before + quantity
    filled = order.filled_quantity == order.quantity
    order.status = OrderStatus.FILLED if filled else OrderStatus.PARTIALLY_FILLED
    if filled:
        order.book, order.trigger_price, order.closed_at = None, None, timezone.now()
    work.update(order, _FILL_FIELDS, guard=Q(status__in=WORKING_STATUSES, filled_quantity=filled_before))
    work.record_event(
        "order.filled" if filled else "order.partially_filled",
        {
            **order_payload(order),
            "execution": {"id": row_id(execution), "quantity": quantity, "price": int(price),
                          "commission": int(commission), "tax": int(tax)},
            "cash": int(account.cash),
            "available_cash": int(account.available_cash),
        },
    )  # fmt: skip
    return execution


def _close(work: AccountUnitOfWork, order: Order, status: str, reason: str = "") -> None:
    """End a working order (canceled, expired, rejected) and release what it still holds."""
    if order.reserved_cash:
        account_release_cash(work, amount=order.reserved_cash)
    if order.reserved_quantity:  # a sell: its holding exists
        holding_release_quantity(work, stock_id=order.stock_id, quantity=order.reserved_quantity)
    order.status, order.reserved_cash, order.reserved_quantity = status, Decimal(0), 0
    order.book, order.trigger_price, order.reject_reason = None, None, reason[:200]
    order.closed_at = timezone.now()
    work.update(order, _CLOSE_FIELDS, guard=Q(status__in=WORKING_STATUSES))
    work.record_event(
        _CLOSE_EVENTS[status],
        {**order_payload(order), "cash": int(work.account.cash), "available_cash": int(work.account.available_cash)},
    )


def order_replace(
    *,
    user,
    order_id: int,
    quantity: int | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> tuple[Order, bool]:
    """정정: cancel a working order and place its replacement in one unit of work.

    The replacement keeps side, type and time in force, trades `quantity` (default: what the old
    order had left) at the new prices, points back to the old order (`replaces`), reserves afresh
    (cash and the price band re-checked) and executes at once if it is now marketable. Returns
    (replacement, created); repeating a replace that already happened returns its replacement
    (created=False). Raises OrderNotFound (404), OrderRejected/InvalidPrice (400), OrderNotReplaceable,
    InsufficientFunds, InsufficientQuantity, NoFreshPrice, MarketClosed (409). Nothing is written then.
    """
    if quantity is None and limit_price is None and stop_price is None:
        raise OrderRejected(
            _("Say what to change: quantity, limit_price or stop_price."), details={"non_field_errors": ["empty"]}
        )
    found = Order.objects.filter(pk=order_id, account__user=user).values_list("stock_id", flat=True).first()
    if found is None:
        raise OrderNotFound()
    quote = latest_price(stock_by_id_cached(found).code)  # before any lock
    fresh = quote if quote is not None and quote.is_fresh() else None
    with _one_order(Q(pk=order_id)) as (work, old):
        replacement = Order.objects.filter(replaces=old).first()
        request = OrderRequest(
            stock_code=old.stock.code,
            side=old.side,
            order_type=old.order_type,
            quantity=quantity if quantity is not None else old.remaining_quantity,
            limit_price=limit_price if limit_price is not None else old.limit_price,
            stop_price=stop_price if stop_price is not None else old.stop_price,
            time_in_force=old.time_in_force,
        )
        if replacement is not None:
            replacement.stock = old.stock
            if not request.same_as(replacement):
                raise OrderNotReplaceable(
                    _("Order %(order)s was already replaced by order %(replacement)s; change that one instead.")
                    % {"order": old.pk, "replacement": replacement.pk},
                    details={"replaced_by": replacement.pk},
                )
            return replacement, False
        if not old.is_working:
            raise OrderNotReplaceable(
                _("Order %(order)s is %(status)s; only a working order can be changed.")
                % {"order": old.pk, "status": _status_text(old)},
                details={"status": old.status},
            )
        if stop_price is not None and old.triggered_at is not None:
            raise OrderNotReplaceable(_("The stop has already triggered; change its limit_price instead."))
        _validate_shape(request)
        if (request.quantity, request.limit_price, request.stop_price) == (
            old.remaining_quantity, old.limit_price, old.stop_price
        ):  # fmt: skip
            raise OrderRejected(
                _("The new order would be the same as the old one."), details={"non_field_errors": ["same"]}
            )
        if not rules.market_is_open(timezone.now()):
            raise MarketClosed()
        _check_prices(request, quote=quote, fresh=fresh)
        _close(work, old, OrderStatus.CANCELED, "replaced (정정)")
        new = Order(
            account=work.account,
            stock=old.stock,
            side=old.side,
            order_type=old.order_type,
            time_in_force=old.time_in_force,
            quantity=request.quantity,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            expires_at=old.expires_at,
            triggered_at=old.triggered_at,
            status=OrderStatus.OPEN,
            replaces=old,
        )
        new.fills = []
        if new.side == Side.BUY:
            new.reserved_cash = rules.buy_reservation(_reservation_price(new, fresh), new.quantity)
            account_reserve_cash(work, amount=new.reserved_cash)
        else:
            holding_reserve_quantity(work, stock_id=new.stock_id, quantity=new.quantity)
            new.reserved_quantity = new.quantity
        work.insert(new)
        work.record_event("order.accepted", order_payload(new))
        if new.triggered_at is not None:  # a triggered stop limit stays a limit
            if fresh is not None and _limit_crossed(new, fresh.price):
                _execute_limit(work, new, fresh.price, fresh.volume)
            if new.is_working:
                _rest(work, new, book=_RESTING_BOOK[(new.side, OrderType.LIMIT)], trigger=new.limit_price)
        else:
            _execute_on_arrival(work, new, fresh)
    return new, True


@contextmanager
def _one_order(order_filter: Q) -> Iterator[tuple[AccountUnitOfWork, Order]]:
    """A unit of work on one order's account: the account, the order's holding, then the order."""
    found = Order.objects.filter(order_filter).values_list("pk", "account_id", "stock_id").first()
    if found is None:
        raise OrderNotFound()
    order_id, account_id, stock_id = found
    with AccountUnitOfWork.of_account(account_id=account_id) as work:
        work.lock_holdings([stock_id])
        (order,) = work.lock_orders(Order.objects.filter(pk=order_id))
        order.stock = stock_by_id_cached(stock_id)
        yield work, order


def order_cancel(*, user, order_id: int) -> Order:
    """Cancel a working order of the user; releases its reservation exactly once.

    Another user's order is OrderNotFound (404); a filled/canceled one OrderNotCancelable (409).
    """
    with _one_order(Q(pk=order_id, account__user=user)) as (work, order):
        if not order.is_working:
            raise _not_cancelable(order)
        _close(work, order, OrderStatus.CANCELED, "canceled by you")
    return order


def order_cancel_by_staff(*, order_id: int, staff_user) -> Order:
    with _one_order(Q(pk=order_id)) as (work, order):
        if not order.is_working:
            raise _not_cancelable(order)
        _close(work, order, OrderStatus.CANCELED, f"canceled by staff ({staff_user.get_username()})")
    return order


def orders_cancel_on_close(work: AccountUnitOfWork, reason: str) -> int:
    """portfolio.hooks.account_closing: a closing account's working orders are canceled first."""
    working = Order.objects.filter(account_id=work.account.pk, status__in=WORKING_STATUSES)
    work.lock_holdings(working.values_list("stock_id", flat=True).distinct())
    orders = work.lock_orders(working)
    for order in orders:
        order.stock = stock_by_id_cached(order.stock_id)
        _close(work, order, OrderStatus.CANCELED, reason)
    return len(orders)


def orders_expire(*, now=None) -> int:
    """Expire DAY orders whose session has ended (15:30 KST, or midnight KST without market hours)."""
    now = now or timezone.now()
    by_account: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for order_id, account_id, stock_id in Order.objects.filter(
        status__in=WORKING_STATUSES, time_in_force=TimeInForce.DAY, expires_at__lte=now
    ).values_list("id", "account_id", "stock_id"):
        by_account[account_id].append((order_id, stock_id))
    expired = 0
    for account_id, orders in by_account.items():
        with AccountUnitOfWork.of_account(account_id=account_id) as work:
            work.lock_holdings(stock_id for _, stock_id in orders)
            for order in work.lock_orders(Order.objects.filter(pk__in=[order_id for order_id, _ in orders])):
                if order.is_working:
                    order.stock = stock_by_id_cached(order.stock_id)
                    _close(work, order, OrderStatus.EXPIRED, "day order ended")
                    expired += 1
    return expired


@dataclass
class MatchResult:
    candidates: int = 0
    fills: int = 0
    triggered: int = 0
    rejected: int = 0

    def add(self, other: MatchResult) -> None:
        self.fills += other.fills
        self.triggered += other.triggered
        self.rejected += other.rejected


def order_candidates(*, stock_id: int, price: Decimal) -> list[tuple[int, int]]:
    """(order id, account id) of resting orders a price crosses, oldest first.

    Two range scans of the (stock, book, trigger_price) index joined by UNION ALL;
    an OR of the two makes SQLite fall back to scanning the stock's whole book.
    """
    resting = Order.objects.filter(stock_id=stock_id).order_by().values_list("id", "account_id")
    falling = resting.filter(book__in=_WAKES_ON_FALL, trigger_price__gte=price)
    rising = resting.filter(book__in=_WAKES_ON_RISE, trigger_price__lte=price)
    return sorted(falling.union(rising, all=True))


def orders_match_tick(*, stock: Stock, price: Decimal, volume: int | None = None) -> MatchResult:
    """Fill crossing limit orders and trigger crossed stops for one price of one stock.

    Time priority by order id; each account's orders in one unit of work; a realistic fill
    model shares the tick's volume among them.
    """
    result = MatchResult()
    candidates = order_candidates(stock_id=stock.pk, price=price)
    result.candidates = len(candidates)
    if not candidates:
        return result
    by_account: dict[int, list[int]] = {}
    for order_id, account_id in candidates:
        by_account.setdefault(account_id, []).append(order_id)
    cap = rules.fill_cap(volume)
    for account_id, order_ids in by_account.items():
        if cap is not None and cap <= 0:
            break
        counted = MatchResult()  # what this account's transaction did; counted once it commits
        try:
            cap = _match_account(account_id, order_ids, stock, price, cap, counted)
            result.add(counted)
        except UnaffordableFill as exc:  # the account's other orders match again on the next tick
            _reject_unaffordable(exc.order_id)
            result.rejected += 1
        except Exception:  # one account's failure (rolled back whole) must not starve the others
            logger.exception("matching account %s at %s %s failed", account_id, stock.code, price)
    return result


class UnaffordableFill(Exception):
    """A resting order whose fill now costs more than the account has (fees changed since it was placed)."""

    def __init__(self, order_id: int):
        super().__init__(f"order {order_id} cannot pay for its fill")
        self.order_id = order_id


def _reject_unaffordable(order_id: int) -> None:
    with _one_order(Q(pk=order_id)) as (work, order):
        if order.is_working:
            _close(work, order, OrderStatus.REJECTED, "not enough cash for the fill at current fees")
    logger.warning("order %s rejected: not enough cash for its fill at current fees", order_id)


def _match_account(account_id, order_ids, stock, price: Decimal, cap: int | None, result: MatchResult) -> int | None:
    """One account's crossing orders in one unit of work; returns the volume left for the next account."""
    with AccountUnitOfWork.of_account(account_id=account_id) as work:
        work.lock_holdings([stock.pk])
        for order in work.lock_orders(Order.objects.filter(pk__in=order_ids)):
            order.stock = stock
            cap = _match_order(work, order, price, cap, result)
    return cap


def _match_order(work: AccountUnitOfWork, order: Order, price: Decimal, cap: int | None, result: MatchResult):
    """Match one crossing order; returns the volume left."""
    filled_before = order.filled_quantity
    if order.book != Book.BUY_STOP:
        try:
            _match_one(work, order, price, cap, result)
        except InsufficientFunds as exc:
            # Nothing can be undone alone, so the account's whole unit of work rolls back. Only a fee
            # change between placement and fill can get a resting order here.
            raise UnaffordableFill(order.pk) from exc
    else:
        # Only a triggered stop buy can outrun its reservation: it alone pays for a savepoint.
        try:
            with work.savepoint():
                _match_one(work, order, price, cap, result)
        except InsufficientFunds:
            order.refresh_from_db()  # the savepoint undid the fill: back to the order as locked
            order.stock = stock_by_id_cached(order.stock_id)
            if order.is_working:
                _close(work, order, OrderStatus.REJECTED, "not enough cash when the stop triggered")
                result.rejected += 1
    return cap if cap is None else cap - (order.filled_quantity - filled_before)


def _match_one(work: AccountUnitOfWork, order: Order, price: Decimal, volume: int | None, result: MatchResult) -> None:
    if not order.is_working or order.book is None:
        return
    if order.book in (Book.BUY_STOP, Book.SELL_STOP):
        if not _stop_crossed(order, price):
            return
        result.triggered += 1
        before = order.filled_quantity
        _trigger_stop(work, order, price, volume)
        result.fills += int(order.filled_quantity > before)
        return
    if not _limit_crossed(order, price):
        return
    if _execute_limit(work, order, price, volume):
        result.fills += 1


def order_payload(order: Order) -> dict:
    """What account events say about an order (its id resolved when the order is inserted)."""
    return {
        "order_id": row_id(order),
        "client_order_id": order.client_order_id,
        "stock_code": order.stock.code,
        "stock_name": order.stock.name,
        "side": order.side,
        "type": order.order_type,
        "status": order.status,
        "quantity": order.quantity,
        "filled_quantity": order.filled_quantity,
        "limit_price": None if order.limit_price is None else int(order.limit_price),
        "stop_price": None if order.stop_price is None else int(order.stop_price),
        "average_fill_price": None if order.average_fill_price is None else float(order.average_fill_price),
        "reason": order.reject_reason,
        "replaces": order.replaces_id,
    }
