"""Order pages: the order ticket on the stock page, open orders, history, executions, 정정 and 취소. Thin."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from kernel.errors import ApplicationError
from kernel.fields import AsciiIntegerField
from kernel.htmx import wants_fragment
from marketdata.krx import price_limits
from marketdata.prices import latest_price
from marketdata.selectors import StockNotFound, stock_get
from portfolio.models import Holding
from portfolio.pages import open_account_required
from portfolio.selectors import account_get_open
from trading import selectors
from trading.forms import OrderTicketForm
from trading.services import OrderRequest, order_cancel, order_place, order_replace

# The ticket's quantity buttons: a share of what the cash (buy, fees included) or the shares (sell) allow.
QUANTITY_PRESETS = (("0.1", "10%"), ("0.25", "25%"), ("0.5", "50%"), ("1", _("Max")))


class OrderReplaceForm(forms.Form):
    """정정: what to change on a working order; an empty field keeps the order's value."""

    quantity = AsciiIntegerField(
        min_value=1, max_value=settings.ORDER_MAX_QUANTITY, required=False, label=_("Quantity")
    )
    limit_price = AsciiIntegerField(min_value=1, required=False, label=_("Limit price"))
    stop_price = AsciiIntegerField(min_value=1, required=False, label=_("Stop price"))


def _stock_or_404(code: str):
    try:
        return stock_get(code=code)
    except StockNotFound as exc:
        raise Http404(exc.message) from exc


def _ticket_context(request, stock, form, placed=None, error=None):
    account = account_get_open(user=request.user)
    holding = Holding.objects.filter(account=account, stock=stock).first()
    quote = latest_price(stock.code)
    band = price_limits(quote.base) if quote is not None and quote.base else None
    return {
        **_stock_orders_context(account, stock),
        "stock": stock,
        "form": form,
        "placed": placed,
        "error": error,
        "quote": quote,
        "band": band,
        "available_cash": account.available_cash,
        "available_quantity": holding.available_quantity if holding else 0,
        "commission_rate": settings.COMMISSION_RATE,
        "sell_tax_rate": settings.SELL_TAX_RATE,
        "market_buy_buffer": settings.MARKET_BUY_BUFFER,
        "quantity_presets": QUANTITY_PRESETS,
    }


def _stock_orders_context(account, stock) -> dict:
    return {
        "stock": stock,
        "working": list(selectors.orders_list(account=account, status="WORKING", stock_code=stock.code)[:50]),
    }


@login_required
@open_account_required
def order_ticket(request, code: str):
    stock = _stock_or_404(code)
    form = OrderTicketForm(initial={"side": request.GET.get("side", "BUY")})
    return render(request, "trading/_order_ticket.html", _ticket_context(request, stock, form))


@login_required
@require_POST
@open_account_required
def order_ticket_submit(request, code: str):
    stock = _stock_or_404(code)
    form = OrderTicketForm(request.POST)
    placed, error = None, None
    if form.is_valid():
        data = form.cleaned_data
        uses_limit = data["order_type"] in ("LIMIT", "STOP_LIMIT")
        uses_stop = data["order_type"] in ("STOP", "STOP_LIMIT")
        try:
            placed, _ = order_place(
                user=request.user,
                request=OrderRequest(
                    stock_code=stock.code,
                    side=data["side"],
                    order_type=data["order_type"],
                    quantity=data["quantity"],
                    limit_price=Decimal(data["limit_price"]) if uses_limit and data["limit_price"] else None,
                    stop_price=Decimal(data["stop_price"]) if uses_stop and data["stop_price"] else None,
                    time_in_force=data["time_in_force"],
                ),
            )
        except ApplicationError as exc:
            error = exc.message
            for field, messages in exc.details.items():
                if field in form.fields and isinstance(messages, list):
                    form.add_error(field, [str(m) for m in messages])
        else:
            form = OrderTicketForm(initial={"side": data["side"], "order_type": data["order_type"]})
    return render(request, "trading/_order_ticket.html", _ticket_context(request, stock, form, placed, error))


def _orders_context(request):
    account = account_get_open(user=request.user)
    working = list(selectors.orders_list(account=account, status="WORKING")[:100])
    history = Paginator(selectors.orders_list(account=account).exclude(pk__in=[o.pk for o in working]), 25)
    executions = selectors.executions_list(account=account)[:25]
    return {
        "working": working,
        "history": history.get_page(request.GET.get("page")),
        "executions": executions,
    }


@login_required
@open_account_required
def orders_page(request):
    template = "trading/_orders_live.html" if wants_fragment(request) else "trading/orders.html"
    return render(request, template, _orders_context(request))


@login_required
@open_account_required
def stock_orders(request, code: str):
    """The stock page's working orders of this stock, each with 정정 and 취소 (refreshed on account events)."""
    stock = _stock_or_404(code)
    account = account_get_open(user=request.user)
    return render(request, "trading/_stock_orders.html", _stock_orders_context(account, stock))


def _working_orders_response(request, *, error=None, replace=None):
    """After 취소 or 정정: the list the form came from, the stock page's (scope=stock) or the orders page's."""
    code = request.POST.get("stock_code", "")
    if request.POST.get("scope") == "stock" and code:
        template = "trading/_stock_orders.html"
        context = _stock_orders_context(account_get_open(user=request.user), _stock_or_404(code))
    else:
        template = "trading/_orders_live.html" if wants_fragment(request) else "trading/orders.html"
        context = _orders_context(request)
    if replace and replace["errors"] and all(order.pk != replace["order_id"] for order in context["working"]):
        # no form to show it by: not this user's order, or no longer working
        error = " ".join(str(message) for message in replace["errors"])
    # the answer goes beside the list (out of band), where the next account-event refresh leaves it
    notice_oob = wants_fragment(request)
    return render(request, template, {**context, "error": error, "replace": replace, "notice_oob": notice_oob})


@login_required
@require_POST
@open_account_required
def order_cancel_view(request, order_id: int):
    error = None
    try:
        order_cancel(user=request.user, order_id=order_id)
    except ApplicationError as exc:
        error = exc.message
    return _working_orders_response(request, error=error)


@login_required
@require_POST
@open_account_required
def order_replace_view(request, order_id: int):
    """정정 from a page: order_replace (atomic cancel-and-replace); errors go next to the order's form."""
    form = OrderReplaceForm(request.POST)
    replace = {"order_id": order_id, "values": request.POST, "errors": [], "done": None}
    if not form.is_valid():
        replace["errors"] = [
            f"{form.fields[name].label}: {message}" if name in form.fields else message
            for name, messages in form.errors.items()
            for message in messages
        ]
        return _working_orders_response(request, replace=replace)
    data = form.cleaned_data
    try:
        replacement, _created = order_replace(
            user=request.user,
            order_id=order_id,
            quantity=data["quantity"],
            limit_price=Decimal(data["limit_price"]) if data["limit_price"] is not None else None,
            stop_price=Decimal(data["stop_price"]) if data["stop_price"] is not None else None,
        )
    except ApplicationError as exc:
        replace["errors"] = [str(exc.message)]
    else:
        replace = {"order_id": replacement.pk, "errors": [], "done": replacement, "replaced": order_id}
    return _working_orders_response(request, replace=replace)
