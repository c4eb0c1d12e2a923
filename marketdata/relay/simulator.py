"""Simulated trades for the demo: real reference closes moving like real stocks, on the KRX tick grid.

Which stocks: every active stock of the stock master, or, when the
subscription set is non-empty, exactly the codes of its topics (so the admin's
subscribe/unsubscribe commands steer the simulator too). Every stock gets one
trade as soon as it joins, so each has a price at once; after that a tick
picks a stock in proportion to its activity: larger names trade more often
(weight 1/sqrt(market-cap rank)).

How a price moves: each stock has a hidden fair value that follows a
geometric random walk with a daily volatility by size (market-cap rank
1-100 about 1.6-2.4 %/day, 101-500 about 2.6-3.4 %/day, the rest
3.5-5 %/day), rare jumps (about one a month per stock, twice the daily
volatility) and a weak pull back to the reference close; a buy trades at the
grid price above the fair value, a sell at the one below, always inside the
±30 % band around the reference close. The per-tick step is scaled by the
ticks the stock expects per simulated day, so the daily volatility holds at
any tick rate.

Time: a simulated day lasts SIMULATOR_DAY_SECONDS (one KRX session,
6.5 h, by default) and starts when the simulator starts; ticks arrive at
SIMULATOR_TICKS_PER_SECOND on average over the day, more at the open and the
close than at midday (a U-shaped profile, `activity_at`).

Starting prices: the stock's reference close (the previous KRX close); a
tick stored in Redis by an earlier run is continued only when it was measured
from that same reference. A code with no reference close starts from its
stored tick, else from a plausible price drawn from the seed. With the same
seed, stocks and starting prices the sequence of ticks is identical whatever
the batching; only `dt` (wall-clock time) differs between runs.
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
SESSION_SECONDS = 23_400  # 09:00-15:30 KST
DEFAULT_TICKS_PER_SECOND = 300.0
_TRADE_VALUE_WON = 3_000_000  # a typical trade's value; sets the share count per tick

# Daily volatility by size: (largest market-cap rank of the bucket, lowest and highest %/day).
VOLATILITY_BUCKETS: tuple[tuple[float, float, float], ...] = (
    (100, 1.6, 2.4),
    (500, 2.6, 3.4),
    (math.inf, 3.5, 5.0),
)
_JUMPS_PER_DAY = 0.05  # about one a month per stock
_JUMP_SIZE = 2.0  # in daily volatilities
_DIFFUSION_SHARE = 1 - _JUMPS_PER_DAY * _JUMP_SIZE**2  # the jumps' variance comes out of the daily budget
_REVERSION_PER_DAY = 0.05  # pull of the fair value back to the reference close (a half-life of ~14 days)
# U-shaped intraday activity over the day's fraction u: 0.4 + 1.8 (2u - 1)^2, mean 1 (2.2 at open and close).
_ACTIVITY_FLOOR, _ACTIVITY_CURVE = 0.4, 1.8

# The KRX grid in whole won (marketdata.krx is the reference; this is its integer form for the hot path).
_GRID = tuple((int(bound), int(tick)) for bound, tick in krx._TICK_TABLE)
_TOP_TICK = int(krx._TOP_TICK)


def activity_at(fraction: float) -> float:
    """Trading activity at this fraction of the simulated day, relative to the day's average."""
    x = 2 * fraction - 1
    return _ACTIVITY_FLOOR + _ACTIVITY_CURVE * x * x


def cumulative_activity(days: float) -> float:
    """Integral of `activity_at` over `days` simulated days from an open (whole days count 1 each)."""
    whole = math.floor(days)
    x = 2 * (days - whole) - 1
    return whole + _ACTIVITY_FLOOR * (days - whole) + _ACTIVITY_CURVE * (x**3 + 1) / 6


def daily_volatility_range(rank: int | None) -> tuple[float, float]:
    """(lowest, highest) daily volatility in % for a stock of this market-cap rank (None: smallest)."""
    for largest_rank, low, high in VOLATILITY_BUCKETS:
        if (rank if rank is not None else math.inf) <= largest_rank:
            return low, high
    raise AssertionError("the last bucket is unbounded")


def _tick_of(price: float) -> int:
    for bound, tick in _GRID:
        if price < bound:
            return tick
    return _TOP_TICK


def grid_price(fair: float, *, up: bool) -> int:
    """The grid price just above (a buy lifts the offer) or just below (a sell hits the bid) `fair`."""
    tick = _tick_of(fair)
    steps = math.ceil(fair / tick) if up else math.floor(fair / tick)
    return max(1, steps * tick)


@dataclass(frozen=True)
class ListedStock:
    code: str
    rank: int | None = None  # market-cap rank, 1 = largest
    reference_price: Decimal | None = None  # the previous close; the simulated day starts there
    market: str = ""
    shares_outstanding: int = 0


