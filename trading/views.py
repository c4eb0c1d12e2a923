"""Order pages: the order ticket on the stock page, open orders, history, executions. Thin."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from kernel.errors import ApplicationError
from kernel.htmx import wants_fragment
from marketdata.krx import price_limits
from marketdata.prices import latest_price
from marketdata.selectors import StockNotFound, stock_get
from portfolio.models import Holding
from portfolio.selectors import account_get_open
from trading import selectors
from trading.forms import OrderTicketForm
from trading.services import OrderRequest, order_cancel, order_place


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
    }


@login_required
def order_ticket(request, code: str):
    stock = _stock_or_404(code)
    form = OrderTicketForm(initial={"side": request.GET.get("side", "BUY")})
    return render(request, "trading/_order_ticket.html", _ticket_context(request, stock, form))


@login_required
@require_POST
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
def orders_page(request):
    template = "trading/_orders_live.html" if wants_fragment(request) else "trading/orders.html"
    return render(request, template, _orders_context(request))


@login_required
@require_POST
def order_cancel_view(request, order_id: int):
    error = None
    try:
        order_cancel(user=request.user, order_id=order_id)
    except ApplicationError as exc:
        error = exc.message
    return render(request, "trading/_orders_live.html", {**_orders_context(request), "error": error})
