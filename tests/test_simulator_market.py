"""The simulated market (docs/architecture.md §7, issue 15): real reference closes, realistic daily moves, live
indices."""

import math
import statistics
from collections import Counter
from decimal import Decimal

import pytest

from marketdata.krx import is_on_tick, price_limits
from marketdata.relay.indices import Constituent, IndexCalculator
from marketdata.relay.simulator import (
    ListedStock,
    SimulatorSource,
    StartingPrice,
    TickGenerator,
    load_active_stocks,
    seeded_price,
)
from marketdata.relay.ticks import Tick
from tests.factories import StockFactory

DT = "2026-03-23T01:00:00.000Z"
PER_BUCKET = 120
BUCKETS = {
    "large": range(1, 1 + PER_BUCKET),
    "mid": range(201, 201 + PER_BUCKET),
    "small": range(1001, 1001 + PER_BUCKET),
}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _market(seed: int = 2026) -> list[ListedStock]:
    """Stocks of every size, with reference closes spread over the whole tick table (1,000 to 400,000 won)."""
    return [
        ListedStock(f"A{rank:06d}", rank, reference_price=seeded_price(seed, f"A{rank:06d}"))
        for ranks in BUCKETS.values()
        for rank in ranks
    ]


def _one_day(seed: int, ticks_per_day: int = 60_000) -> tuple[list[ListedStock], list[dict]]:
    stocks = _market()
    generator = TickGenerator(stocks, seed=seed, ticks_per_day=ticks_per_day)
    openings = [generator.trade(stock.code, DT) for stock in stocks]
    return stocks, openings + [generator.next_tick(DT) for _ in range(ticks_per_day)]


@pytest.fixture(scope="module")
def simulated_day():
    return _one_day(seed=7)


def test_a_seeded_day_has_daily_volatility_by_size_in_the_stated_ranges(simulated_day):
    stocks, ticks = simulated_day
    closes = {tick["code"]: tick["close"] for tick in ticks}
    volatility = {}
    for bucket, ranks in BUCKETS.items():
        returns = [math.log(closes[stock.code] / stock.reference_price) for stock in stocks if stock.rank in ranks]
        volatility[bucket] = statistics.pstdev(returns) * 100
    assert 1.5 <= volatility["large"] <= 2.5, volatility
    assert 2.5 <= volatility["mid"] <= 3.6, volatility
    assert 3.5 <= volatility["small"] <= 5.5, volatility


def test_every_simulated_price_is_on_the_grid_and_inside_the_band_of_its_reference(simulated_day):
    stocks, ticks = simulated_day
    references = {stock.code: stock.reference_price for stock in stocks}
    for tick in ticks:
        lower, upper = price_limits(references[tick["code"]])
        assert tick["base"] == references[tick["code"]], tick
        assert is_on_tick(tick["close"]), tick
        assert lower <= tick["close"] <= upper, tick


def test_the_same_seed_gives_the_same_day_and_another_seed_another():
    assert _one_day(seed=3, ticks_per_day=5_000) == _one_day(seed=3, ticks_per_day=5_000)
    assert _one_day(seed=3, ticks_per_day=5_000)[1] != _one_day(seed=4, ticks_per_day=5_000)[1]


def test_a_stock_pinned_near_its_limit_stays_inside_the_band():
    stock = ListedStock("A005930", 1, reference_price=Decimal(70_000))
    start = {"A005930": StartingPrice(base=Decimal(70_000), price=Decimal(90_900))}
    generator = TickGenerator([stock], seed=1, starting_prices=start, ticks_per_day=50)  # 50 ticks: big steps
    for _ in range(5_000):
        tick = generator.next_tick(DT)
        assert 49_000 <= tick["close"] <= 91_000
        assert is_on_tick(tick["close"])


def test_the_intraday_volume_is_u_shaped():
    time = FakeTime()
    source = SimulatorSource(
        seed=5,
        ticks_per_second=500,
        day_seconds=100,
        batch_max=10_000,
        stocks_loader=lambda: _market()[:30],
        clock=time.clock,
        sleep=time.sleep,
    )
    source.connect([])
    source.read(0.2)  # the opening trade of each stock
    trades, shares = Counter(), Counter()
    while time.now < 100:
        for tick in source.read(0.2).ticks:
            decile = min(int(time.now / 10), 9)
            trades[decile] += 1
            shares[decile] += tick.body["volume"]
    first, middle, last = trades[0], (trades[4] + trades[5]) / 2, trades[9]
    assert first > 2 * middle, trades
    assert last > 2 * middle, trades
    middle_shares = (shares[4] + shares[5]) / 2
    assert shares[0] > 1.5 * middle_shares, shares
    assert shares[9] > 1.5 * middle_shares, shares
    assert sum(trades.values()) == pytest.approx(500 * 100, rel=0.02)


