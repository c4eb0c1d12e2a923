"""The market pages in a real browser (issue 15): a stale price turns to 지연 on its own at the moment the API says
is_stale, the index cards draw their mini charts and the index page its long chart, with no CSP violation and no
untranslated English on the Korean pages."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from marketdata.indices import INDEX_REALTIME_KEY
from marketdata.prices import store_tick
from marketdata.selectors import active_listings_cache_clear
from marketdata.services import market_indices_load
from tests.browser.i18n import assert_no_untranslated
from tests.browser.session import log_in
from tests.browser.test_csp import csp_violations, no_violations_so_far  # noqa: F401 (csp_violations: a fixture)
from tests.factories import StockFactory, UserFactory, open_account_for
from tests.korean_catalog import korean_catalog_with

CODE = "A0BRW31"  # a code no other browser test publishes

SPARK_DRAWN = """(selector) => [...document.querySelectorAll(selector + ' canvas')].some((canvas) => {
  if (!canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
  return false;
})"""


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    korean_catalog_with(settings, tmp_path, "h13")
    settings.MOVERS_CACHE_SECONDS = 0
    settings.MARKETDATA_SOURCE = "simulator"
    active_listings_cache_clear()
    yield
    active_listings_cache_clear()


@pytest.fixture
def indices(tmp_path):
    header = "Date,Open,High,Low,Close,Volume\n"
    files = {}
    for code, level in (("KOSPI", 5700.0), ("KOSDAQ", 1150.0)):
        day = timezone.localdate() - timedelta(days=120)
        lines = []
        for step in range(120):
            close = level + step * 1.5
            lines.append(f"{day + timedelta(days=step)},{close:.2f},{close + 5:.2f},{close - 5:.2f},{close:.2f},1000")
        files[code] = tmp_path / f"{code}.csv"
        files[code].write_text(header + "\n".join(lines) + "\n", "utf-8")
    market_indices_load(files=files)


def test_a_price_turns_delayed_on_the_page_when_the_api_says_is_stale(page: Page, settings, live_server):
    settings.PRICE_STALE_SECONDS = 60
    StockFactory(code=CODE, name="브라우저지연")
    received = timezone.now() - timedelta(seconds=57)
    store_tick({"code": CODE, "close": 50_000, "base": 49_000, "dt": received.isoformat()}, received_at=received)
    page.goto(f"/stocks/{CODE}/")
    age = page.get_by_test_id("price-age")
    expect(age).to_be_hidden()  # fresh when rendered: no 지연 yet
    expect(page.get_by_test_id("stock-price")).to_have_text("50,000원")
    expect(age).to_have_text("지연 1분", timeout=8_000)  # after 60 s, without a reload
    expect(age).to_be_visible()
    stale = page.request.get("/api/v1/market/movers?kind=gainers").json()["movers"][0]
    assert stale["code"] == CODE
    assert stale["is_stale"] is True


def test_an_old_stored_price_shows_delayed_with_its_age_on_the_market_list(page: Page, live_server):
    StockFactory(code=CODE, name="브라우저지연", market_cap_rank=1)
    received = timezone.now() - timedelta(minutes=3, seconds=10)
    store_tick({"code": CODE, "close": 50_000, "base": 49_000, "dt": received.isoformat()}, received_at=received)
    page.goto(f"/market/?q={CODE}")
    row = page.get_by_test_id("stock-row").first
    expect(row.get_by_test_id("price-age")).to_have_text("지연 3분")
    expect(page.get_by_test_id("movers-gainers").get_by_test_id("price-age")).to_have_text("지연 3분")


def test_index_cards_draw_their_charts_with_no_csp_violation_in_korean(
    page: Page,
    csp_violations,  # noqa: F811
    indices,
    redis_client,
    live_server,  # noqa: F811
):
    value = {"code": "KOSPI", "close": 5900.25, "base": 5878.5, "dt": timezone.now().isoformat(), "kind": "index"}
    value["received_at"] = timezone.now().isoformat()
    redis_client.set(INDEX_REALTIME_KEY.format(code="KOSPI"), json.dumps(value), ex=60)
    StockFactory(code=CODE, name="브라우저지수", market_cap_rank=1)
    store_tick({"code": CODE, "close": 50_000, "base": 49_000, "dt": timezone.now().isoformat()})
    page.goto("/market/")
    cards = page.get_by_test_id("index-card")
    expect(cards).to_have_count(2)
    expect(cards.first.get_by_test_id("index-value")).to_have_text("5,900.25")
    expect(cards.first.locator("[data-index-spark]")).to_have_attribute("data-points", "92")
    page.wait_for_function(SPARK_DRAWN, arg="[data-index-card], .index-card [data-index-spark]")
    expect(page.get_by_test_id("prices-source")).to_have_text("모의 시세")
    assert_no_untranslated(page, allow=["BRW"])  # the test stock's alphanumeric code, 0BRW31
    no_violations_so_far(page, csp_violations)

    cards.first.click()
    expect(page).to_have_url(f"{live_server.url}/market/indices/KOSPI/")
    chart = page.get_by_test_id("index-chart")
    expect(chart).to_have_attribute("data-points", "120")
    page.wait_for_function(SPARK_DRAWN, arg="#index-chart")
    page.get_by_role("button", name="1Y").click()
    expect(chart).to_have_attribute("data-range", "366")
    assert_no_untranslated(page)
    no_violations_so_far(page, csp_violations)


def test_the_dashboard_shows_cards_and_movers_with_no_csp_violation(page: Page, csp_violations, indices, live_server):  # noqa: F811
    trader = UserFactory()
    open_account_for(trader)
    StockFactory(code=CODE, name="브라우저대시", market_cap_rank=1)
    store_tick({"code": CODE, "close": 50_000, "base": 49_000, "dt": timezone.now().isoformat()})
    log_in(page, trader)
    expect(page.get_by_test_id("index-card")).to_have_count(2)
    expect(page.get_by_test_id("movers-gainers").get_by_role("link", name="브라우저대시")).to_be_visible()
    page.wait_for_function(SPARK_DRAWN, arg=".index-card [data-index-spark]")
    assert_no_untranslated(page, allow=[trader.username, "BRW"])
    no_violations_so_far(page, csp_violations)
