from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest

from marketdata.krx import is_on_tick, price_limits
from marketdata.relay.keys import SUBSCRIPTIONS_KEY
from marketdata.relay.runner import stored_starting_prices
from marketdata.relay.simulator import (
    ListedStock,
    SimulatorSource,
    StartingPrice,
    TickGenerator,
    load_active_stocks,
    seeded_price,
)
from marketdata.topics import trade_topic
from tests.factories import StockFactory
from tests.relay.conftest import wait_until

STOCKS = [
    ListedStock("A005930", 1),
    ListedStock("A000660", 2),
    ListedStock("A373220", 3),
    ListedStock("A0126Z0", 50),
    ListedStock("A900001", None),
]
DT = "2026-11-25T01:00:00.000Z"


def walk(generator: TickGenerator, count: int) -> list[dict]:
    return [generator.next_tick(DT) for _ in range(count)]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_same_seed_gives_the_same_ticks():
    assert walk(TickGenerator(STOCKS, seed=42), 3000) == walk(TickGenerator(STOCKS, seed=42), 3000)
    assert walk(TickGenerator(STOCKS, seed=42), 200) != walk(TickGenerator(STOCKS, seed=43), 200)


def test_batching_does_not_change_the_sequence():
    def run(batch_max: int) -> list[dict]:
        time = FakeTime()
        source = SimulatorSource(
            seed=7,
            ticks_per_second=500,
            batch_max=batch_max,
            stocks_loader=lambda: STOCKS,
            clock=time.clock,
            sleep=time.sleep,
        )
        source.connect([])
        ticks: list[dict] = []
        while len(ticks) < 1000:
            ticks += [{**tick.body, "dt": None} for tick in source.read(0.2).ticks]
        return ticks[:1000]

    assert run(batch_max=7) == run(batch_max=500)


def test_every_price_is_on_the_grid_and_inside_the_daily_band():
    starts = {
        "A005930": StartingPrice(base=Decimal(70_000), price=Decimal(90_900)),  # near the upper limit 91,000
        "A000660": StartingPrice(base=Decimal(2_000), price=Decimal(1_401)),  # near the lower limit 1,400
        "A373220": StartingPrice(base=Decimal(1_000), price=Decimal(1_299)),  # limit 1,300 sits on a 1-won grid
        "A0126Z0": StartingPrice(base=Decimal(499_000), price=Decimal(500_000)),  # tick 500 below, 1,000 above
    }
    generator = TickGenerator(STOCKS, seed=3, starting_prices=starts)
    volumes: dict[str, int] = {}
    for tick in walk(generator, 20_000):
        code, close = tick["code"], tick["close"]
        lower, upper = price_limits(tick["base"])
        assert is_on_tick(close), tick
        assert lower <= close <= upper, tick
        assert tick["low"] <= close <= tick["high"]
        if code in starts:
            assert tick["base"] == starts[code].base
        expected_change = "UP" if close > tick["base"] else "DOWN" if close < tick["base"] else "FLAT"
        assert tick["changeType"] == expected_change
        assert tick["cumulativeVolume"] == volumes.get(code, 0) + tick["volume"]
        volumes[code] = tick["cumulativeVolume"]
        assert tick["tradeType"] in ("BUY", "SELL")
        assert {"session", "currency", "open", "tradingStrength", "cumulativeAmount", "dt"} <= tick.keys()


def test_larger_names_trade_more_often():
    counts = Counter(tick["code"] for tick in walk(TickGenerator(STOCKS, seed=11), 20_000))
    assert counts["A005930"] > counts["A373220"] > counts["A900001"] > 0


def test_seeded_prices_are_plausible_and_repeatable():
    for code in ("A005930", "A000660", "A0126Z0"):
        price = seeded_price(99, code)
        assert price == seeded_price(99, code)
        assert 1_000 <= price <= 400_000
        assert is_on_tick(price)


