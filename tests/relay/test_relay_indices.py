"""KOSPI and KOSDAQ through the relay: computed from the simulated constituents, or read from the index topics."""

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from marketdata.models import MarketIndex, MarketIndexDay
from marketdata.relay.indices import load_index_calculator
from marketdata.relay.simulator import SimulatorSource
from marketdata.topics import trade_topic
from tests.factories import StockFactory
from tests.relay.conftest import wait_until


@pytest.fixture
def listed_market(db):
    kospi = MarketIndex.objects.create(code="KOSPI", name="코스피", name_en="KOSPI", feed_code="KGG01P")
    kosdaq = MarketIndex.objects.create(code="KOSDAQ", name="코스닥", name_en="KOSDAQ", feed_code="QGG01P")
    for index, close in ((kospi, Decimal("2647.33")), (kosdaq, Decimal("841.10"))):
        MarketIndexDay.objects.create(index=index, date=date(2026, 3, 19), open=1, high=9999, low=1, close=1)
        MarketIndexDay.objects.create(index=index, date=date(2026, 3, 20), open=1, high=9999, low=1, close=close)
    StockFactory(code="A005930", market="KOSPI", market_cap_rank=1, reference_price=199_400, shares_outstanding=5_919)
    StockFactory(code="A000660", market="KOSPI", market_cap_rank=2, reference_price=900_000, shares_outstanding=728)
    StockFactory(code="A247540", market="KOSDAQ", market_cap_rank=30, reference_price=150_000, shares_outstanding=97)
    StockFactory(code="A111111", market="KOSDAQ", reference_price=5_000, shares_outstanding=10, is_active=False)


def test_the_relay_loads_every_active_constituent_and_the_last_close_of_each_index(listed_market):
    calculator = load_index_calculator(source="simulator", interval=0.5)
    assert calculator.codes == ["KOSDAQ", "KOSPI"]
    assert len(calculator) == 3  # the inactive listing is left out
    assert (calculator.level("KOSPI"), calculator.level("KOSDAQ")) == (Decimal("2647.33"), Decimal("841.10"))


def test_the_simulator_relay_stores_and_publishes_both_indices(
    listed_market, relay_config, start_relay, redis_client, tick_messages
):
    config = replace(relay_config, source="simulator", indices=True, index_interval=0.05)
    start_relay(config, source=SimulatorSource(seed=3, ticks_per_second=2_000))

    def published_indices():
        return {tick["code"]: tick for batch in tick_messages() for tick in batch if tick.get("kind") == "index"}

    latest = wait_until(lambda: len(published_indices()) == 2 and published_indices(), message="both indices")
    assert {tick["code"] for batch in tick_messages() for tick in batch if "kind" not in tick} <= {
        "A005930",
        "A000660",
        "A247540",
    }
    stored = json.loads(redis_client.get("index:realtime:KOSPI"))
    assert {"code", "close", "base", "dt", "received_at", "kind", "source"} <= stored.keys()
    assert (stored["code"], stored["kind"], stored["source"], stored["base"]) == (
        "KOSPI",
        "index",
        "simulator",
        2647.33,
    )
    assert 0 < redis_client.ttl("index:realtime:KOSPI") <= 3600
    assert latest["KOSDAQ"]["base"] == 841.10
    # Within the day's moves of its constituents: a few percent at most.
    assert abs(stored["close"] / 2647.33 - 1) < 0.05
    assert not redis_client.exists("stock:realtime:KOSPI")  # an index is never stored as a stock


def test_a_toss_relay_follows_the_index_topics_and_counts_a_malformed_index_frame(
    listed_market, toss_config, stomp_server, start_relay, redis_client, health
):
    start_relay(replace(toss_config, indices=True))
    topic = "/topic/v1/kr/stock/index/KGG01P"
    assert stomp_server.wait_for(lambda: topic in {f.headers["destination"] for f in stomp_server.frames("SUBSCRIBE")})
    wait_until(lambda: (health() or {}).get("state") == "connected", message="connected")
    assert stomp_server.publish(topic, '{"code": "KGG01P", "close": "not a number"}') == 1
    assert stomp_server.publish(topic, "{not json") == 1
    body = {"code": "KGG01P", "close": 2651.2, "base": 2647.33, "dt": "2026-03-23T01:00:00.000Z"}
    assert stomp_server.publish(topic, json.dumps(body)) == 1
    stored = json.loads(wait_until(lambda: redis_client.get("index:realtime:KOSPI"), message="KOSPI stored"))
    assert (stored["code"], stored["close"], stored["kind"], stored["source"]) == ("KOSPI", 2651.2, "index", "toss")
    assert stored["feedCode"] == "KGG01P"
    record = wait_until(lambda: (health() or {}).get("malformed_total") == 2 and health(), message="counted")
    assert record["state"] == "connected"
    assert redis_client.smembers("toss_ws_relayer:subscriptions") == set()  # index topics are not stock topics
    assert trade_topic("A005930") not in {f.headers["destination"] for f in stomp_server.frames("SUBSCRIBE")}
