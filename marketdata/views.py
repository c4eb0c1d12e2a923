from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from kernel.htmx import wants_fragment
from marketdata.candles import INTERVALS
from marketdata.models import Market
from marketdata.selectors import StockNotFound, realtime_quotes, stock_get, stock_search


def market(request):
    query = request.GET.get("q", "")[:100]
    market_filter = request.GET.get("market") if request.GET.get("market") in Market.values else None
    page = Paginator(stock_search(query=query, market=market_filter), 50).get_page(request.GET.get("page"))
    quotes = realtime_quotes(codes=[stock.code for stock in page])  # one MGET; live ticks take over in the browser
    rows = [(stock, quotes.get(stock.code)) for stock in page]
    context = {"page": page, "rows": rows, "query": query, "market": market_filter or "", "markets": Market.values}
    # htmx swaps only the results table while the user types
    template = "marketdata/_stock_rows.html" if wants_fragment(request) else "marketdata/market.html"
    return render(request, template, context)


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
