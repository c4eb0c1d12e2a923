from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet, Sum

from marketdata.calendar import SEOUL
from trading.errors import OrderNotFound
from trading.models import WORKING_STATUSES, Execution, Order


def _day_range(rows, date_from: date | None, date_to: date | None):
    if date_from:
        rows = rows.filter(created_at__gte=datetime.combine(date_from, datetime.min.time(), tzinfo=SEOUL))
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), tzinfo=SEOUL)
        rows = rows.filter(created_at__lt=end)
    return rows


def orders_list(
    *, account, status: str | None = None, stock_code: str | None = None, date_from=None, date_to=None
) -> QuerySet[Order]:
    """The account's orders, newest first. status "WORKING" means open or partially filled."""
    rows = Order.objects.filter(account=account).select_related("stock")
    if status == "WORKING":
        rows = rows.filter(status__in=WORKING_STATUSES)
    elif status:
        rows = rows.filter(status=status)
    if stock_code:
        rows = rows.filter(stock__code=stock_code.upper())
    return _day_range(rows, date_from, date_to).order_by("-created_at", "-id")


def order_get(*, user, order_id: int) -> Order:
    """Any of the user's orders, including those of closed accounts; another user's is 404."""
    order = Order.objects.select_related("stock").filter(pk=order_id, account__user=user).first()
    if order is None:
        raise OrderNotFound()
    return order_with_executions(order)


def order_with_executions(order: Order) -> Order:
    """An order in hand, its stock loaded, with `fills` (its executions, newest first): one query at most.

    An order placed in this request already carries its fills.
    """
    if order.fills is None:
        order.fills = list(Execution.objects.filter(order=order).order_by("-created_at", "-id"))
        for execution in order.fills:
            execution.stock = order.stock  # always the order's stock: no query per execution
    return order


def executions_list(*, account, stock_code: str | None = None, date_from=None, date_to=None) -> QuerySet[Execution]:
    rows = Execution.objects.filter(account=account).select_related("stock", "order")
    if stock_code:
        rows = rows.filter(stock__code=stock_code.upper())
    return _day_range(rows, date_from, date_to).order_by("-created_at", "-id")


def working_order_reservations(account_ids: list[int]) -> tuple[dict[int, Decimal], dict[tuple[int, int], int]]:
    """What working orders hold: cash per account, shares per (account, stock) (portfolio.hooks)."""
    working = Order.objects.filter(account_id__in=account_ids, status__in=WORKING_STATUSES)
    cash = dict(working.values("account_id").annotate(total=Sum("reserved_cash")).values_list("account_id", "total"))
    shares = {
        (row["account_id"], row["stock_id"]): row["total"]
        for row in working.values("account_id", "stock_id").annotate(total=Sum("reserved_quantity"))
    }
    return cash, shares


def order_replacement_id(order: Order) -> int | None:
    """The id of the order that replaced this one (정정), if any."""
    return Order.objects.filter(replaces_id=order.pk).values_list("pk", flat=True).first()
