"""Simulated trades for the demo: a random walk on the KRX tick grid inside the daily band.

Which stocks: every active stock of the stock master, or, when the
subscription set is non-empty, exactly the codes of its topics (so the admin's
subscribe/unsubscribe commands steer the simulator too). Every stock gets one
trade as soon as it joins, so each has a price at once; after that larger
names trade more often: a stock's share of SIMULATOR_TICKS_PER_SECOND falls
with 1/sqrt(market-cap rank). Starting prices: the last tick stored in Redis, else a
plausible price drawn from the seed. With the same seed, stocks and starting
prices the sequence of ticks is identical whatever the batching; only `dt`
(wall-clock time) differs between runs.
"""

import logging
import math
import random
import time
from bisect import bisect
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from marketdata import krx
from marketdata.models import Stock
from marketdata.relay.base import Batch, log_event
from marketdata.relay.ticks import Tick
from marketdata.topics import code_from_topic

logger = logging.getLogger(__name__)

BATCH_INTERVAL_SECONDS = 0.05
_TRADE_VALUE_WON = 3_000_000  # a typical trade's value; sets the share count per tick


@dataclass(frozen=True)
class ListedStock:
    code: str
    rank: int | None = None  # market-cap rank, 1 = largest


@dataclass(frozen=True)
class StartingPrice:
    base: Decimal  # previous close: the centre of the ±30 % band
    price: Decimal


def load_active_stocks() -> list[ListedStock]:
    rows = Stock.objects.filter(is_active=True).order_by("market_cap_rank", "code")
    return [ListedStock(code=code, rank=rank) for code, rank in rows.values_list("code", "market_cap_rank")]


def seeded_price(seed: int, code: str) -> Decimal:
    """A plausible grid price for `code`, the same for the same seed (log-uniform 1,000 to 400,000 won)."""
    draw = random.Random(f"{seed}:{code}").random()  # noqa: S311 - simulation, not security
    price = Decimal(math.exp(math.log(1_000) + draw * (math.log(400_000) - math.log(1_000)))).quantize(Decimal(1))
    return krx.round_to_tick(price, "nearest")