@dataclass(frozen=True)
class StartingPrice:
    base: Decimal  # previous close: the centre of the ±30 % band
    price: Decimal


def load_active_stocks() -> list[ListedStock]:
    rows = Stock.objects.filter(is_active=True).order_by("market_cap_rank", "code")
    fields = ("code", "market_cap_rank", "reference_price", "market", "shares_outstanding")
    return [
        ListedStock(code=code, rank=rank, reference_price=reference, market=market, shares_outstanding=shares)
        for code, rank, reference, market, shares in rows.values_list(*fields)
    ]


def seeded_price(seed: int, code: str) -> Decimal:
    """A plausible grid price for `code`, the same for the same seed (log-uniform 1,000 to 400,000 won)."""
    draw = random.Random(f"{seed}:{code}").random()  # noqa: S311 - simulation, not security
    price = Decimal(math.exp(math.log(1_000) + draw * (math.log(400_000) - math.log(1_000)))).quantize(Decimal(1))
    return krx.round_to_tick(price, "nearest")


def starting_price(stock: ListedStock | None, stored: StartingPrice | None, seed: int, code: str) -> StartingPrice:
    """Where a stock starts: its reference close (continuing a stored tick measured from it), else the
    stored tick, else a seeded price."""
    reference = stock.reference_price if stock is not None else None
    if reference is not None and reference >= krx.MIN_PRICE:
        base = krx.round_to_tick(reference, "nearest")
        lower, upper = krx.price_limits(base)
        if stored is not None and stored.base == base and lower <= stored.price <= upper:
            return StartingPrice(base=base, price=stored.price)
        return StartingPrice(base=base, price=base)
    if stored is not None:
        return stored
    price = seeded_price(seed, code)
    return StartingPrice(base=price, price=price)


