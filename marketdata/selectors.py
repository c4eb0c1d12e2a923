import json
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from kernel.errors import ApplicationError, NotFoundError
from kernel.redis import get_redis
from marketdata.candles import Interval, as_utc, bucket_start, epoch_sql
from marketdata.codes import normalize_stock_code as _normalize_stock_code
from marketdata.models import Candle, Stock
from marketdata.prices import Quote, latest_price, latest_prices, parse_timestamp
from marketdata.relay.keys import HEALTH_KEY, SUBSCRIPTIONS_KEY


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


# --- realtime prices and the relay (Redis; DESIGN.md §5) ---------------------------------


class InvalidStockCode(ApplicationError):
    code = "invalid_stock_code"
    default_message = "A stock code is A followed by six digits or capitals, e.g. A005930."


class PriceNotFound(NotFoundError):
    code = "price_not_found"


class RelayUnavailable(ApplicationError):
    status_code = 503
    code = "relay_unavailable"
    default_message = "The market-data relay is not reporting."


@dataclass(frozen=True)
class RelayHealth:
    record: dict
    age_seconds: float | None  # from the record's updated_at; None when it has none (the key's TTL bounds it)


def normalize_stock_code(code: str) -> str:
    """Upper-cased code, or InvalidStockCode."""
    normalized = _normalize_stock_code(code)
    if normalized is None:
        raise InvalidStockCode(details={"stock_code": code if isinstance(code, str) else None})
    return normalized


def realtime_quote_get(*, code: str) -> Quote:
    """The latest stored price of one code (no database query); PriceNotFound when none is stored."""
    code = normalize_stock_code(code)
    quote = latest_price(code)
    if quote is None:
        raise PriceNotFound(f"No realtime price for {code}.", details={"stock_code": code})
    return quote


def realtime_quotes(*, codes: list[str]) -> dict[str, Quote]:
    """Latest stored prices of many codes in one round trip; codes without a price are absent."""
    return latest_prices(codes)


def realtime_quotes_active() -> list[Quote]:
    """The stored price of every active listing (stock master order), in one MGET."""
    active = Stock.objects.filter(is_active=True).order_by("market_cap_rank", "code")
    codes = list(active.values_list("code", flat=True))
    quotes = latest_prices(codes)
    return [quotes[code] for code in codes if code in quotes]


def _age_seconds(value) -> float | None:
    stamp = parse_timestamp(value)
    return None if stamp is None else (timezone.now() - stamp).total_seconds()


def relay_health_read() -> RelayHealth | None:
    """The relay's heartbeat record as it is, or None when absent or unreadable."""
    payload = get_redis().get(HEALTH_KEY)
    if payload is None:
        return None
    try:
        record = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    return RelayHealth(record=record, age_seconds=_age_seconds(record.get("updated_at")))


def relay_health_get() -> RelayHealth:
    """A heartbeat younger than RELAY_HEALTH_MAX_AGE_SECONDS; RelayUnavailable (503) otherwise."""
    health = relay_health_read()
    if health is None:
        raise RelayUnavailable("The market-data relay has not reported (no heartbeat in Redis).")
    max_age = settings.RELAY_HEALTH_MAX_AGE_SECONDS
    if health.age_seconds is not None and health.age_seconds > max_age:
        raise RelayUnavailable(
            f"The relay's last heartbeat is {health.age_seconds:.0f} s old.",
            details={"health": health.record, "age_seconds": round(health.age_seconds, 1)},
        )
    return health


def relay_subscriptions_list() -> list[str]:
    """The topics the relay keeps subscribed (it resubscribes them after a restart), sorted."""
    return sorted(cast("set[str]", get_redis().smembers(SUBSCRIPTIONS_KEY)))  # decode_responses=True


# --- candles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    time: int  # epoch seconds (UTC) of the bar's first minute
    open: int
    high: int
    low: int
    close: int
    volume: int


def candles_list(*, stock: Stock, interval: Interval, start: datetime, end: datetime) -> list[Bar]:
    """Bars of `interval` that begin in [start, end], aggregated from the 1-minute candles.

    A bar that begins at or before `end` is whole (its later minutes count too), and the
    minute still in progress is included: it is stored as soon as its first tick is.
    Two queries: high/low/volume and the first/last minute per bar grouped in SQL, then
    the open of each first minute and the close of each last minute.
    """
    first = bucket_start(int(start.timestamp()), interval)
    stop = bucket_start(int(end.timestamp()), interval) + interval.seconds
    qn = connection.ops.quote_name
    table = qn(Candle._meta.db_table)
    epoch = epoch_sql(qn("start"))
    bucket = f"({epoch} - (({epoch} + %s) %% %s))"
    sql = (  # identifiers from the model's meta, every value a parameter
        f"SELECT {bucket} AS bucket, MIN({epoch}), MAX({epoch}), MAX({qn('high')}), MIN({qn('low')}), "  # noqa: S608
        f"SUM({qn('volume')}) FROM {table} WHERE {qn('stock_id')} = %s AND {qn('start')} >= %s "
        f"AND {qn('start')} < %s GROUP BY bucket ORDER BY bucket"
    )
    params = [
        interval.offset_seconds,
        interval.seconds,
        stock.pk,
        connection.ops.adapt_datetimefield_value(as_utc(first)),
        connection.ops.adapt_datetimefield_value(as_utc(stop)),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        groups = cursor.fetchall()
    if not groups:
        return []
    edges = {int(row[1]) for row in groups} | {int(row[2]) for row in groups}
    prices = {
        int(minute.timestamp()): (open_, close)
        for minute, open_, close in Candle.objects.filter(stock=stock, start__in=[as_utc(e) for e in edges])
        .order_by()
        .values_list("start", "open", "close")
    }
    return [
        Bar(
            time=int(bucket_epoch),
            open=int(prices[int(first_minute)][0]),
            high=int(Decimal(str(high))),
            low=int(Decimal(str(low))),
            close=int(prices[int(last_minute)][1]),
            volume=int(Decimal(str(volume))),
        )
        for bucket_epoch, first_minute, last_minute, high, low, volume in groups
    ]


# --- the stock master, cached per process -------------------------------------------------------
# Placement and fills need a stock per request; the master changes only through load_stocks and
# the admin, so each process keeps what it read for STOCK_CACHE_SECONDS (a deactivation takes
# effect within that time).
_stock_cache: dict[str | int, tuple[float, Stock]] = {}


def _cached(key: str | int, read) -> Stock:
    now = time.monotonic()
    hit = _stock_cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    stock = read()
    expires = now + settings.STOCK_CACHE_SECONDS
    _stock_cache[stock.code] = _stock_cache[stock.pk] = (expires, stock)
    return stock


def stock_get_cached(*, code: str) -> Stock:
    """`stock_get`, from this process's cache when fresh. Raises StockNotFound."""
    return _cached(code.upper(), lambda: stock_get(code=code))


def stock_by_id_cached(stock_id: int) -> Stock:
    return _cached(stock_id, lambda: Stock.objects.get(pk=stock_id))


def stock_cache_clear() -> None:
    _stock_cache.clear()