class _Quote:
    __slots__ = (
        "base",
        "buy_volume",
        "cumulative_amount",
        "cumulative_volume",
        "high",
        "lot",
        "low",
        "lower",
        "open",
        "price",
        "sell_volume",
        "upper",
    )

    def __init__(self, start: StartingPrice) -> None:
        self.base = start.base
        self.lower, self.upper = krx.price_limits(start.base)
        self.price = min(max(krx.round_to_tick(start.price, "nearest"), self.lower), self.upper)
        self.open = self.high = self.low = self.price
        self.cumulative_volume = 0
        self.cumulative_amount = 0
        self.buy_volume = self.sell_volume = 0
        self.lot = max(1, _TRADE_VALUE_WON // int(start.base))


class TickGenerator:
    """Deterministic trades: the same seed, codes, ranks and starting prices give the same ticks."""

    def __init__(
        self,
        stocks: Sequence[ListedStock],
        *,
        seed: int,
        starting_prices: Mapping[str, StartingPrice] | None = None,
        codes: Sequence[str] | None = None,
    ) -> None:
        """`codes` defaults to every stock of `stocks`."""
        self.seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not security
        self._ranks = {stock.code: stock.rank for stock in stocks}
        self._quotes: dict[str, _Quote] = {}
        self._codes: list[str] = []
        self._cumulative_weights: list[float] = []
        self.set_codes([stock.code for stock in stocks] if codes is None else codes, starting_prices)

    def unseen(self, codes: Collection[str]) -> list[str]:
        """Codes this generator has no price for yet."""
        return [code for code in codes if code not in self._quotes]

    @property
    def codes(self) -> list[str]:
        return list(self._codes)

    def set_codes(self, codes: Sequence[str], starting_prices: Mapping[str, StartingPrice] | None = None) -> None:
        """Tick for these codes from now on; a stock seen before keeps its state."""
        starting_prices = starting_prices or {}
        # Larger names first, then codes outside the stock master.
        ordered = sorted(dict.fromkeys(codes), key=lambda code: (self._ranks.get(code) or math.inf, code))
        for code in ordered:
            if code not in self._quotes:
                start = starting_prices.get(code)
                if start is None:
                    price = seeded_price(self.seed, code)
                    start = StartingPrice(base=price, price=price)
                self._quotes[code] = _Quote(start)
        total, cumulative = 0.0, []
        for position, _code in enumerate(ordered, start=1):
            total += 1 / math.sqrt(position)
            cumulative.append(total)
        self._codes, self._cumulative_weights = ordered, cumulative

    def next_tick(self, dt: str) -> dict:
        """A trade in a stock drawn by weight (larger names more often)."""
        codes = self._codes
        index = bisect(self._cumulative_weights, self._rng.random() * self._cumulative_weights[-1])
        return self.trade(codes[min(index, len(codes) - 1)], dt)

    def trade(self, code: str, dt: str) -> dict:
        """A trade in `code` (one of the generator's codes)."""
        rng = self._rng
        quote = self._quotes[code]
        # Drift back toward the base so the walk spends most of its time inside the band.
        deviation = float(quote.price / quote.base) - 1
        up = rng.random() < min(0.8, max(0.2, 0.5 - 2 * deviation))
        draw = rng.random()
        steps = 0 if draw < 0.35 else 1 if draw < 0.85 else 2
        price = krx.tick_up(quote.price, steps) if up else krx.tick_down(quote.price, steps)
        price = min(max(price, quote.lower), quote.upper)
        volume = 1 + int(rng.expovariate(1.0) * quote.lot)
        buy = price > quote.price or (price == quote.price and rng.random() < 0.5)
        quote.price = price
        quote.high = max(quote.high, price)
        quote.low = min(quote.low, price)
        quote.cumulative_volume += volume
        quote.cumulative_amount += volume * int(price)
        if buy:
            quote.buy_volume += volume
        else:
            quote.sell_volume += volume
        strength = round(quote.buy_volume / quote.sell_volume * 100, 2) if quote.sell_volume else 0.0
        return {
            "code": code,
            "dt": dt,
            "session": "REGULAR",
            "currency": "KRW",
            "base": int(quote.base),
            "close": int(price),
            "open": int(quote.open),
            "high": int(quote.high),
            "low": int(quote.low),
            "volume": volume,
            "tradeType": "BUY" if buy else "SELL",
            "changeType": "UP" if price > quote.base else "DOWN" if price < quote.base else "FLAT",
            "tradingStrength": strength,
            "cumulativeVolume": quote.cumulative_volume,
            "cumulativeAmount": quote.cumulative_amount,
        }


def utc_dt(now: datetime | None = None) -> str:
    """Exchange-time stamp in the feed's format: ISO 8601 UTC with milliseconds and Z."""
    return (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SimulatorSource:
    name = "simulator"

    def __init__(
        self,
        *,
        seed: int,
        ticks_per_second: float = 300.0,
        batch_max: int = 500,
        stocks_loader: Callable[[], list[ListedStock]] = load_active_stocks,
        starting_prices: Callable[[list[str]], Mapping[str, StartingPrice]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.seed = seed
        self.ticks_per_second = ticks_per_second
        self.batch_max = batch_max
        self._stocks_loader = stocks_loader
        self._starting_prices = starting_prices or (lambda codes: {})
        self._clock = clock
        self._sleep = sleep
        self._generator: TickGenerator | None = None
        self._opening: deque[str] = deque()  # stocks that still need their first trade
        self._stocks: list[ListedStock] = []
        self._topics: set[str] = set()
        self._started_at = 0.0
        self._emitted = 0
        self._next_batch_at = 0.0

    @property
    def codes(self) -> list[str]:
        return self._generator.codes if self._generator else []

    def _wanted_codes(self) -> list[str]:
        if self._topics:
            return [code for code in map(code_from_topic, self._topics) if code]
        return [stock.code for stock in self._stocks]

    def _retarget(self) -> None:
        if self._generator is None:
            return
        codes = self._wanted_codes()
        unseen = self._generator.unseen(codes)
        self._generator.set_codes(codes, self._starting_prices(unseen) if unseen else None)
        self._opening.extend(unseen)

    def connect(self, topics: Collection[str]) -> None:
        if self._generator is None:
            self._stocks = self._stocks_loader()
            self._topics = set(topics)
            codes = self._wanted_codes()
            self._generator = TickGenerator(
                self._stocks, seed=self.seed, starting_prices=self._starting_prices(codes), codes=codes
            )
            self._opening.extend(self._generator.codes)
            if not codes:
                log_event(logger, logging.WARNING, "relay.simulator.no_stocks", hint="run manage.py load_stocks")
            log_event(logger, logging.INFO, "relay.simulator.started", seed=self.seed, stocks=len(codes))
        self._started_at = self._clock()
        self._emitted = 0
        self._next_batch_at = self._started_at

    def subscribe(self, topic: str) -> str | None:
        self._topics.add(topic)
        self._retarget()
        return None

    def unsubscribe(self, topic: str) -> str | None:
        self._topics.discard(topic)
        self._retarget()
        return None

    def read(self, timeout: float) -> Batch:
        generator = self._generator
        if self._opening and generator is not None:
            wanted = set(generator.codes)
            count = min(len(self._opening), self.batch_max)
            dt = utc_dt()
            openings = (self._opening.popleft() for _ in range(count))
            return Batch(ticks=[Tick(code, generator.trade(code, dt)) for code in openings if code in wanted])
        now = self._clock()
        if now < self._next_batch_at:
            self._sleep(min(timeout, self._next_batch_at - now))
            now = self._clock()
            if now < self._next_batch_at:
                return Batch()
        self._next_batch_at = now + BATCH_INTERVAL_SECONDS
        rate = self.ticks_per_second
        due = int((now - self._started_at) * rate) - self._emitted
        if due > 2 * rate:  # the process was stopped for a while: skip the backlog, don't burst
            self._emitted += due - int(rate)
            due = int(rate)
        due = min(due, self.batch_max)
        if due <= 0 or generator is None or not generator.codes:
            return Batch()
        self._emitted += due
        dt = utc_dt()
        return Batch(ticks=[Tick(body["code"], body) for body in (generator.next_tick(dt) for _ in range(due))])

    def close(self, *, graceful: bool) -> None:
        """Nothing to release; the walk continues where it was if the relay connects again."""
