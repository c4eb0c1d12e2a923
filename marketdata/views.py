from dataclasses import dataclass
from datetime import timedelta

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.htmx import wants_fragment
from marketdata.candles import INTERVALS
from marketdata.indices import INDEX_DEFINITIONS, latest_index_values
from marketdata.models import Market
from marketdata.prices import Quote
from marketdata.selectors import (
    INDEX_HISTORY_SOURCE,
    IndexNotFound,
    IndexValue,
    Mover,
    StockNotFound,
    market_index_get,
    market_indices_current,
    market_movers,
    realtime_quotes,
    stock_get,
    stock_search,
)

MOVERS_ON_PAGE = 5
SPARKLINE_DAYS = 92  # the index cards' mini chart: about three months of daily closes


@dataclass(frozen=True)
class IndexCard:
    index: IndexValue
    quote: Quote | None  # the live value's tick (its received_at says how fresh it is); None: the last KRX close

    @property
    def is_close(self) -> bool:
        return self.index.source == INDEX_HISTORY_SOURCE


def index_cards() -> list[IndexCard]:
    """KOSPI and KOSDAQ as the cards show them: the selector's values, with the tick behind a live one."""
    quotes = latest_index_values(INDEX_DEFINITIONS)
    return [IndexCard(index=value, quote=quotes.get(value.code)) for value in market_indices_current()]


MOVER_TITLES = {"gainers": _("Top gainers"), "losers": _("Top losers"), "volume": _("Most traded")}


def movers_lists() -> list[tuple[str, str, list[Mover]]]:
    """(kind, title, the top movers) for gainers, losers and volume: from the per-process ranking cache."""
    return [(kind, title, market_movers(kind=kind, limit=MOVERS_ON_PAGE)) for kind, title in MOVER_TITLES.items()]


def sparkline_from() -> str:
    return (timezone.localdate() - timedelta(days=SPARKLINE_DAYS)).isoformat()


def market(request):
    query = request.GET.get("q", "")[:100]
    market_filter = request.GET.get("market") if request.GET.get("market") in Market.values else None
    page = Paginator(stock_search(query=query, market=market_filter), 50).get_page(request.GET.get("page"))
    quotes = realtime_quotes(codes=[stock.code for stock in page])  # one MGET; live ticks take over in the browser
    rows = [(stock, quotes.get(stock.code)) for stock in page]
    context = {"page": page, "rows": rows, "query": query, "market": market_filter or "", "markets": Market.values}
    # htmx swaps only the results table while the user types
    if wants_fragment(request):
        return render(request, "marketdata/_stock_rows.html", context)
    context.update(index_cards=index_cards(), sparkline_from=sparkline_from(), movers_lists=movers_lists())
    return render(request, "marketdata/market.html", context)


def movers(request):
    """The movers panel alone: the market page and the dashboard refresh it with htmx every few seconds."""
    return render(request, "marketdata/_movers.html", {"movers_lists": movers_lists()})


def index_detail(request, code: str):
    try:
        index = market_index_get(code=code)
    except IndexNotFound as exc:
        raise Http404(exc.message) from exc
    if index.code != code:
        return redirect("index-detail", code=index.code, permanent=True)
    card = next((card for card in index_cards() if card.index.code == index.code), None)
    ranges = [("1M", 31), ("3M", 92), ("1Y", 366), ("5Y", 366 * 5 + 1), ("ALL", 0)]
    return render(request, "marketdata/index_detail.html", {"index": index, "card": card, "ranges": ranges})


def stock_detail(request, code: str):
    if len(code) == 6 and code.isascii() and code.isalnum():
        return redirect("stock-detail", code=f"A{code.upper()}", permanent=True)  # the codes pages show
    try:
        stock = stock_get(code=code)
    except StockNotFound as exc:
        raise Http404(exc.message) from exc
    quote = realtime_quotes(codes=[stock.code]).get(stock.code)
    return render(
        request,
        "marketdata/stock_detail.html",
        {"stock": stock, "quote": quote, "intervals": list(INTERVALS), "default_interval": "1m"},
    )
