import heapq
import json
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.errors import ApplicationError, NotFoundError
from kernel.redis import get_redis
from marketdata.candles import Interval, as_utc, bucket_start, epoch_sql
from marketdata.codes import normalize_stock_code as _normalize_stock_code
from marketdata.indices import INDEX_DEFINITIONS, IndexDefinition, latest_index_values
from marketdata.models import Candle, MarketIndex, MarketIndexDay, Stock
from marketdata.prices import REALTIME_KEY, Quote, latest_price, latest_prices, parse_quote, parse_timestamp
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


# --- realtime prices and the relay (Redis; docs/architecture.md §7) ---------------------------------


class InvalidStockCode(ApplicationError):
    code = "invalid_stock_code"
    default_message = _("A stock code is A followed by six digits or capitals, e.g. A005930.")


class PriceNotFound(NotFoundError):
    code = "price_not_found"


class RelayUnavailable(ApplicationError):
    status_code = 503
    code = "relay_unavailable"
    default_message = _("The market-data relay is not reporting.")


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


# --- market indices (docs/architecture.md §7, §9) ----------------------------------------------------------

INDEX_CLOSE_TIME = "15:30:00+09:00"  # KRX's regular session ends then: the moment of a daily close
INDEX_HISTORY_SOURCE = "krx_close"  # a value read from the shipped daily history, not a live one


class IndexNotFound(NotFoundError):
    code = "index_not_found"


@dataclass(frozen=True)
class IndexValue:
    code: str
    name: str
    name_en: str
    value: Decimal
    change: Decimal | None
    change_pct: Decimal | None
    dt: str | None
    is_stale: bool
    source: str


def market_index_get(*, code: str) -> MarketIndex:
    try:
        return MarketIndex.objects.get(code=code.upper())
    except MarketIndex.DoesNotExist as exc:
        raise IndexNotFound(f"No index {code[:20]!r}; use KOSPI or KOSDAQ.", details={"code": code[:20]}) from exc


def _index_from_history(definition: IndexDefinition) -> IndexValue | None:
    last_two = list(
        MarketIndexDay.objects.filter(index__code=definition.code).order_by("-date").values_list("date", "close")[:2]
    )
    if not last_two:
        return None
    day, close = last_two[0]
    previous = last_two[1][1] if len(last_two) > 1 else None
    change = None if previous is None else close - previous
    return IndexValue(
        code=definition.code,
        name=definition.name,
        name_en=definition.name_en,
        value=close,
        change=change,
        change_pct=None if change is None or not previous else (change / previous * 100).quantize(Decimal("0.01")),
        dt=f"{day.isoformat()}T{INDEX_CLOSE_TIME}",
        is_stale=True,
        source=INDEX_HISTORY_SOURCE,
    )


def market_indices_current() -> list[IndexValue]:
    """KOSPI and KOSDAQ now: the live value from Redis (`index:realtime:{code}`, one MGET), else the
    last daily close of the shipped history marked stale; an index with neither is left out."""
    live = latest_index_values(INDEX_DEFINITIONS)
    values = []
    for code, definition in INDEX_DEFINITIONS.items():
        quote = live.get(code)
        if quote is None:
            fallback = _index_from_history(definition)
            if fallback is not None:
                values.append(fallback)
            continue
        source = quote.raw.get("source")
        values.append(
            IndexValue(
                code=code,
                name=definition.name,
                name_en=definition.name_en,
                value=quote.price.quantize(Decimal("0.01")),
                change=None if quote.change is None else quote.change.quantize(Decimal("0.01")),
                change_pct=quote.change_pct,
                dt=quote.dt if isinstance(quote.dt, str) else quote.received_at.isoformat(),
                is_stale=not quote.is_fresh(),
                source=source if isinstance(source, str) and source else settings.MARKETDATA_SOURCE,
            )
        )
    return values


def market_index_history(*, index: MarketIndex, start: date | None = None, end: date | None = None) -> list[dict]:
    """The index's daily bars with start <= date <= end (either bound optional), oldest first."""
    days = MarketIndexDay.objects.filter(index=index)
    if start is not None:
        days = days.filter(date__gte=start)
    if end is not None:
        days = days.filter(date__lte=end)
    return [dict(day) for day in days.order_by("date").values("date", "open", "high", "low", "close", "volume")]