class _Quote:
    __slots__ = (
        "base",
        "buy_volume",
        "cumulative_amount",
        "cumulative_volume",
        "daily_volatility",
        "fair",
        "high",
        "jump_chance",
        "log_base",
        "lot",
        "low",
        "lower",
        "open",
        "price",
        "reversion",
        "sell_volume",
        "step",
        "upper",
    )

    def __init__(self, start: StartingPrice, daily_volatility: float) -> None:
        self.base = int(start.base)
        lower, upper = krx.price_limits(start.base)
        self.lower, self.upper = int(lower), int(upper)
        self.price = min(max(int(krx.round_to_tick(start.price, "nearest")), self.lower), self.upper)
        self.fair = float(self.price)
        self.log_base = math.log(self.base)
        self.daily_volatility = daily_volatility  # a fraction: 0.02 = 2 %/day
        self.open = self.high = self.low = self.price
        self.cumulative_volume = 0
        self.cumulative_amount = 0
        self.buy_volume = self.sell_volume = 0
        self.lot = max(1, _TRADE_VALUE_WON // self.base)
        self.step = self.jump_chance = self.reversion = 0.0

    def pace(self, ticks_per_day: float) -> None:
        """Scale the per-tick moves to the number of ticks this stock expects per simulated day."""
        ticks_per_day = max(ticks_per_day, 1.0)
        self.step = self.daily_volatility * math.sqrt(_DIFFUSION_SHARE / ticks_per_day)
        self.jump_chance = _JUMPS_PER_DAY / ticks_per_day
        self.reversion = _REVERSION_PER_DAY / ticks_per_day


class TickGenerator:
    """Deterministic trades: the same seed, stocks and starting prices give the same ticks."""

    def __init__(
        self,
        stocks: Sequence[ListedStock],
        *,
        seed: int,
        starting_prices: Mapping[str, StartingPrice] | None = None,
        codes: Sequence[str] | None = None,
        ticks_per_day: float = DEFAULT_TICKS_PER_SECOND * SESSION_SECONDS,
    ) -> None:
        """`codes` defaults to every stock of `stocks`; `ticks_per_day` is the whole market's."""
        self.seed = seed
        self.ticks_per_day = ticks_per_day
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not security
        self._stocks = {stock.code: stock for stock in stocks}
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

    def daily_volatility(self, code: str) -> float:
        """The stock's daily volatility as a fraction, drawn from its size bucket by the seed."""
        stock = self._stocks.get(code)
        low, high = daily_volatility_range(stock.rank if stock is not None else None)
        draw = random.Random(f"{self.seed}:volatility:{code}").random()  # noqa: S311 - simulation
        return (low + draw * (high - low)) / 100

    def _rank(self, code: str) -> float:
        stock = self._stocks.get(code)
        return stock.rank if stock is not None and stock.rank is not None else math.inf

    def set_codes(self, codes: Sequence[str], starting_prices: Mapping[str, StartingPrice] | None = None) -> None:
        """Tick for these codes from now on; a stock seen before keeps its state."""
        starting_prices = starting_prices or {}
        # Larger names first, then codes outside the stock master.
        ordered = sorted(dict.fromkeys(codes), key=lambda code: (self._rank(code), code))
        for code in ordered:
            if code not in self._quotes:
                start = starting_price(self._stocks.get(code), starting_prices.get(code), self.seed, code)
                self._quotes[code] = _Quote(start, self.daily_volatility(code))
        total, cumulative = 0.0, []
        for position, _code in enumerate(ordered, start=1):
            total += 1 / math.sqrt(position)
            cumulative.append(total)
        for position, code in enumerate(ordered, start=1):
            self._quotes[code].pace(self.ticks_per_day / math.sqrt(position) / total)
        self._codes, self._cumulative_weights = ordered, cumulative

    def next_tick(self, dt: str) -> dict:
        """A trade in a stock drawn by activity (larger names more often)."""
        codes = self._codes
        index = bisect(self._cumulative_weights, self._rng.random() * self._cumulative_weights[-1])
        return self.trade(codes[min(index, len(codes) - 1)], dt)

    def trade(self, code: str, dt: str) -> dict:
        """A trade in `code` (one of the generator's codes)."""
        rng = self._rng
        quote = self._quotes[code]
        log_fair = math.log(quote.fair)
        move = quote.step * rng.gauss() - quote.reversion * (log_fair - quote.log_base)
        if rng.random() < quote.jump_chance:
            move += _JUMP_SIZE * quote.daily_volatility * (1 if rng.random() < 0.5 else -1)
        fair = min(max(math.exp(log_fair + move), quote.lower), quote.upper)
        quote.fair = fair
        buy = rng.random() < 0.5
        price = min(max(grid_price(fair, up=buy), quote.lower), quote.upper)
        volume = 1 + int(rng.expovariate(1.0) * quote.lot)
        quote.price = price
        if price > quote.high:
            quote.high = price
        if price < quote.low:
            quote.low = price
        quote.cumulative_volume += volume
        quote.cumulative_amount += volume * price
        if buy:
            quote.buy_volume += volume
        else:
            quote.sell_volume += volume
        strength = round(quote.buy_volume / quote.sell_volume * 100, 2) if quote.sell_volume else 0.0
        base = quote.base
        return {
            "code": code,
            "dt": dt,
            "session": "REGULAR",
            "currency": "KRW",
            "base": base,
            "close": price,
            "open": quote.open,
            "high": quote.high,
            "low": quote.low,
            "volume": volume,
            "tradeType": "BUY" if buy else "SELL",
            "changeType": "UP" if price > base else "DOWN" if price < base else "FLAT",
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
        ticks_per_second: float = DEFAULT_TICKS_PER_SECOND,
        day_seconds: float = SESSION_SECONDS,
        batch_max: int = 500,
        stocks_loader: Callable[[], list[ListedStock]] = load_active_stocks,
        starting_prices: Callable[[list[str]], Mapping[str, StartingPrice]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.seed = seed
        self.ticks_per_second = ticks_per_second
        self.day_seconds = day_seconds
        self.batch_max = batch_max
        self._stocks_loader = stocks_loader
        self._starting_prices = starting_prices or (lambda codes: {})
        self._clock = clock
        self._sleep = sleep
        self._generator: TickGenerator | None = None
        self._opening: deque[str] = deque()  # stocks that still need their first trade
        self._stocks: list[ListedStock] = []
        self._topics: set[str] = set()
        self._day_started_at: float | None = None  # the simulated day's open, fixed at the first connect
        self._emitted = 0  # ticks emitted since the first connect (openings excluded)
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
                self._stocks,
                seed=self.seed,
                starting_prices=self._starting_prices(codes),
                codes=codes,
                ticks_per_day=self.ticks_per_second * self.day_seconds,
            )
            self._opening.extend(self._generator.codes)
            if not codes:
                log_event(logger, logging.WARNING, "relay.simulator.no_stocks", hint="run manage.py load_stocks")
            log_event(logger, logging.INFO, "relay.simulator.started", seed=self.seed, stocks=len(codes))
        now = self._clock()
        if self._day_started_at is None:
            self._day_started_at = now
        else:  # reconnected: the day goes on, the ticks missed meanwhile are not made up
            self._emitted = self._due_total(now)
        self._next_batch_at = now

    def _due_total(self, now: float) -> int:
        """Ticks due since the first connect: the rate integrated over the U-shaped intraday profile."""
        days = (now - self._day_started_at) / self.day_seconds
        return int(self.ticks_per_second * self.day_seconds * cumulative_activity(days))

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
        due = self._due_total(now) - self._emitted
        if due > 4 * rate:  # the process was stopped for a while: skip the backlog, don't burst
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