def test_samsung_starts_at_its_reference_close(db):
    StockFactory(code="A005930", market="KOSPI", market_cap_rank=1, reference_price=Decimal(199_400))
    source = SimulatorSource(seed=1, ticks_per_second=100)
    source.connect([])
    first = source.read(0.1).ticks[0].body
    assert first["base"] == 199_400
    assert 199_300 <= first["close"] <= 199_500  # one tick (100 won) either side: the bid or the offer


def test_a_stored_tick_is_continued_only_when_it_was_measured_from_the_same_reference(db):
    StockFactory(code="A005930", market="KOSPI", market_cap_rank=1, reference_price=Decimal(199_400))
    stocks = load_active_stocks()
    same = {"A005930": StartingPrice(base=Decimal(199_400), price=Decimal(205_000))}
    old = {"A005930": StartingPrice(base=Decimal(2_400), price=Decimal(2_450))}  # an old demo's made-up price
    continued = TickGenerator(stocks, seed=1, starting_prices=same, ticks_per_day=10**6).trade("A005930", DT)
    restarted = TickGenerator(stocks, seed=1, starting_prices=old, ticks_per_day=10**6).trade("A005930", DT)
    assert (continued["base"], restarted["base"]) == (199_400, 199_400)
    assert 204_500 <= continued["close"] <= 205_500
    assert 199_000 <= restarted["close"] <= 199_500


# --- indices --------------------------------------------------------------------------------------------------


def _tick(code: str, close) -> Tick:
    return Tick(code, {"code": code, "close": close})


def _three_stocks(clock=lambda: 0.0) -> IndexCalculator:
    constituents = [
        Constituent("A000001", "KOSPI", 100, 10_000),  # 1,000,000 won
        Constituent("A000002", "KOSPI", 50, 20_000),  # 1,000,000 won
        Constituent("A000003", "KOSPI", 200, 5_000),  # 1,000,000 won
        Constituent("A000004", "KOSDAQ", 10, 1_000),
    ]
    return IndexCalculator(
        constituents,
        {"KOSPI": Decimal("2500.00"), "KOSDAQ": Decimal("800.00")},
        source="simulator",
        interval=0.5,
        clock=clock,
    )


def test_the_index_is_cap_weighted_and_chained_from_the_last_close():
    calculator = _three_stocks()
    assert calculator.level("KOSPI") == Decimal("2500.00")  # everything at its reference close
    calculator.add([_tick("A000001", 11_000), _tick("A000002", 19_000), _tick("A000003", 5_000)])
    # 2,500 × (100×11,000 + 50×19,000 + 200×5,000) / 3,000,000 = 2,500 × 3,050,000 / 3,000,000 = 2,541.666…
    assert calculator.level("KOSPI") == Decimal("2541.67")
    assert calculator.level("KOSDAQ") == Decimal("800.00")  # another market's index does not move
    calculator.add([_tick("A000001", "10000"), _tick("A999999", 1), _tick("A000004", 1_100)])  # strings, outsiders
    assert calculator.level("KOSPI") == Decimal("2458.33")  # 2,500 × 2,950,000 / 3,000,000
    assert calculator.level("KOSDAQ") == Decimal("880.00")


def test_index_values_are_published_at_most_once_per_interval_and_only_when_they_moved():
    now = [0.0]
    calculator = _three_stocks(clock=lambda: now[0])
    first = {tick.code: tick.body for tick in calculator.due(DT)}
    assert first["KOSPI"] == {
        "code": "KOSPI",
        "kind": "index",
        "source": "simulator",
        "dt": DT,
        "base": 2500.0,
        "close": 2500.0,
        "open": 2500.0,
        "high": 2500.0,
        "low": 2500.0,
        "changeType": "FLAT",
    }
    calculator.add([_tick("A000001", 11_000)])
    now[0] = 0.4
    assert calculator.due(DT) == []  # too soon
    now[0] = 0.5
    assert [(tick.code, tick.body["close"], tick.body["changeType"]) for tick in calculator.due(DT)] == [
        ("KOSPI", 2583.33, "UP")
    ]
    now[0] = 1.0
    assert calculator.due(DT) == []  # nothing moved
