"""1-minute candles from ticks, and the chart API that aggregates them on read."""

import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis as redis_lib
import time_machine
from django.conf import settings
from django.core.management import call_command

from marketdata.candles import MinuteBars, candles_record_ticks
from marketdata.models import Candle
from marketdata.prices import trade_from_tick
from marketdata.relay.keys import TICKS_CHANNEL
from tests.factories import StockFactory
from tests.helpers import assert_error
from trading.matcher import parse_ticks

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # 09:00 in Seoul


def tick(code, close, at, volume=10, **extra):
    return {"code": code, "close": close, "volume": volume, "dt": at.isoformat().replace("+00:00", "Z"), **extra}


def at(minutes=0, seconds=0):
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def ohlcv(candle):
    return (int(candle.open), int(candle.high), int(candle.low), int(candle.close), candle.volume)


def test_it_builds_one_candle_per_stock_and_minute(samsung, hynix):
    written = candles_record_ticks(
        [
            tick("A005930", 70000, at(0, 10), 5),
            tick("A005930", 70500, at(0, 20), 7),
            tick("A005930", 69900, at(0, 40), 1),
            tick("A005930", 70100, at(0, 59), 2),
            tick("A005930", 70200, at(1, 0), 3),
            tick("A000660", 180000, at(0, 30), 4),
        ]
    )

    assert written == 3
    rows = {(c.stock.code, c.start): ohlcv(c) for c in Candle.objects.select_related("stock")}
    assert rows == {
        ("A005930", at(0)): (70000, 70500, 69900, 70100, 15),
        ("A005930", at(1)): (70200, 70200, 70200, 70200, 3),
        ("A000660", at(0)): (180000, 180000, 180000, 180000, 4),
    }


def test_later_batches_merge_into_the_minute(samsung):
    candles_record_ticks([tick("A005930", 70000, at(0, 1), 5), tick("A005930", 70300, at(0, 2), 5)])
    candles_record_ticks([tick("A005930", 69000, at(0, 30), 1), tick("A005930", 71000, at(0, 31), 1)])
    candles_record_ticks([tick("A005930", 70400, at(0, 50), 2)])

    (candle,) = Candle.objects.all()
    assert ohlcv(candle) == (70000, 71000, 69000, 70400, 14)


def test_batches_folded_in_memory_write_what_writing_each_batch_writes(samsung):
    """The relay folds its batches and writes about once a second: same candles, fewer writes."""
    bars = MinuteBars()
    bars.add([tick("A005930", 70000, at(0, 1), 5), tick("A005930", 70300, at(0, 2), 5)])
    bars.add([tick("A005930", 69000, at(0, 30), 1), tick("A005930", 71000, at(0, 31), 1)])
    assert bars.write() == 1
    bars.add([tick("A005930", 70400, at(0, 50), 2), tick("A005930", 70500, at(1, 5), 1)])
    assert bars.write() == 2
    assert bars.write() == 0  # written bars are forgotten

    first, second = Candle.objects.order_by("start")
    assert ohlcv(first) == (70000, 71000, 69000, 70400, 14)
    assert ohlcv(second) == (70500, 70500, 70500, 70500, 1)


def test_bars_a_failed_write_could_not_store_wait_for_the_next_write(samsung, monkeypatch):
    from django.db import DatabaseError

    from marketdata import candles

    bars = MinuteBars()
    bars.add([tick("A005930", 70000, at(0, 1), 5)])
    real_sql = candles._upsert_sql
    monkeypatch.setattr(candles, "_upsert_sql", lambda rows: "INSERT INTO no_such_table VALUES (1)")
    with pytest.raises(DatabaseError):
        bars.write()
    assert not Candle.objects.exists()
    monkeypatch.setattr(candles, "_upsert_sql", real_sql)
    bars.add([tick("A005930", 70500, at(0, 2), 1)])
    assert bars.write() == 1
    assert ohlcv(Candle.objects.get()) == (70000, 70500, 70000, 70500, 6)


def test_a_code_listed_after_a_write_gets_candles_from_then_on(samsung):
    bars = MinuteBars()
    bars.add([tick("A005930", 70000, at(0, 1)), tick("A373220", 400000, at(0, 1))])
    assert bars.write() == 1  # A373220 is not in the stock master yet: skipped, not remembered
    StockFactory(code="A373220", name="LG에너지솔루션")
    bars.add([tick("A373220", 401000, at(0, 2))])
    assert bars.write() == 1
    assert ohlcv(Candle.objects.get(stock__code="A373220")) == (401000, 401000, 401000, 401000, 10)


def test_a_batch_is_ordered_by_exchange_time(samsung):
    candles_record_ticks(
        [tick("A005930", 70300, at(0, 50)), tick("A005930", 70000, at(0, 5)), tick("A005930", 70100, at(0, 30))]
    )

    (candle,) = Candle.objects.all()
    assert (candle.open, candle.close) == (Decimal(70000), Decimal(70300))


