from django.db.models import Q, QuerySet

from marketdata.models import Stock
from stocking.errors import NotFoundError


class StockNotFound(NotFoundError):
    code = "stock_not_found"


def stock_search(*, query: str = "", market: str | None = None, active_only: bool = True) -> QuerySet[Stock]:
    stocks = Stock.objects.all()
    if active_only:
        stocks = stocks.filter(is_active=True)
    if market:
        stocks = stocks.filter(market=market)
    query = query.strip()
    if query:
        # "005930" finds A005930 too: users type the six digits they see in apps.
        code_query = query.upper()
        stocks = stocks.filter(Q(code__icontains=code_query) | Q(name__icontains=query) | Q(name_en__icontains=query))
    return stocks.order_by("market_cap_rank", "code")


def stock_get(*, code: str) -> Stock:
    try:
        return Stock.objects.get(code=code.upper())
    except Stock.DoesNotExist as exc:
        raise StockNotFound(f"No stock with code {code!r}.") from exc
