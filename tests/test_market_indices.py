import csv
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from marketdata.indices import INDEX_REALTIME_KEY
from marketdata.models import MarketIndex, MarketIndexDay
from marketdata.services import DEFAULT_INDEX_CSVS, market_indices_load
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

HEADER = "Date,Open,High,Low,Close,Volume\n"


def _history(path, *rows: str):
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), "utf-8")
    return path


@pytest.fixture
def small_history(tmp_path):
    """Three KOSPI days and two KOSDAQ days, loaded."""
    market_indices_load(
        files={
            "KOSPI": _history(
                tmp_path / "ks.csv",
                "2026-03-18,5767.10,5934.35,5766.14,5925.03,1143771673",
                "2026-03-19,5761.40,5863.39,5700.00,5763.22,1100000000",
                "2026-03-20,5813.35,5833.68,5764.64,5781.20,1490805229",
            ),
            "KOSDAQ": _history(
                tmp_path / "kq.csv",
                "2026-03-19,1140.00,1150.00,1130.00,1143.48,1000",
                "2026-03-20,1153.67,1165.96,1144.37,1161.52,1251344650",
            ),
        }
    )


def _store_index(redis_client, code, close, base, *, received_at=None, **extra):
    value = {"code": code, "close": close, "base": base, "dt": "2026-12-07T01:00:00+00:00", **extra}
    value["received_at"] = (received_at or timezone.now()).isoformat()
    redis_client.set(INDEX_REALTIME_KEY.format(code=code), json.dumps(value), ex=3600)


# --- loading -----------------------------------------------------------------------------------


def test_load_indices_loads_the_shipped_history_of_both_indices_and_is_idempotent():
    expected = {}
    for code, path in DEFAULT_INDEX_CSVS.items():
        with open(path, encoding="utf-8") as f:
            expected[code] = len(list(csv.DictReader(f)))
    assert sum(expected.values()) > 15_000

    call_command("load_indices")

    kospi, kosdaq = MarketIndex.objects.get(code="KOSPI"), MarketIndex.objects.get(code="KOSDAQ")
    assert (kospi.name, kospi.feed_code, kosdaq.name, kosdaq.feed_code) == ("코스피", "KGG01P", "코스닥", "QGG01P")
    assert kospi.days.count() == expected["KOSPI"]
    assert kosdaq.days.count() == expected["KOSDAQ"]
    assert kospi.days.order_by("date").first().date == date(1995, 5, 2)
    last = kospi.days.get(date=date(2026, 3, 20))
    assert (last.open, last.high, last.low, last.close) == tuple(
        Decimal(v) for v in ("5813.35", "5833.68", "5764.64", "5781.20")
    )
    assert last.volume == 1_490_805_229
    assert kosdaq.days.order_by("date").first().date == date(1996, 7, 1)

    pks = set(MarketIndexDay.objects.values_list("pk", flat=True))
    call_command("load_indices")
    assert set(MarketIndexDay.objects.values_list("pk", flat=True)) == pks


def test_a_reload_corrects_a_changed_day_in_place_and_keeps_an_edited_feed_code(tmp_path):
    market_indices_load(files={"KOSPI": _history(tmp_path / "a.csv", "2026-03-20,5813.35,5833.68,5764.64,5781.20,1")})
    MarketIndex.objects.filter(code="KOSPI").update(feed_code="NEW01P")  # the unofficial feed renamed it
    day = MarketIndexDay.objects.get()

    market_indices_load(
        files={
            "KOSPI": _history(
                tmp_path / "b.csv",
                "2026-03-20,5813.35,5833.68,5764.64,5781.25,2",
                "2026-03-23,5790.00,5800.00,5700.00,5710.00,3",
            )
        }
    )

    day.refresh_from_db()
    assert (day.close, day.volume) == (Decimal("5781.25"), 2)
    assert MarketIndexDay.objects.count() == 2
    assert MarketIndex.objects.get(code="KOSPI").feed_code == "NEW01P"


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("2026-02-30,1,1,1,1,1", "line 3: bad date"),
        ("2026-03-20,1,1,1,1,1", "line 3: 2026-03-20 is listed twice"),
        ("2026-03-23,1,2,3,1,1", "line 3: open and close must lie within low … high"),
        ("2026-03-23,1,1,1,x,1", "line 3: Close"),
        ("2026-03-23,1,1,1,0,1", "line 3: Close must be a positive number"),
        ("2026-03-23,1,1,1,1,-1", "line 3: Volume is negative"),
    ],
)
def test_load_indices_rejects_a_bad_row_and_writes_nothing(tmp_path, bad_row, message):
    bad = _history(tmp_path / "bad.csv", "2026-03-20,5813.35,5833.68,5764.64,5781.20,1", bad_row)
    with pytest.raises(ValidationError, match=message):
        market_indices_load(files={"KOSPI": bad})
    assert MarketIndexDay.objects.count() == 0
    assert MarketIndex.objects.count() == 0


# --- GET market/indices ------------------------------------------------------------------------