def test_malformed_ticks_are_skipped(samsung):
    no_dt = {"code": "A005930", "close": 70500, "volume": 1, "received_at": at(2, 5).isoformat()}
    written = candles_record_ticks(
        [
            "not a dict",
            {"code": "005930", "close": 1, "dt": at().isoformat()},
            {"code": "A005930", "dt": at().isoformat()},
            {"code": "A005930", "close": True, "dt": at().isoformat()},
            {"code": "A005930", "close": "NaN", "dt": at().isoformat()},
            {"code": "A005930", "close": -5, "dt": at().isoformat()},
            {"code": "A005930", "close": 70000, "dt": "yesterday"},
            tick("A999999", 100, at()),  # not in the stock master
            tick("A005930", 70000, at(1), volume=-3),  # counts, without volume
            no_dt,  # the relay's clock stands in for a missing exchange time
        ]
    )

    assert written == 2
    assert [(c.start, ohlcv(c)) for c in Candle.objects.order_by("start")] == [
        (at(1), (70000, 70000, 70000, 70000, 0)),
        (at(2), (70500, 70500, 70500, 70500, 1)),
    ]


def test_nothing_usable_writes_nothing(samsung):
    assert candles_record_ticks([]) == 0
    assert candles_record_ticks([{"code": "A005930"}]) == 0
    assert not Candle.objects.exists()


# --- the chart API -----------------------------------------------------------------------------


