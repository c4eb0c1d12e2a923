"""Realtime price endpoints (paths kept from the original service) against a real Redis."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from marketdata import prices
from marketdata.relay.keys import HEALTH_KEY
from tests.factories import StockFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

REALTIME = "/api/v1/trading/realtime"


def test_it_answers_the_latest_price_of_one_stock(api_client, store_price):
    store_price("A005930", 71000, base=70000, volume=123456)

    response = api_client.get(f"{REALTIME}/stock/A005930")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"] == "A005930"
    assert body["price"] == 71000
    assert body["change"] == 1000
    assert body["change_pct"] == 1.43
    assert body["volume"] == 123456
    assert body["prev_close"] == 70000
    assert body["dt"] == "2026-11-25T01:00:00Z"
    assert body["received_at"]
    assert body["is_stale"] is False


def test_a_price_older_than_price_stale_seconds_is_flagged_stale(api_client, store_price, settings):
    settings.PRICE_STALE_SECONDS = 60
    store_price("A005930", 71000, received_at=timezone.now() - timedelta(seconds=61))

    body = api_client.get(f"{REALTIME}/stock/A005930").json()

    assert body["price"] == 71000
    assert body["is_stale"] is True


def test_it_accepts_a_lower_case_code(api_client, store_price):
    store_price("A0126Z0", 5000)
    assert api_client.get(f"{REALTIME}/stock/a0126z0").json()["code"] == "A0126Z0"


def test_a_code_without_a_price_is_404(api_client):
    error = assert_error(api_client.get(f"{REALTIME}/stock/A005930"), 404, "price_not_found")
    assert error["details"] == {"stock_code": "A005930"}


@pytest.mark.parametrize("code", ["005930", "A00593", "A0059301", "A00-930", "B005930"])
def test_a_malformed_code_is_400(api_client, code):
    assert_error(api_client.get(f"{REALTIME}/stock/{code}"), 400, "invalid_stock_code")


def test_an_unreadable_stored_tick_is_treated_as_missing(api_client, redis_client):
    redis_client.set(prices.REALTIME_KEY.format(code="A005930"), "{not json")
    assert_error(api_client.get(f"{REALTIME}/stock/A005930"), 404, "price_not_found")


def test_multiple_answers_found_prices_in_order_and_lists_the_missing(api_client, store_price):
    store_price("A005930", 71000)
    store_price("A000660", 180000, received_at=timezone.now() - timedelta(hours=1))

    response = api_client.get(f"{REALTIME}/stocks/multiple?stock_codes=A000660&stock_codes=A005930&stock_codes=A035420")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(q["code"], q["price"], q["is_stale"]) for q in body["prices"]] == [
        ("A000660", 180000, True),
        ("A005930", 71000, False),
    ]
    assert body["missing"] == ["A035420"]


def test_multiple_reads_every_code_in_one_redis_round_trip(api_client, store_price, monkeypatch):
    store_price("A005930", 71000)
    store_price("A000660", 180000)
    real = prices.get_redis()
    calls = []

    class CountingRedis:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(real, name)

    monkeypatch.setattr(prices, "get_redis", CountingRedis)

    response = api_client.get(f"{REALTIME}/stocks/multiple?stock_codes=A005930,A000660&stock_codes=A005380")

    assert response.status_code == 200
    assert len(response.json()["prices"]) == 2
    assert calls == ["mget"]


def test_multiple_rejects_no_codes_bad_codes_and_too_many(api_client, settings):
    settings.REALTIME_MULTIPLE_MAX_CODES = 3
    assert_error(api_client.get(f"{REALTIME}/stocks/multiple"), 400, "validation_error")
    error = assert_error(
        api_client.get(f"{REALTIME}/stocks/multiple?stock_codes=A005930&stock_codes=005930"), 400, "validation_error"
    )
    assert "005930" in str(error["details"]["stock_codes"])
    too_many = "&".join(f"stock_codes=A00000{i}" for i in range(4))
    error = assert_error(
        api_client.get(f"{REALTIME}/stocks/multiple?{too_many}", HTTP_ACCEPT_LANGUAGE="en"), 400, "validation_error"
    )
    assert "At most 3" in str(error["details"]["stock_codes"])


def test_all_answers_every_active_listing_with_a_price(api_client, store_price, samsung, hynix):
    delisted = StockFactory(code="A999990", is_active=False)
    StockFactory(code="A035420", market_cap_rank=3)  # no price stored
    store_price(samsung.code, 71000)
    store_price(hynix.code, 180000)
    store_price(delisted.code, 100)

    body = api_client.get(f"{REALTIME}/stocks/all").json()

    assert body["count"] == 2
    assert [q["code"] for q in body["prices"]] == ["A005930", "A000660"]


def _write_health(redis_client, **fields):
    record = {
        "state": "connected",
        "source": "simulator",
        "connected_since": "2026-11-25T00:00:00+00:00",
        "last_message_at": timezone.now().isoformat(),
        "messages_total": 42,
        "malformed_total": 0,
        "reconnects": 1,
        "subscriptions": 200,
        "updated_at": timezone.now().isoformat(),
        **fields,
    }
    redis_client.set(HEALTH_KEY, json.dumps(record), ex=30)
    return record


def test_health_answers_the_relay_heartbeat(api_client, redis_client):
    _write_health(redis_client)

    response = api_client.get(f"{REALTIME}/daemon/health")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "connected"
    assert body["messages_total"] == 42
    assert 0 <= body["age_seconds"] < 5


def test_health_is_503_when_the_relay_never_reported(api_client):
    assert_error(api_client.get(f"{REALTIME}/daemon/health"), 503, "relay_unavailable")


def test_health_is_503_when_the_heartbeat_is_older_than_30_seconds(api_client, redis_client):
    _write_health(redis_client, updated_at=(timezone.now() - timedelta(seconds=45)).isoformat())

    error = assert_error(api_client.get(f"{REALTIME}/daemon/health"), 503, "relay_unavailable")

    assert error["details"]["health"]["state"] == "connected"
    assert error["details"]["age_seconds"] >= 45


def test_the_realtime_endpoints_are_documented(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in [
        "/api/v1/trading/realtime/stock/{stock_code}",
        "/api/v1/trading/realtime/stocks/multiple",
        "/api/v1/trading/realtime/stocks/all",
        "/api/v1/trading/realtime/daemon/health",
    ]:
        assert paths[path]["get"]["tags"] == ["realtime"], path
    assert paths["/api/v1/stocks/{code}/candles"]["get"]["tags"] == ["stocks"]
    assert paths["/api/v1/admin/websocket/subscriptions/subscribe"]["post"]["tags"] == ["admin"]
