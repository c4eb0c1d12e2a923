"""1-minute candles built from ticks (docs/architecture.md §7), and the intervals they are aggregated into on read.

The relay folds its batches into `MinuteBars` and writes them about once a second;
`manage.py run_candles` can do the same from `stock:ticks` in a process of its own.
A tick's minute comes from its exchange time `dt` (falling back to `received_at`),
so a late batch still lands in the right minute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.utils import timezone

from marketdata.models import Candle, Stock
from marketdata.prices import Trade, trade_from_tick

logger = logging.getLogger(__name__)

# Korea has had no daylight saving time since 1988: a day bucket is a fixed +09:00 offset.
KST_OFFSET_SECONDS = 9 * 3600


@dataclass(frozen=True)
class Interval:
    name: str
    seconds: int
    offset_seconds: int = 0  # buckets start where (epoch + offset) is a multiple of seconds


INTERVALS = {
    "1m": Interval("1m", 60),
    "5m": Interval("5m", 300),
    "1h": Interval("1h", 3600),
    "1d": Interval("1d", 86400, offset_seconds=KST_OFFSET_SECONDS),  # Asia/Seoul calendar days
}


def bucket_start(epoch: int, interval: Interval) -> int:
    return epoch - (epoch + interval.offset_seconds) % interval.seconds


_MAX_PRICE = Decimal(10) ** 18  # the candle columns' bound


def _parse_trade(tick) -> Trade | None:
    """A tick as a candle trade: whole-won price, a time to bucket it by, volume 0 when unknown."""
    trade = trade_from_tick(tick)
    if trade is None or trade.at is None:
        return None
    price = trade.price.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if price <= 0 or price >= _MAX_PRICE:
        return None
    return Trade(code=trade.code, price=price, volume=trade.volume or 0, at=trade.at)


@dataclass
class _Bar:
    stock_id: int  # known when written
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int


_ROWS_PER_STATEMENT = 200
MAX_UNWRITTEN_BARS = 200_000  # about an hour of every listing's minutes


def _upsert_sql(rows: int) -> str:
    qn = connection.ops.quote_name
    table = qn(Candle._meta.db_table)
    columns = ", ".join(qn(c) for c in ("stock_id", "start", "open", "high", "low", "close", "volume"))
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * rows)
    high, low, close, volume = qn("high"), qn("low"), qn("close"), qn("volume")
    if connection.vendor == "mysql":
        # MariaDB/MySQL: the existing row's columns by name, the new row's through VALUES().
        return (  # identifiers from the model's meta, every value a parameter
            f"INSERT INTO {table} ({columns}) VALUES {values} ON DUPLICATE KEY UPDATE "  # noqa: S608
            f"{high} = GREATEST({high}, VALUES({high})), {low} = LEAST({low}, VALUES({low})), "
            f"{close} = VALUES({close}), {volume} = {volume} + VALUES({volume})"
        )
    greatest, least = ("MAX", "MIN") if connection.vendor == "sqlite" else ("GREATEST", "LEAST")
    return (
        f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({qn('stock_id')}, {qn('start')}) DO UPDATE SET "
        f"{high} = {greatest}({table}.{high}, excluded.{high}), {low} = {least}({table}.{low}, excluded.{low}), "
        f"{close} = excluded.{close}, {volume} = {table}.{volume} + excluded.{volume}"
    )


class MinuteBars:
    """1-minute bars folded in memory from batches of ticks, written by `write` with one upsert per 200.

    Folding before writing lets a busy writer (the relay, at thousands of ticks a second)
    touch each candle once per write instead of once per batch. A candle that exists keeps
    its open; high/low widen, close becomes the last price (by `dt`), volume adds the ticks'
    trade `volume`. Malformed ticks and codes outside the stock master are skipped, never fatal.
    """

    def __init__(self) -> None:
        self._bars: dict[tuple[str, datetime], _Bar] = {}
        self._stock_ids: dict[str, int] = {}  # a code's id never changes

    def __len__(self) -> int:
        return len(self._bars)

    def add(self, ticks: list[dict]) -> None:
        trades = [trade for trade in map(_parse_trade, ticks) if trade is not None]
        trades.sort(key=lambda trade: trade.at)  # stable: equal times keep feed order
        bars = self._bars
        for trade in trades:
            minute = trade.at.astimezone(UTC).replace(second=0, microsecond=0)
            bar = bars.get((trade.code, minute))
            if bar is None:
                price = trade.price
                bar = bars[(trade.code, minute)] = _Bar(0, minute, price, price, price, price, 0)
            bar.high = max(bar.high, trade.price)
            bar.low = min(bar.low, trade.price)
            bar.close = trade.price
            bar.volume += trade.volume

    def write(self) -> int:
        """Upsert the folded bars in one transaction and forget them; returns how many were written.

        Rows go in (stock, minute) order, so concurrent writers lock in the same order.
        """
        bars, self._bars = self._bars, {}
        if not bars:
            return 0
        unknown = {code for code, _ in bars} - self._stock_ids.keys()
        if unknown:
            self._stock_ids.update(Stock.objects.filter(code__in=unknown).values_list("code", "id"))
        rows = []
        for (code, _), bar in bars.items():
            if code in self._stock_ids:
                bar.stock_id = self._stock_ids[code]
                rows.append(bar)
        rows.sort(key=lambda bar: (bar.stock_id, bar.start))
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for first in range(0, len(rows), _ROWS_PER_STATEMENT):
                    chunk = rows[first : first + _ROWS_PER_STATEMENT]
                    params: list = []
                    for bar in chunk:
                        start = connection.ops.adapt_datetimefield_value(bar.start)
                        params += [bar.stock_id, start, bar.open, bar.high, bar.low, bar.close, bar.volume]
                    cursor.execute(_upsert_sql(len(chunk)), params)
        except Exception:
            # One transaction: nothing was written, so the bars wait for the next write (bounded,
            # should the database stay away for hours).
            if len(bars) <= MAX_UNWRITTEN_BARS:
                self._bars = bars
            raise
        return len(rows)


def candles_record_ticks(ticks: list[dict]) -> int:
    """Fold one batch of ticks into their 1-minute candles now; returns how many candles were written."""
    bars = MinuteBars()
    bars.add(ticks)
    return bars.write()


# --- reading ---------------------------------------------------------------------------


def epoch_sql(column: str) -> str:
    """SQL for a DateTimeField column as integer epoch seconds, per database."""
    if connection.vendor == "sqlite":
        return f"CAST(strftime('%%s', {column}) AS INTEGER)"
    if connection.vendor == "mysql":
        # Stored as UTC; TIMESTAMPDIFF does not depend on the session time zone (UNIX_TIMESTAMP does).
        return f"TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', {column})"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"


def parse_moment(value: str) -> datetime | None:
    """Query-string time: epoch seconds, or ISO 8601 (naive means the site's time zone, Asia/Seoul)."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        try:
            return datetime.fromtimestamp(int(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else timezone.make_aware(moment)


def as_utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
