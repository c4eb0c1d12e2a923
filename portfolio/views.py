"""Portfolio pages: cash and holdings, the ledger, account reset, watchlists. Thin: services do the work."""

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kernel.errors import ApplicationError, ConflictError
from kernel.htmx import wants_fragment
from marketdata.codes import is_stock_code
from marketdata.models import Stock
from marketdata.selectors import realtime_quotes, stock_get, stock_search
from payments.selectors import user_is_premium
from portfolio import analytics, charts, selectors, services
from portfolio.forms import CashForm, LedgerFilterForm, WatchlistForm
from portfolio.pages import open_account_required

# what the page says after a cash move (lazy: the request's language decides when it is formatted)
DONE_MESSAGES = {
    "deposit": gettext_lazy("Deposit of %(amount)s원 done."),
    "withdraw": gettext_lazy("Withdrawal of %(amount)s원 done."),
}


@login_required
@open_account_required
def portfolio_page(request):
    if request.method == "POST" and request.POST.get("action") == "open-account":
        return _open_account(request)
    summary = selectors.portfolio_summary(account=selectors.account_get_open(user=request.user))
    return render(
        request,
        "portfolio/portfolio.html",
        {"summary": summary, "deposit_form": CashForm(prefix="deposit"), "withdraw_form": CashForm(prefix="withdraw")},
    )


def _open_account(request):
    """The no-account page's button: open one (a second press finds it open) and go back to the page it came from."""
    try:
        services.account_open(user=request.user)
    except ConflictError:
        pass  # already open: opened in another tab, or the button pressed twice
    else:
        messages.success(request, _("Your paper account is open. Happy trading!"))
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=False):
        next_url = reverse("portfolio")
    return redirect(next_url)


@login_required
@require_POST
@open_account_required
def cash_move(request, direction: str):
    """Deposit or withdraw from the portfolio page; htmx swaps the cash panel, errors inline."""
    service = {"deposit": services.account_deposit, "withdraw": services.account_withdraw}[direction]
    form = CashForm(request.POST, prefix=direction)
    done = None
    if form.is_valid():
        try:
            service(user=request.user, amount=Decimal(form.cleaned_data["amount"]))
        except ApplicationError as exc:
            form.add_error("amount", exc.message)
        else:
            done = DONE_MESSAGES[direction] % {"amount": f"{form.cleaned_data['amount']:,}"}
            form = CashForm(prefix=direction)
    if not wants_fragment(request):
        if done:
            messages.success(request, done)
        else:
            messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
        return redirect("portfolio")
    summary = selectors.portfolio_summary(account=selectors.account_get_open(user=request.user))
    forms = {"deposit_form": CashForm(prefix="deposit"), "withdraw_form": CashForm(prefix="withdraw")}
    forms[f"{direction}_form"] = form
    return render(request, "portfolio/_cash_panel.html", {"summary": summary, "done": done, **forms})


