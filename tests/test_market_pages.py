"""The market pages (issue 15): KOSPI/KOSDAQ cards, movers, the index page, and honest labels — 모의 시세 for the
simulator and never "live", 지연 with its age for a stale price at the moment the API says is_stale, the KRX session
or the round-the-clock simulated market (docs/architecture.md §7)."""

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from django.utils import timezone

from marketdata.indices import INDEX_REALTIME_KEY
from marketdata.prices import store_tick
from marketdata.selectors import active_listings_cache_clear
from marketdata.services import market_indices_load
from tests.factories import StockFactory, UserFactory, open_account_for
from tests.korean_catalog import korean_catalog_with

pytestmark = pytest.mark.django_db

KST = timezone.get_fixed_timezone(9 * 60)
HEADER = "Date,Open,High,Low,Close,Volume\n"


@pytest.fixture(autouse=True)
def _korean(settings, tmp_path):
    korean_catalog_with(settings, tmp_path, "h13")
    settings.MOVERS_CACHE_SECONDS = 0
    active_listings_cache_clear()
    yield
    active_listings_cache_clear()


@pytest.fixture
def indices(tmp_path):
    rows = {
        "KOSPI": ["2026-03-19,5761.40,5863.39,5700.00,5763.22,1", "2026-03-20,5813.35,5833.68,5764.64,5781.20,1"],
        "KOSDAQ": ["2026-03-19,1140.00,1150.00,1130.00,1143.48,1", "2026-03-20,1153.67,1165.96,1144.37,1161.52,1"],
    }
    files = {}
    for code, lines in rows.items():
        files[code] = tmp_path / f"{code}.csv"
        files[code].write_text(HEADER + "\n".join(lines) + "\n", "utf-8")
    market_indices_load(files=files)


def store_index(redis_client, code, close, base, *, received_at=None):
    value = {"code": code, "close": close, "base": base, "dt": "2026-12-07T01:00:00+00:00", "kind": "index"}
    value["received_at"] = (received_at or timezone.now()).isoformat()
    redis_client.set(INDEX_REALTIME_KEY.format(code=code), json.dumps(value), ex=3600)


def tick(code, close, base, *, received_at=None, volume=1000):
    store_tick(
        {
            "code": code,
            "close": close,
            "base": base,
            "volume": 1,
            "cumulativeVolume": volume,
            "dt": "2026-12-07T01:00:00Z",
        },
        received_at=received_at,
    )