def test_it_ticks_at_the_configured_rate_on_average_over_a_simulated_day():
    time = FakeTime()
    source = SimulatorSource(
        seed=1,
        ticks_per_second=400,
        day_seconds=10,
        batch_max=10_000,
        stocks_loader=lambda: STOCKS,
        clock=time.clock,
        sleep=time.sleep,
    )
    source.connect([])
    source.read(0.2)  # each stock's opening trade
    total = 0
    while time.now < 10:
        total += len(source.read(0.2).ticks)
    assert total == pytest.approx(400 * time.now, abs=40)


def test_starting_prices_come_from_the_last_stored_tick(redis_client, store_price):
    store_price("A005930", 71_000, base=70_000)
    starts = stored_starting_prices(redis_client, ["A005930", "A000660"])
    assert starts == {"A005930": StartingPrice(base=Decimal(70_000), price=Decimal(71_000))}

    source = SimulatorSource(
        seed=1,
        ticks_per_second=1000,
        stocks_loader=lambda: [ListedStock("A005930", 1)],
        starting_prices=lambda codes: stored_starting_prices(redis_client, codes),
    )
    source.connect([])
    first = wait_until(lambda: source.read(0.1).ticks)[0].body
    assert first["base"] == 70_000
    assert 70_800 <= first["close"] <= 71_200


def test_it_loads_the_active_stocks_largest_first(db, samsung, hynix):
    StockFactory(code="A111111", is_active=False, market_cap_rank=3)
    loaded = load_active_stocks()
    assert [(stock.code, stock.rank, stock.market) for stock in loaded] == [
        ("A005930", 1, "KOSPI"),
        ("A000660", 2, "KOSPI"),
    ]
    assert loaded[0].reference_price == samsung.reference_price
    assert loaded[0].shares_outstanding == samsung.shares_outstanding


def _codes_published_after(tick_messages, start: int) -> set[str]:
    return {tick["code"] for batch in tick_messages()[start:] for tick in batch}


def test_the_subscription_set_steers_the_simulator(
    relay_config, start_relay, redis_client, tick_messages, health, relay_command
):
    redis_client.sadd(SUBSCRIPTIONS_KEY, trade_topic("A000660"))
    source = SimulatorSource(seed=5, ticks_per_second=2000, stocks_loader=lambda: STOCKS)
    start_relay(replace(relay_config, source="simulator"), source=source)
    wait_until(lambda: len(tick_messages()) >= 3, message="simulated batches")
    assert _codes_published_after(tick_messages, 0) == {"A000660"}

    assert relay_command("subscribe", trade_topic("A0126Z0"))["success"] is True
    mark = len(tick_messages())
    wait_until(lambda: "A0126Z0" in _codes_published_after(tick_messages, mark + 1), message="new code ticking")
    assert _codes_published_after(tick_messages, mark + 1) == {"A000660", "A0126Z0"}

    # An empty set means every active stock again.
    assert relay_command("unsubscribe", trade_topic("A000660"))["success"] is True
    assert relay_command("unsubscribe", trade_topic("A0126Z0"))["success"] is True
    mark = len(tick_messages())
    everyone = {stock.code for stock in STOCKS}
    wait_until(lambda: _codes_published_after(tick_messages, mark + 1) == everyone, message="all stocks ticking")
    assert health()["source"] == "simulator"
    assert redis_client.get("stock:realtime:A005930")


def test_every_stock_trades_once_at_the_start_so_each_has_a_price():
    stocks = [ListedStock(f"A{100_000 + rank:06d}", rank) for rank in range(1, 1_201)]
    time = FakeTime()
    source = SimulatorSource(
        seed=2, ticks_per_second=1, batch_max=500, stocks_loader=lambda: stocks, clock=time.clock, sleep=time.sleep
    )
    source.connect([])
    first = [source.read(0.2).ticks for _ in range(3)]
    assert [len(batch) for batch in first] == [500, 500, 200]
    assert {tick.code for batch in first for tick in batch} == {stock.code for stock in stocks}
    assert time.now == 0  # no waiting for the rate
