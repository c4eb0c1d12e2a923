from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from kernel.redis import get_redis
from marketdata.prices import REALTIME_KEY
from marketdata.selectors import active_listings_cache_clear
from tests.factories import StockFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_listings():
    active_listings_cache_clear()
    yield
    active_listings_cache_clear()


@pytest.fixture
def market(store_price):
    """Six active stocks (two KOSDAQ), one inactive, with prices against their previous close."""
    specs = [
        # code, market, rank, close, base, volume
        ("A000001", "KOSPI", 1, 10_500, 10_000, 300),  # +5 %
        ("A000002", "KOSPI", 2, 9_000, 10_000, 5_000),  # -10 %
        ("A000003", "KOSPI", 3, 10_000, 10_000, 100),  # flat
        ("A000004", "KOSPI", 4, 11_000, 10_000, 10),  # +10 %
        ("A0126Z0", "KOSDAQ", 5, 2_600, 2_000, 9_000),  # +30 %
        ("A000006", "KOSDAQ", 6, 1_900, 2_000, 50),  # -5 %
    ]
    for code, market_name, rank, close, base, volume in specs:
        StockFactory(code=code, market=market_name, market_cap_rank=rank, name=f"종목{code}")
        store_price(code, close, base=base, volume=volume)
    StockFactory(code="A000007", market="KOSPI", market_cap_rank=7, is_active=False)
    store_price("A000007", 20_000, base=10_000, volume=1_000_000)  # +100 %, but no longer listed


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [mover["code"] for mover in response.json()["movers"]]


def test_gainers_are_the_stocks_up_most_first(api_client, market):
    response = api_client.get("/api/v1/market/movers")  # kind defaults to gainers
    assert _codes(response) == ["A0126Z0", "A000004", "A000001"]
    top = response.json()["movers"][0]
    assert top == {
        "code": "A0126Z0",
        "name": "종목A0126Z0",
        "name_en": top["name_en"],
        "market": "KOSDAQ",
        "price": 2600,
        "change": 600,
        "change_pct": 30.0,
        "volume": 9000,
        "dt": "2026-11-25T01:00:00Z",
        "is_stale": False,
    }


def test_losers_are_the_stocks_down_most_first(api_client, market):
    assert _codes(api_client.get("/api/v1/market/movers", {"kind": "losers"})) == ["A000002", "A000006"]


def test_volume_ranks_by_the_days_volume(api_client, market):
    response = api_client.get("/api/v1/market/movers", {"kind": "volume", "limit": 3})
    assert _codes(response) == ["A0126Z0", "A000002", "A000001"]
    assert response.json()["kind"] == "volume"


def test_market_and_limit_narrow_the_list(api_client, market):
    assert _codes(api_client.get("/api/v1/market/movers", {"market": "KOSDAQ"})) == ["A0126Z0"]
    assert _codes(api_client.get("/api/v1/market/movers", {"market": "KOSPI", "limit": 1})) == ["A000004"]
    response = api_client.get("/api/v1/market/movers", {"kind": "losers", "market": "KOSDAQ"})
    assert _codes(response) == ["A000006"]
    assert response.json()["market"] == "KOSDAQ"


def test_ties_keep_market_cap_order_and_unusable_prices_are_left_out(api_client, market, store_price):
    store_price("A000003", 10_500, base=10_000)  # now +5 %, like A000001 (rank 1)
    redis = get_redis()
    redis.set(REALTIME_KEY.format(code="A000004"), "{not json")
    redis.set(REALTIME_KEY.format(code="A000002"), '{"close": "x", "base": 10000, "received_at": "2026-01-01"}')
    store_price("A000006", 1_900, base=0)  # no previous close: no change to rank by
    assert _codes(api_client.get("/api/v1/market/movers")) == ["A0126Z0", "A000001", "A000003"]
    assert _codes(api_client.get("/api/v1/market/movers", {"kind": "losers"})) == []


def test_a_stale_price_is_flagged(api_client, market, store_price):
    old = timezone.now() - timedelta(seconds=settings.PRICE_STALE_SECONDS + 5)
    store_price("A0126Z0", 2_600, base=2_000, volume=9_000, received_at=old)
    movers = api_client.get("/api/v1/market/movers").json()["movers"]
    assert [m["is_stale"] for m in movers] == [True, False, False]


def test_movers_read_all_prices_with_one_mget_per_request(api_client, market, monkeypatch):
    redis = get_redis()
    calls = []
    real_mget = redis.mget

    def counting_mget(keys, *args):
        calls.append(len(keys))
        return real_mget(keys, *args)

    monkeypatch.setattr(redis, "mget", counting_mget)
    api_client.get("/api/v1/market/movers")
    api_client.get("/api/v1/market/movers", {"kind": "volume", "market": "KOSPI"})
    assert calls == [6, 4]  # the active stocks only, of the market asked for


def test_the_active_list_is_cached_per_process_until_cleared(api_client, market, store_price, settings):
    settings.MOVERS_CACHE_SECONDS = 0  # rank on every request: only the list of active stocks is cached
    api_client.get("/api/v1/market/movers")  # reads the active list
    StockFactory(code="A000008", market="KOSPI", market_cap_rank=8)
    store_price("A000008", 15_000, base=10_000)  # +50 %
    assert "A000008" not in _codes(api_client.get("/api/v1/market/movers"))  # the cached list predates it
    active_listings_cache_clear()
    assert _codes(api_client.get("/api/v1/market/movers"))[0] == "A000008"


def test_a_ranking_is_reused_for_movers_cache_seconds_without_reading_redis(
    api_client, market, store_price, settings, monkeypatch
):
    settings.MOVERS_CACHE_SECONDS = 60
    redis = get_redis()
    calls = []
    real_mget = redis.mget
    monkeypatch.setattr(redis, "mget", lambda keys, *args: calls.append(len(keys)) or real_mget(keys, *args))
    assert _codes(api_client.get("/api/v1/market/movers")) == ["A0126Z0", "A000004", "A000001"]
    store_price("A000003", 15_000, base=10_000)  # +50 %, after the ranking was made
    assert _codes(api_client.get("/api/v1/market/movers", {"limit": 2})) == ["A0126Z0", "A000004"]
    assert calls == [6]


def test_with_movers_cache_seconds_0_every_request_ranks_the_latest_prices(api_client, market, store_price, settings):
    settings.MOVERS_CACHE_SECONDS = 0
    assert _codes(api_client.get("/api/v1/market/movers"))[0] == "A0126Z0"
    store_price("A000003", 15_000, base=10_000)  # +50 %
    assert _codes(api_client.get("/api/v1/market/movers"))[0] == "A000003"


def test_no_prices_means_no_movers(api_client, db):
    StockFactory()
    assert api_client.get("/api/v1/market/movers").json() == {"kind": "gainers", "market": None, "movers": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "biggest"}, "kind"),
        ({"market": "NYSE"}, "market"),
        ({"market": "KONEX"}, "market"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1e2"}, "limit"),
    ],
)
def test_movers_reject_bad_input(api_client, market, params, field):
    error = assert_error(api_client.get("/api/v1/market/movers", params), 400, "validation_error")
    assert list(error["details"]) == [field]


def test_limit_100_is_accepted(api_client, market):
    assert len(_codes(api_client.get("/api/v1/market/movers", {"limit": 100}))) == 3