def test_indices_fall_back_to_the_last_daily_close_marked_stale(api_client, small_history):
    response = api_client.get("/api/v1/market/indices")
    assert response.status_code == 200
    kospi, kosdaq = response.json()["indices"]
    assert kospi == {
        "code": "KOSPI",
        "name": "코스피",
        "name_en": "KOSPI",
        "value": 5781.2,
        "change": 17.98,  # 5781.20 - 5763.22
        "change_pct": 0.31,
        "dt": "2026-03-20T15:30:00+09:00",
        "is_stale": True,
        "source": "krx_close",
    }
    assert (kosdaq["code"], kosdaq["name"], kosdaq["value"], kosdaq["change"]) == ("KOSDAQ", "코스닥", 1161.52, 18.04)


def test_indices_read_the_live_value_from_redis(api_client, small_history, redis_client):
    _store_index(redis_client, "KOSPI", 5800.5, 5781.2)
    _store_index(redis_client, "KOSDAQ", 1150, 1161.52, source="toss")
    kospi, kosdaq = api_client.get("/api/v1/market/indices").json()["indices"]
    assert kospi["value"] == 5800.5
    assert kospi["change"] == 19.3
    assert kospi["change_pct"] == 0.33
    assert kospi["dt"] == "2026-12-07T01:00:00+00:00"
    assert kospi["is_stale"] is False
    assert kospi["source"] == settings.MARKETDATA_SOURCE
    assert (kosdaq["value"], kosdaq["change"], kosdaq["change_pct"], kosdaq["source"]) == (1150, -11.52, -0.99, "toss")


def test_a_live_value_older_than_the_stale_limit_is_stale(api_client, small_history, redis_client):
    old = timezone.now() - timedelta(seconds=settings.PRICE_STALE_SECONDS + 5)
    _store_index(redis_client, "KOSPI", 5800.5, 5781.2, received_at=old)
    kospi = api_client.get("/api/v1/market/indices").json()["indices"][0]
    assert (kospi["value"], kospi["is_stale"]) == (5800.5, True)


def test_an_unreadable_live_value_falls_back_to_the_history(api_client, small_history, redis_client):
    redis_client.set(INDEX_REALTIME_KEY.format(code="KOSPI"), "{not json")
    _store_index(redis_client, "KOSDAQ", "NaN", 1161.52)
    kospi, kosdaq = api_client.get("/api/v1/market/indices").json()["indices"]
    assert (kospi["value"], kospi["source"]) == (5781.2, "krx_close")
    assert (kosdaq["value"], kosdaq["source"]) == (1161.52, "krx_close")


def test_indices_without_history_or_live_value_are_an_empty_list(api_client):
    assert api_client.get("/api/v1/market/indices").json() == {"indices": []}


# --- GET market/indices/{code}/history -----------------------------------------------------------


def test_history_answers_the_daily_bars_in_range_oldest_first(api_client, small_history):
    response = api_client.get("/api/v1/market/indices/kospi/history", {"from": "2026-03-19", "to": "2026-03-20"})
    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["name"]) == ("KOSPI", "코스피")
    assert body["days"] == [
        {"date": "2026-03-19", "open": 5761.4, "high": 5863.39, "low": 5700.0, "close": 5763.22, "volume": 1100000000},
        {"date": "2026-03-20", "open": 5813.35, "high": 5833.68, "low": 5764.64, "close": 5781.2, "volume": 1490805229},
    ]
    everything = api_client.get("/api/v1/market/indices/KOSPI/history").json()["days"]
    assert [d["date"] for d in everything] == ["2026-03-18", "2026-03-19", "2026-03-20"]
    assert api_client.get("/api/v1/market/indices/KOSDAQ/history", {"to": "2026-03-19"}).json()["days"][0]["close"] == (
        1143.48
    )
    assert api_client.get("/api/v1/market/indices/KOSPI/history", {"from": "2026-04-01"}).json()["days"] == []


def test_history_of_an_unknown_index_is_404(api_client, small_history):
    assert_error(api_client.get("/api/v1/market/indices/NYSE/history"), 404, "index_not_found")
    assert_error(api_client.get("/api/v1/market/indices/A005930/history"), 404, "index_not_found")


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-03-20", "to": "2026-03-19"},  # inverted
        {"from": "1970-01-01"},  # before the range served
        {"to": "2100-01-01"},
        {"from": "2026-02-30"},
        {"to": "yesterday"},
        {"from": "2026-03-20T00:00:00"},
    ],
)
def test_history_rejects_inverted_malformed_or_out_of_range_dates(api_client, small_history, params):
    error = assert_error(api_client.get("/api/v1/market/indices/KOSPI/history", params), 400, "validation_error")
    assert set(error["details"]) <= {"from", "to"}


def test_admin_lists_the_indices_and_their_days_and_edits_only_the_feed_code(admin_client, small_history):
    kospi = MarketIndex.objects.get(code="KOSPI")
    assert "KGG01P" in admin_client.get("/admin/marketdata/marketindex/").content.decode()
    assert "5781.20" in admin_client.get("/admin/marketdata/marketindexday/").content.decode().replace(",", "")
    response = admin_client.post(
        f"/admin/marketdata/marketindex/{kospi.pk}/change/",
        {"name": "코스피", "name_en": "KOSPI", "feed_code": "KGG02P"},
    )
    assert response.status_code == 302, response.content[:500]
    kospi.refresh_from_db()
    assert (kospi.code, kospi.feed_code) == ("KOSPI", "KGG02P")
    assert admin_client.get("/admin/marketdata/marketindex/add/").status_code == 403