def candles(api_client, code="A005930", **params):
    response = api_client.get(f"/api/v1/stocks/{code}/candles", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_serves_one_minute_bars_in_lightweight_charts_shape(api_client, samsung):
    candles_record_ticks([tick("A005930", 70000, at(0, 1), 5), tick("A005930", 70100, at(1, 1), 6)])

    body = candles(api_client, interval="1m", **{"from": at().isoformat(), "to": at(5).isoformat()})

    assert body == {
        "code": "A005930",
        "interval": "1m",
        "candles": [
            {"time": int(at(0).timestamp()), "open": 70000, "high": 70000, "low": 70000, "close": 70000, "volume": 5},
            {"time": int(at(1).timestamp()), "open": 70100, "high": 70100, "low": 70100, "close": 70100, "volume": 6},
        ],
    }


def test_it_aggregates_five_minutes_and_hours(api_client, samsung):
    candles_record_ticks(
        [
            tick("A005930", 70000, at(0, 1), 1),
            tick("A005930", 70900, at(2, 1), 2),
            tick("A005930", 69500, at(4, 59), 3),
            tick("A005930", 70200, at(5, 0), 4),
            tick("A005930", 71000, at(59, 59), 5),
            tick("A005930", 70600, at(60, 0), 6),
        ]
    )
    window = {"from": at().isoformat(), "to": at(120).isoformat()}

    five = candles(api_client, interval="5m", **window)["candles"]
    hour = candles(api_client, interval="1h", **window)["candles"]

    assert [
        (b["time"] - int(T0.timestamp()), b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in five
    ] == [
        (0, 70000, 70900, 69500, 69500, 6),
        (300, 70200, 70200, 70200, 70200, 4),
        (3300, 71000, 71000, 71000, 71000, 5),
        (3600, 70600, 70600, 70600, 70600, 6),
    ]
    assert [
        (b["time"] - int(T0.timestamp()), b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in hour
    ] == [
        (0, 70000, 71000, 69500, 71000, 15),
        (3600, 70600, 70600, 70600, 70600, 6),
    ]


def test_days_are_seoul_calendar_days(api_client, samsung):
    seoul_midnight = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 2026-11-26 00:00 in Seoul
    candles_record_ticks(
        [
            tick("A005930", 70000, seoul_midnight - timedelta(hours=9), 1),  # 25 Nov 15:00 KST
            tick("A005930", 70500, seoul_midnight - timedelta(minutes=1), 2),  # 25 Nov 23:59 KST
            tick("A005930", 71000, seoul_midnight + timedelta(minutes=1), 3),  # 26 Nov 00:01 KST
        ]
    )

    body = candles(
        api_client, interval="1d", **{"from": "2026-11-24T00:00:00+09:00", "to": "2026-11-27T00:00:00+09:00"}
    )

    day_25 = int(datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp())  # 2026-11-25 00:00 KST
    assert [(b["time"], b["open"], b["close"], b["volume"]) for b in body["candles"]] == [
        (day_25, 70000, 70500, 3),
        (int(seoul_midnight.timestamp()), 71000, 71000, 3),
    ]


def test_by_default_it_answers_the_recent_bars_including_the_minute_in_progress(api_client, samsung):
    now = datetime(2026, 11, 25, 1, 30, 42, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        candles_record_ticks(
            [
                tick("A005930", 69000, now - timedelta(minutes=400), 1),  # beyond the 300 default bars
                tick("A005930", 70000, now - timedelta(minutes=299), 1),
                tick("A005930", 70100, now - timedelta(seconds=2), 1),  # the open minute
            ]
        )
        bars = candles(api_client)["candles"]

    assert [b["close"] for b in bars] == [70000, 70100]
    assert bars[-1]["time"] == int(now.replace(second=0).timestamp())


def test_epoch_seconds_and_naive_seoul_times_are_accepted(api_client, samsung):
    candles_record_ticks([tick("A005930", 70000, at(0, 1))])
    by_epoch = candles(api_client, **{"from": str(int(at().timestamp())), "to": str(int(at(1).timestamp()))})
    by_naive = candles(api_client, **{"from": "2026-11-25T09:00", "to": "2026-11-25T09:01"})
    assert by_epoch == by_naive
    assert len(by_epoch["candles"]) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"interval": "2m"},
        {"from": "yesterday"},
        {"to": "2026-13-01"},
        {"from": "2026-11-25T10:00:00+09:00", "to": "2026-11-25T09:00:00+09:00"},
        {"interval": "1m", "from": "2026-11-20T00:00:00+09:00", "to": "2026-11-25T00:00:00+09:00"},
        {"interval": "1d", "from": "2020-01-01T00:00:00+09:00", "to": "2026-01-01T00:00:00+09:00"},
        # out of datetime's reach once bars are counted back or converted (were 500s)
        {"to": "0001-01-01"},
        {"interval": "1d", "to": "0001-01-10"},
        {"from": "0001-01-01T00:00", "to": "0001-01-01T01:00"},
        {"from": "253402300000", "to": "253402300799"},
        {"to": "٣٣"},  # not ASCII digits
    ],
)
def test_bad_parameters_are_400(api_client, samsung, params):
    assert_error(api_client.get("/api/v1/stocks/A005930/candles", params), 400, "validation_error")


def test_an_unknown_stock_is_404(api_client):
    assert_error(api_client.get("/api/v1/stocks/A999999/candles"), 404, "stock_not_found")


# --- run_candles: the same service fed from stock:ticks by a process of its own -----------------


@pytest.mark.django_db(transaction=True)
def test_run_candles_records_what_is_published_on_stock_ticks():
    # pub/sub channels are server-wide: a code no other test publishes keeps stray ticks out
    StockFactory(code="A0CND01")
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    listeners_before = client.pubsub_numsub(TICKS_CHANNEL)[0][1]  # pub/sub is server-wide: others may listen

    def publish_once_it_listens():
        deadline = time.monotonic() + 5
        while client.pubsub_numsub(TICKS_CHANNEL)[0][1] <= listeners_before and time.monotonic() < deadline:
            time.sleep(0.02)
        batch = [tick("A0CND01", 70000, at(0, 1), 2), tick("A0CND01", 70200, at(0, 2), 3)]
        client.publish(TICKS_CHANNEL, json.dumps(batch))
        client.publish(TICKS_CHANNEL, json.dumps(tick("A0CND01", 69800, at(0, 3), 1)))
        client.publish(TICKS_CHANNEL, "garbage")

    publisher = threading.Thread(target=publish_once_it_listens, daemon=True)
    publisher.start()
    output = io.StringIO()
    call_command("run_candles", max_seconds=1.5, stdout=output)  # signal handlers need the main thread
    publisher.join(timeout=5)
    client.close()

    assert "run_candles stopped" in output.getvalue()
    (candle,) = Candle.objects.all()
    assert ohlcv(candle) == (70000, 70200, 69800, 69800, 6)


def test_one_tick_parser_serves_candles_and_the_matcher():
    good = {"code": "A0126Z0", "close": "70000", "volume": 3, "dt": "2026-03-03T00:00:05Z"}
    trade = trade_from_tick(good)
    assert (trade.code, trade.price, trade.volume) == ("A0126Z0", Decimal(70000), 3)
    assert trade.at == datetime(2026, 3, 3, 0, 0, 5, tzinfo=UTC)
    assert trade_from_tick({**good, "volume": -5}).volume is None  # never a negative trade volume
    assert trade_from_tick({"code": "A005930", "close": 1, "received_at": 0}).at == datetime(1970, 1, 1, tzinfo=UTC)
    bad = [{**good, "code": "a0126z0"}, {**good, "close": "NaN"}, {**good, "close": True}, {**good, "close": 0}, []]
    assert [trade_from_tick(tick) for tick in bad] == [None] * len(bad)
    assert parse_ticks(json.dumps([good, *bad])) == ([("A0126Z0", Decimal(70000), 3)], len(bad))