def visible_text(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def korean(client):
    client.cookies["django_language"] = "ko"
    return client


def english(client):
    client.cookies["django_language"] = "en"
    return client


# --- index cards and the index page ---------------------------------------------------------------


def test_market_page_shows_both_index_cards_with_the_last_close_when_no_live_value(client, indices):
    text = visible_text(korean(client).get("/market/"))
    assert "코스피" in text
    assert "5,781.20" in text
    assert "+17.98 (+0.31%)" in text
    assert "코스닥" in text
    assert "1,161.52" in text
    assert "2026-03-20 종가" in text  # a daily close says so, it never passes for a live value


def test_index_cards_show_the_live_value_rising_red_falling_blue(client, indices, redis_client):
    store_index(redis_client, "KOSPI", "5800.50", "5781.20")
    store_index(redis_client, "KOSDAQ", "1150.00", "1161.52")
    html = korean(client).get("/market/").content.decode()
    kospi = html[html.index('data-index-code="KOSPI"') :]
    assert re.search(r'data-live-field="points">5,800.50<', kospi)
    assert '<span class="up">+19.30 (+0.33%)</span>' in kospi
    kosdaq = html[html.index('data-index-code="KOSDAQ"') :]
    assert '<span class="down">-11.52 (-0.99%)</span>' in kosdaq
    assert 'href="/market/indices/KOSPI/"' in html
    assert "data-index-spark" in html


def test_dashboard_shows_the_index_cards_and_movers(client, indices, redis_client):
    trader = UserFactory()
    open_account_for(trader)
    client.force_login(trader)
    StockFactory(code="A005930", name="삼성전자", market_cap_rank=1)
    tick("A005930", 200_000, 190_000)
    response = korean(client).get("/dashboard/")
    html = response.content.decode()
    assert html.count('data-testid="index-card"') == 2
    assert 'data-testid="movers-gainers"' in html
    assert 'href="/stocks/A005930/"' in html
    assert "js/index-chart.js" in html


def test_index_page_has_the_long_chart_range_buttons_and_the_value(client, indices, redis_client):
    store_index(redis_client, "KOSDAQ", "1170.00", "1161.52")
    response = korean(client).get("/market/indices/KOSDAQ/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="index-chart"' in html
    assert 'data-history-url="/api/v1/market/indices/KOSDAQ/history"' in html
    assert re.findall(r"data-range-days=\"(\d+)\"", html) == ["31", "92", "366", "1831", "0"]
    assert ">전체</button>" in html
    assert "1,170.00" in html


def test_index_page_of_an_unknown_index_is_404_and_lower_case_redirects(client, indices):
    assert client.get("/market/indices/NIKKEI/").status_code == 404
    response = client.get("/market/indices/kospi/")
    assert response.status_code == 301
    assert response["Location"] == "/market/indices/KOSPI/"


# --- movers ---------------------------------------------------------------------------------------


def test_movers_list_gainers_losers_and_volume_with_links(client):
    for code, rank, close, base, volume in [
        ("A000001", 1, 11_000, 10_000, 10),
        ("A000002", 2, 9_000, 10_000, 99_000),
        ("A000003", 3, 10_500, 10_000, 500),
    ]:
        StockFactory(code=code, name=f"종목{code}", market_cap_rank=rank)
        tick(code, close, base, volume=volume)
    html = english(client).get("/market/movers/").content.decode()

    def codes(kind):
        section = html[html.index(f'data-testid="movers-{kind}"') :]
        section = section[: section.index("</ol>")]
        return re.findall(r'href="/stocks/(A\w+)/"', section)

    assert codes("gainers") == ["A000001", "A000003"]
    assert codes("losers") == ["A000002"]
    assert codes("volume") == ["A000002", "A000003", "A000001"]
    assert 'hx-trigger="every 5s"' in html  # refreshed by htmx


# --- honesty of the source --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/market/", "/stocks/A005930/", "/market/indices/KOSPI/"])
def test_simulated_prices_are_labelled_and_never_called_live(client, settings, indices, path):
    settings.MARKETDATA_SOURCE = "simulator"
    StockFactory(code="A005930", name="삼성전자")
    tick("A005930", 200_000, 190_000)
    ko = visible_text(korean(client).get(path))
    assert "모의 시세" in ko
    assert "실시간" not in ko
    en = visible_text(english(client).get(path))
    assert "Simulated prices" in en
    assert not re.search(r"\b(live|real-time)\b", en, flags=re.I), en


def test_a_real_feed_is_named_as_real_time(client, settings):
    settings.MARKETDATA_SOURCE = "toss"
    text = visible_text(korean(client).get("/market/"))
    assert "실시간 시세" in text
    assert "모의 시세" not in text


def test_a_stale_price_says_delayed_with_its_age_exactly_when_the_api_says_is_stale(client, api_client, settings):
    settings.PRICE_STALE_SECONDS = 60
    StockFactory(code="A005930", name="삼성전자")
    received = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    tick("A005930", 200_000, 190_000, received_at=received)

    def api_is_stale():
        return api_client.get("/api/v1/market/movers?kind=gainers").json()["movers"][0]["is_stale"]

    with time_machine.travel(received + timedelta(seconds=60), tick=False):  # is_stale: older than 60 s
        assert api_is_stale() is False
        for path in ("/stocks/A005930/", "/market/"):
            assert "지연" not in visible_text(korean(client).get(path))
    with time_machine.travel(received + timedelta(seconds=61), tick=False):
        assert api_is_stale() is True
        assert "지연 1분" in visible_text(korean(client).get("/stocks/A005930/"))
    with time_machine.travel(received + timedelta(minutes=3, seconds=5), tick=False):
        for path in ("/stocks/A005930/", "/market/", "/market/movers/"):
            assert "지연 3분" in visible_text(korean(client).get(path)), path
        assert "Delayed 3 min" in visible_text(english(client).get("/stocks/A005930/"))


def test_a_stale_index_value_says_delayed(client, indices, redis_client):
    store_index(redis_client, "KOSPI", "5800.50", "5781.20", received_at=timezone.now() - timedelta(minutes=5))
    text = visible_text(korean(client).get("/market/indices/KOSPI/"))
    assert "지연 5분" in text


# --- the session ---------------------------------------------------------------------------------


def test_with_hours_not_enforced_the_simulated_market_is_open_around_the_clock(client, settings):
    settings.MARKET_HOURS_ENFORCED = False
    settings.MARKETDATA_SOURCE = "simulator"
    with time_machine.travel(datetime(2026, 3, 21, 3, 0, tzinfo=UTC), tick=False):  # a Saturday
        text = visible_text(korean(client).get("/market/"))
    assert "24시간 모의 장" in text
    assert "장 마감" not in text


@pytest.mark.parametrize(
    ("moment", "label"),
    [
        (datetime(2026, 3, 20, 7, 30, tzinfo=KST), "장 시작 전 · 3/20 (금요일) 09:00 개장"),  # Friday 07:30 KST
        (datetime(2026, 3, 20, 10, 0, tzinfo=KST), "장중"),
        (datetime(2026, 3, 20, 15, 30, tzinfo=KST), "장 마감 · 다음 개장 3/23 (월요일) 09:00"),  # at the close
        (datetime(2026, 3, 22, 12, 0, tzinfo=KST), "장 마감 · 다음 개장 3/23 (월요일) 09:00"),  # Sunday
    ],
)
def test_with_hours_enforced_the_pages_show_the_krx_session_and_the_next_open(client, settings, moment, label):
    settings.MARKET_HOURS_ENFORCED = True
    with time_machine.travel(moment, tick=False):
        text = visible_text(korean(client).get("/market/"))
    assert label in text
    assert "24시간" not in text