@login_required
@open_account_required
def ledger_page(request):
    form = LedgerFilterForm(request.GET or None)
    account = selectors.account_get_open(user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    stock = filters.get("stock")
    if stock and not is_stock_code(stock):  # a name such as 삼성전자: the one stock of that name in this ledger
        filters["stock"] = selectors.ledger_stock_code_for(account=account, text=stock)
        if filters["stock"] is None:
            form.add_error("stock", _("No single stock in your ledger is named “%(name)s”.") % {"name": stock})
    rows = selectors.transactions_list(
        account=account,
        transaction_type=filters.get("type") or None,
        stock_code=filters.get("stock") or None,
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    if form.errors:
        rows = rows.none()  # a filter that cannot apply shows nothing rather than everything
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    # the API wants what the form cleaned (005930 -> A005930), not what was typed
    csv_filters = {name: str(value) for name, value in filters.items() if value}
    csv_query = urlencode({**csv_filters, "format": "csv"})
    return render(
        request,
        "portfolio/ledger.html",
        {"form": form, "page": page, "query": urlencode(query), "csv_query": csv_query},
    )


@login_required
@open_account_required
def reset_page(request):
    account = selectors.account_get_open(user=request.user)
    if request.method == "POST":
        if request.POST.get("confirm") != "RESET":
            messages.error(request, _("Type RESET to confirm."))
        else:
            try:
                services.account_reset(user=request.user)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request, _("Your paper account starts again with fresh cash. The old one is closed and kept.")
                )
                return redirect("portfolio")
    context = {
        "summary": selectors.portfolio_summary(account=account),
        "is_premium": user_is_premium(user=request.user),
        "free_reset_days": services.FREE_RESET_INTERVAL.days,
    }
    return render(request, "portfolio/reset.html", context)


# --- watchlists -------------------------------------------------------------


def _watchlists_context(request, **extra):
    lists = list(selectors.watchlists_for(user=request.user))
    max_lists, max_items = selectors.watchlist_limits(user=request.user)
    # one MGET for every listed stock: the page shows each price with 지연 and its age once it is stale
    quotes = realtime_quotes(codes=[item.stock.code for wl in lists for item in wl.items.all()])
    rows = [(wl, [(item, quotes.get(item.stock.code)) for item in wl.items.all()]) for wl in lists]
    return {
        "watchlists": lists,
        "watchlist_rows": rows,
        "max_lists": max_lists,
        "max_items": max_items,
        "form": WatchlistForm(),
        **extra,
    }


def _watchlists_response(request, error=None):
    if wants_fragment(request):
        return render(request, "portfolio/_watchlists.html", _watchlists_context(request, error=error))
    if error:
        messages.error(request, error)
    return redirect("watchlists")


@login_required
def watchlists_page(request):
    return render(request, "portfolio/watchlists.html", _watchlists_context(request))


@login_required
@require_POST
def watchlist_create(request):
    form = WatchlistForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.watchlist_create(user=request.user, name=form.cleaned_data["name"])
        except ApplicationError as exc:
            error = exc.message
    else:
        error = _name_error(form)
    return _watchlists_response(request, error)


@login_required
@require_POST
def watchlist_rename(request, watchlist_id: int):
    form = WatchlistForm(request.POST)
    if not form.is_valid():
        return _watchlists_response(request, _name_error(form))
    name = form.cleaned_data["name"]
    return _watchlist_action(
        request, lambda: services.watchlist_rename(user=request.user, watchlist_id=watchlist_id, name=name)
    )


def _name_error(form) -> str:
    errors = form.errors.get("name", [_("Give the list a name of at most 50 characters.")])
    return _("List name: %(errors)s") % {"errors": " ".join(errors)}


def _watchlist_action(request, action):
    try:
        action()
    except ApplicationError as exc:
        return _watchlists_response(request, exc.message)
    return _watchlists_response(request)


@login_required
@require_POST
def watchlist_delete(request, watchlist_id: int):
    return _watchlist_action(request, lambda: services.watchlist_delete(user=request.user, watchlist_id=watchlist_id))


@login_required
@require_POST
def watchlist_add(request, watchlist_id: int):
    def add():
        stock = stock_get(code=request.POST.get("stock_code", "")[:7])
        services.watchlist_add_stock(user=request.user, watchlist_id=watchlist_id, stock=stock)

    return _watchlist_action(request, add)


@login_required
@require_POST
def watchlist_remove(request, watchlist_id: int, stock_code: str):
    def remove():
        stock = stock_get(code=stock_code)
        services.watchlist_remove_stock(user=request.user, watchlist_id=watchlist_id, stock=stock)

    return _watchlist_action(request, remove)


@login_required
def watchlist_stock_suggestions(request, watchlist_id: int):
    """htmx: stocks matching the query, each with an add button for this list."""
    query = request.GET.get("q", "")[:50].strip()
    stocks = list(stock_search(query=query)[:8]) if query else []
    return render(
        request, "portfolio/_stock_suggestions.html", {"stocks": stocks, "watchlist_id": watchlist_id, "query": query}
    )


# --- performance: analytics and past accounts (docs/architecture.md §13) ----------------


def _account_or_404(*, user, account_id: int | None = None, closed: bool = False):
    try:
        account = selectors.account_get_for(user=user, account_id=account_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    if closed and account.is_open:
        raise Http404(_("You have no such account."))
    return account


@login_required
def analytics_page(request):
    period = request.GET.get("period", "1Y")
    if period not in analytics.PERIOD_DAYS:
        period = "1Y"
    series = analytics.equity_series(account=_account_or_404(user=request.user), period=period)
    metrics = analytics.analytics_data(series)
    names = dict(
        Stock.objects.filter(code__in=[row["stock_code"] for row in metrics["by_stock"]]).values_list("code", "name")
    )
    for row in metrics["by_stock"]:
        row["name"] = names.get(row["stock_code"], row["stock_code"])
    return render(
        request,
        "portfolio/analytics.html",
        {
            "period": period,
            "periods": charts.PERIOD_LABELS,
            "metrics": metrics,
            "chart": charts.chart_data(series),
            "months": charts.monthly_returns(series),
            "csv_query": urlencode({"period": period, "format": "csv"}),
        },
    )


@login_required
def accounts_history_page(request):
    closed = [record for record in selectors.accounts_list(user=request.user) if not record.account.is_open]
    return render(request, "portfolio/accounts_history.html", {"records": closed})


@login_required
def account_history_detail(request, account_id: int):
    """One closed account: its curve and its ledger, read-only. Another user's id or the open account is 404."""
    account = _account_or_404(user=request.user, account_id=account_id, closed=True)
    series = analytics.equity_series(account=account, period="ALL")
    page = Paginator(selectors.transactions_list(account=account), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portfolio/account_history_detail.html",
        {
            "account": account,
            "metrics": analytics.analytics_data(series),
            "chart": charts.chart_data(series),
            "page": page,
        },
    )
