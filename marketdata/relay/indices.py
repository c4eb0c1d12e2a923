"""Live KOSPI and KOSDAQ computed from the constituents' ticks (docs/architecture.md §7), for the simulator and replays.

    level = last daily close × Σ shares_outstanding × price / Σ shares_outstanding × reference close

Capitalisation-weighted and chained: with every constituent at its reference (previous) close the
index stands at its real last close (MarketIndexDay), and from there it moves as the market value
of its constituents does. The market value is an exact integer (won) kept up to date per tick:
one dict lookup and, when the price changed, one multiply-add — never a sum over 2,700 stocks.
The level is computed only when it is published, at most once per `interval` seconds per index.
"""

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from marketdata.indices import INDEX_DEFINITIONS, INDEX_KIND, index_topic
from marketdata.models import MarketIndex, MarketIndexDay, Stock
from marketdata.relay.base import log_event
from marketdata.relay.ticks import Tick

logger = logging.getLogger(__name__)

_HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class Constituent:
    code: str
    index: str  # KOSPI | KOSDAQ
    shares_outstanding: int
    reference_price: int  # the previous close, whole won


class _Level:
    """One index: its chain base and the running market value of its constituents."""

    __slots__ = ("base_cap", "cap", "changed", "code", "high", "last_close", "low", "open")

    def __init__(self, code: str, last_close: Decimal) -> None:
        self.code = code
        self.last_close = last_close
        self.base_cap = 0  # Σ shares × reference close
        self.cap = 0  # Σ shares × latest price
        self.changed = True  # the first value is published at once
        self.open = self.high = self.low = None

    def level(self) -> Decimal:
        return (self.last_close * self.cap / self.base_cap).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)


def _whole_won(close: object) -> int | None:
    """A tick's close as whole won (ticks from a replay may carry strings or floats); None if unusable."""
    try:
        value = round(Decimal(str(close)))
    except (ArithmeticError, ValueError):  # junk, NaN, ±inf
        return None
    return value if value > 0 else None


class IndexCalculator:
    def __init__(
        self,
        constituents: Iterable[Constituent],
        last_closes: Mapping[str, Decimal],
        *,
        source: str,
        interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.interval = interval
        self._clock = clock
        self._next_at = 0.0
        self._levels = {code: _Level(code, Decimal(close)) for code, close in last_closes.items() if close}
        # code -> [level, shares, latest price]: a list, so a tick updates it in place
        self._members: dict[str, list] = {}
        for stock in constituents:
            level = self._levels.get(stock.index)
            if level is None or stock.shares_outstanding <= 0 or stock.reference_price <= 0:
                continue
            self._members[stock.code] = [level, stock.shares_outstanding, stock.reference_price]
            level.base_cap += stock.shares_outstanding * stock.reference_price
            level.cap = level.base_cap
        for code in [code for code, level in self._levels.items() if not level.base_cap]:
            del self._levels[code]  # no constituent with shares and a close: nothing to compute

    @property
    def codes(self) -> list[str]:
        return sorted(self._levels)

    def __len__(self) -> int:
        return len(self._members)

    def add(self, ticks: Iterable[Tick]) -> None:
        """Fold the constituents' new prices into their index's market value (O(1) per tick)."""
        get = self._members.get
        for code, body, _text in ticks:  # unpacking the tuple is the cheapest way in
            member = get(code)
            if member is None:
                continue
            close = body["close"]
            if type(close) is not int:
                close = _whole_won(close)
                if close is None:
                    continue
            level, shares, last = member
            if close != last:
                level.cap += shares * (close - last)
                level.changed = True
                member[2] = close

    def level(self, code: str) -> Decimal:
        return self._levels[code].level()

    def due(self, dt: str | Callable[[], str]) -> list[Tick]:
        """The indices that moved since they were last published, if `interval` has passed; else nothing.

        `dt` is their exchange-time stamp, or a function that makes it (called only when something is due).
        """
        now = self._clock()
        if now < self._next_at:
            return []
        self._next_at = now + self.interval
        if callable(dt):
            dt = dt()
        ticks = []
        for level in self._levels.values():
            if not level.changed:
                continue
            level.changed = False
            value = level.level()
            if level.open is None:
                level.open = level.high = level.low = value
            level.high, level.low = max(level.high, value), min(level.low, value)
            ticks.append(Tick(level.code, index_body(level, value, dt=dt, source=self.source)))
        return ticks


def _direction(value: Decimal, base: Decimal) -> str:
    return "UP" if value > base else "DOWN" if value < base else "FLAT"


def index_body(level: _Level, value: Decimal, *, dt: str, source: str) -> dict:
    """An index value in the shape of a stock tick (`index:realtime:{code}`, `stock:ticks`)."""
    return {
        "code": level.code,
        "kind": INDEX_KIND,
        "source": source,
        "dt": dt,
        "base": float(level.last_close),
        "close": float(value),
        "open": float(level.open),
        "high": float(level.high),
        "low": float(level.low),
        "changeType": _direction(value, level.last_close),
    }


def load_index_calculator(*, source: str, interval: float) -> IndexCalculator | None:
    """KOSPI and KOSDAQ over the active listings with shares and a reference close, chained from each
    index's last daily close; None (logged) when the history or the constituents are not loaded."""
    last_closes = {}
    for code in INDEX_DEFINITIONS:
        day = MarketIndexDay.objects.filter(index__code=code).order_by("-date").values_list("close", flat=True)[:1]
        if day:
            last_closes[code] = day[0]
    rows = Stock.objects.filter(
        is_active=True, market__in=list(last_closes), shares_outstanding__gt=0, reference_price__gt=0
    ).values_list("code", "market", "shares_outstanding", "reference_price")
    calculator = IndexCalculator(
        (Constituent(code, market, shares, int(reference)) for code, market, shares, reference in rows),
        last_closes,
        source=source,
        interval=interval,
    )
    if not calculator.codes:
        log_event(logger, logging.WARNING, "relay.indices.unavailable", hint="run manage.py load_stocks")
        return None
    log_event(
        logger, logging.INFO, "relay.indices.computed", indices=",".join(calculator.codes), stocks=len(calculator)
    )
    return calculator


def feed_index_topics() -> dict[str, str]:
    """topic -> index code for the feed's index topics, from MarketIndex.feed_code (editable in the admin)."""
    rows = dict(MarketIndex.objects.exclude(feed_code="").values_list("code", "feed_code"))
    feed_codes = rows or {code: definition.feed_code for code, definition in INDEX_DEFINITIONS.items()}
    return {index_topic(feed_code): code for code, feed_code in feed_codes.items()}