# --- movers: ranked from the latest prices in Redis (docs/architecture.md §9) ---------------------------------
# At most one MGET of the active stocks' price keys per request, never a scan. The list of active
# stocks (and their keys) is kept per process for STOCK_CACHE_SECONDS, like the stock cache above;
# a ranking (up to 100 movers per kind and market) for MOVERS_CACHE_SECONDS (1 s by default), so a
# process reads the ~2,700 prices at most once a second per kind and market however many ask.

MOVER_KINDS = ("gainers", "losers", "volume")
MOVERS_MAX = 100


@dataclass(frozen=True)
class Listing:
    code: str
    name: str
    name_en: str
    market: str


@dataclass(frozen=True)
class Mover:
    stock: Listing
    quote: Quote


_listings_cache: dict[str | None, tuple[float, list[Listing], list[str]]] = {}
_movers_cache: dict[tuple[str, str | None], tuple[float, list[Mover]]] = {}


def _active_listings(market: str | None) -> tuple[list[Listing], list[str]]:
    now = time.monotonic()
    hit = _listings_cache.get(market)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    stocks = Stock.objects.filter(is_active=True).order_by("market_cap_rank", "code")
    if market:
        stocks = stocks.filter(market=market)
    listings = [Listing(*row) for row in stocks.values_list("code", "name", "name_en", "market")]
    keys = [REALTIME_KEY.format(code=listing.code) for listing in listings]
    _listings_cache[market] = (now + settings.STOCK_CACHE_SECONDS, listings, keys)
    return listings, keys


def active_listings_cache_clear() -> None:
    """Forget the active list and the rankings (tests; after load_stocks in the same process)."""
    _listings_cache.clear()
    _movers_cache.clear()


def _number(value) -> float | None:
    kind = type(value)
    if kind is int or kind is float:
        return value if value == value else None  # NaN is not a price
    if kind is str:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def market_movers(*, kind: str, market: str | None = None, limit: int = 10) -> list[Mover]:
    """The active stocks that rose most (gainers), fell most (losers) or traded most (volume) today,
    at most `limit` (≤ 100).

    Change is the latest price against the tick's base (the previous close); gainers only include
    stocks that are up, losers only those down. Ties keep market-cap order. Stocks without a usable
    stored price are left out. At most one Redis MGET: none while this process's ranking for the
    kind and market is younger than MOVERS_CACHE_SECONDS.
    """
    if kind not in MOVER_KINDS or not 1 <= limit <= MOVERS_MAX:
        raise ValueError((kind, limit))
    now = time.monotonic()
    hit = _movers_cache.get((kind, market))
    if hit is not None and hit[0] > now:
        return hit[1][:limit]
    movers = _movers_rank(kind, market)
    if settings.MOVERS_CACHE_SECONDS > 0:
        _movers_cache[(kind, market)] = (now + settings.MOVERS_CACHE_SECONDS, movers)
    return movers[:limit]


def _movers_rank(kind: str, market: str | None) -> list[Mover]:
    """The top MOVERS_MAX of `kind` from one MGET of the active stocks' prices."""
    listings, keys = _active_listings(market)
    if not keys:
        return []
    payloads = get_redis().mget(keys)
    ranked: list[tuple[float, int]] = []  # (sort key, position in market-cap order)
    loads = json.loads
    for position, payload in enumerate(payloads):
        if payload is None:
            continue
        try:
            tick = loads(payload)
            close = _number(tick["close"])
            if kind == "volume":
                measure = _number(tick.get("cumulativeVolume", tick.get("volume")))
            else:
                base = _number(tick.get("base"))
                measure = None if not base or close is None else (close - base) / base
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        if close is None or close <= 0 or measure is None:
            continue
        if kind == "gainers" and measure > 0:
            ranked.append((-measure, position))
        elif kind == "losers" and measure < 0:
            ranked.append((measure, position))
        elif kind == "volume" and measure > 0:
            ranked.append((-measure, position))
    movers = []
    for _measure, position in heapq.nsmallest(MOVERS_MAX, ranked):
        quote = parse_quote(listings[position].code, cast(str | None, payloads[position]))  # decoded by the client
        if quote is not None:
            movers.append(Mover(stock=listings[position], quote=quote))
    return movers
