from django.core.paginator import Paginator
from django.shortcuts import render

from marketdata.models import Market
from marketdata.selectors import stock_search


def market(request):
    query = request.GET.get("q", "")[:100]
    market_filter = request.GET.get("market") if request.GET.get("market") in Market.values else None
    page = Paginator(stock_search(query=query, market=market_filter), 50).get_page(request.GET.get("page"))
    context = {"page": page, "query": query, "market": market_filter or "", "markets": Market.values}
    # htmx swaps only the results table while the user types
    template = "marketdata/_stock_rows.html" if request.headers.get("HX-Request") else "marketdata/market.html"
    return render(request, template, context)
