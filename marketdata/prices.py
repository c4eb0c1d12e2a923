"""Reader of the price store the relay writes (docs/architecture.md §7).

`stock:realtime:{code}` holds the latest tick as JSON (the feed's fields plus
`received_at`, server time, ISO 8601 or epoch seconds).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone

from kernel.redis import get_redis
from marketdata.codes import is_stock_code

logger = logging.getLogger(__name__)

REALTIME_KEY = "stock:realtime:{code}"
# An index value on `stock:ticks` carries "kind": "index" (code KOSPI | KOSDAQ); stock ticks carry no kind.
INDEX_KIND = "index"


@dataclass(frozen=True)
class Quote:
    code: str
    price: Decimal
    base: Decimal | None  # previous close; the day's change is measured from it
    volume: int | None
    dt: str | None  # exchange time as the feed sent it
    received_at: datetime
    raw: dict

    @property
    def change(self) -> Decimal | None:
        return None if self.base is None else self.price - self.base

    @property
    def change_pct(self) -> Decimal | None:
        if not self.base:
            return None
        return ((self.price - self.base) / self.base * 100).quantize(Decimal("0.01"))

    @property
    def age_seconds(self) -> float:
        return (timezone.now() - self.received_at).total_seconds()

    def is_fresh(self, max_age_seconds: int | None = None) -> bool:
        limit = settings.PRICE_STALE_SECONDS if max_age_seconds is None else max_age_seconds
        return self.age_seconds <= limit


def parse_decimal(value) -> Decimal | None:
    """A number from a feed or store as Decimal; None for anything unusable (bools, junk, NaN, ±inf)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_timestamp(value) -> datetime | None:
    """An ISO 8601 string (naive means UTC) or epoch seconds as an aware datetime; None if unusable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_quote(code: str, payload: str | None) -> Quote | None:
    """A stored tick -> Quote; None (and a log line) for anything unusable."""
    if payload is None:
        return None
    try:
        tick = json.loads(payload)
    except ValueError:
        logger.warning("price store: unreadable JSON for %s", code)
        return None
    if not isinstance(tick, dict):
        return None
    price = parse_decimal(tick.get("close"))
    received_at = parse_timestamp(tick.get("received_at"))
    if price is None or price <= 0 or received_at is None:
        logger.warning("price store: tick for %s lacks close or received_at", code)
        return None
    volume = tick.get("cumulativeVolume", tick.get("volume"))
    return Quote(
        code=code,
        price=price,
        base=parse_decimal(tick.get("base")),
        volume=volume if isinstance(volume, int) else None,
        dt=tick.get("dt"),
        received_at=received_at,
        raw=tick,
    )


def is_index_value(entry: dict) -> bool:
    """An entry of `stock:ticks` that is an index value (KOSPI, KOSDAQ), not a trade in a stock."""
    return entry.get("kind") == INDEX_KIND


def ticks_from_message(payload, *, indices: bool = False) -> tuple[list[dict], int]:
    """A `stock:ticks` message (a relay batch: a list of tick objects, or one tick object) ->
    (the tick objects, how many entries were something else); unreadable JSON counts as one.

    Index values ("kind": "index") are left out unless `indices` is true: they are not trades,
    and matching and candles must never see them; they are not counted as malformed either.
    """
    try:
        decoded = json.loads(payload)
    except (TypeError, ValueError):
        return [], 1
    entries = decoded if isinstance(decoded, list) else [decoded]
    ticks = [entry for entry in entries if isinstance(entry, dict)]
    malformed = len(entries) - len(ticks)
    if not indices:
        ticks = [entry for entry in ticks if entry.get("kind") != INDEX_KIND]
    return ticks, malformed


@dataclass(frozen=True)
class Trade:
    """The fields of one tick that matching and candles act on."""

    code: str
    price: Decimal  # the tick's close: finite and > 0
    volume: int | None  # the tick's own trade volume; None when absent or unusable
    at: datetime | None  # exchange time `dt`, else the relay's `received_at`


def trade_from_tick(tick) -> Trade | None:
    """One tick object (an entry of `ticks_from_message`) -> Trade; None when it is not a usable tick."""
    if not isinstance(tick, dict) or not is_stock_code(tick.get("code")) or is_index_value(tick):
        return None
    price = parse_decimal(tick.get("close"))
    if price is None or price <= 0:
        return None
    volume = tick.get("volume")
    if not isinstance(volume, int) or isinstance(volume, bool) or volume < 0:
        volume = None
    at = parse_timestamp(tick.get("dt")) or parse_timestamp(tick.get("received_at"))
    return Trade(code=tick["code"], price=price, volume=volume, at=at)


def latest_price(code: str) -> Quote | None:
    return parse_quote(code, get_redis().get(REALTIME_KEY.format(code=code)))


def latest_prices(codes) -> dict[str, Quote]:
    """Quotes for many codes in one round trip (MGET). Codes without a usable tick are absent."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    payloads = get_redis().mget([REALTIME_KEY.format(code=code) for code in codes])
    quotes = (parse_quote(code, payload) for code, payload in zip(codes, payloads, strict=True))
    return {quote.code: quote for quote in quotes if quote is not None}


def store_tick(tick: dict, *, received_at: datetime | None = None, ttl_seconds: int = 3600) -> None:
    """Write one tick the way the relay does (used by the demo seeding and tests)."""
    stamped = {**tick, "received_at": (received_at or timezone.now()).isoformat()}
    get_redis().set(REALTIME_KEY.format(code=tick["code"]), json.dumps(stamped), ex=ttl_seconds)
