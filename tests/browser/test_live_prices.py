"""Live prices in a real browser: pages and /ws/prices/ served by a real daphne (the `ws` process), ticks on Redis.

pytest-django's live server speaks WSGI only, so these tests start `daphne stocking.asgi:application`
on the test database (committed data: the `page` fixture's live_server makes the test transactional)
and open absolute URLs on it. Ticks are published on `stock:ticks` as the relay does.
"""

import json
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from marketdata.candles import INTERVALS, bucket_start, candles_record_ticks
from marketdata.prices import store_tick
from marketdata.relay.keys import TICKS_CHANNEL
from portfolio.services import watchlist_add_stock, watchlist_create
from tests.browser.session import log_in
from tests.factories import StockFactory, UserFactory, open_account_for

# About behaviour, not language: English pages (test_i18n_pages.py covers Korean, the default).
pytestmark = pytest.mark.language("en")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(tempfile.gettempdir()) / "stocking-live-screenshots"  # kept for a human to look at
# Pub/sub channels are server-wide: codes no other test publishes keep stray ticks out.
CODE, OTHER = "A0BRW01", "A0BRW02"


@pytest.fixture
def publish(redis_client):
    """What the relay does per batch: store each tick's price, then publish the batch."""

    def send(*bodies):
        for body in bodies:
            store_tick(body)
        redis_client.publish(TICKS_CHANNEL, json.dumps(list(bodies)))

    return send


def tick(code, close, base=50000, **extra):
    return {
        "code": code,
        "close": close,
        "base": base,
        "open": extra.pop("open", 49500),
        "high": extra.pop("high", max(close, 50500)),
        "low": extra.pop("low", min(close, 49000)),
        "volume": 10,
        "cumulativeVolume": 123456,
        "dt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        **extra,
    }


@pytest.fixture
def js_console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


CANDLES_DRAWN = """() => [...document.querySelectorAll('#stock-chart canvas')].some((canvas) => {
  if (!canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < pixels.length; i += 4) {
    // the up colour (#f04452) of a candle body
    if (pixels[i + 3] > 200 && pixels[i] > 200 && pixels[i + 1] < 120 && pixels[i + 2] < 130) return true;
  }
  return false;
})"""


def test_the_stock_page_follows_live_ticks_in_price_stats_and_chart(page: Page, daphne_url, publish, js_console_errors):
    StockFactory(code=CODE, name="라이브전자", name_en="Live Electronics", market_cap_rank=1)
    now = datetime.now(UTC)
    history = [
        (now - timedelta(minutes=minutes), price)
        for minutes, price in [(30, 49000), (20, 49500), (10, 49800), (5, 50200)]
    ]
    candles_record_ticks([{"code": CODE, "close": price, "volume": 100, "dt": at.isoformat()} for at, price in history])
    hours = {bucket_start(int(at.timestamp()), INTERVALS["1h"]) for at, _ in history}  # 1 or 2, by the clock
    store_tick(tick(CODE, 50000, high=50500, low=49000))

    page.goto(f"{daphne_url}/stocks/{CODE}/")
    expect(page.get_by_role("heading", name=re.compile("라이브전자"))).to_be_visible()
    expect(page.get_by_test_id("stock-price")).to_have_text("50,000원")
    expect(page.locator("[data-live-status]")).to_have_text("Simulated prices")
    chart = page.get_by_test_id("stock-chart")
    expect(chart).to_have_attribute("data-bars", "4")
    page.wait_for_function(CANDLES_DRAWN)
    expect(page.locator("#order-ticket")).to_have_count(1)

    publish(tick(CODE, 51000, high=51000))

    expect(page.get_by_test_id("stock-price")).to_have_text("51,000원")
    expect(page.get_by_test_id("stock-change")).to_have_text("+1,000원 (+2.00%)")
    expect(page.get_by_test_id("stock-change").locator("span")).to_have_class("up")
    expect(page.get_by_test_id("day-high")).to_have_text("51,000원")
    expect(page.get_by_test_id("stock-volume")).to_have_text("123,456")
    expect(chart).to_have_attribute("data-last-close", "51000")  # the live bar grew

    publish(tick(CODE, 49000, low=48500))
    expect(page.get_by_test_id("stock-price")).to_have_text("49,000원")
    expect(page.get_by_test_id("stock-change").locator("span")).to_have_class("down")
    expect(page.get_by_test_id("day-low")).to_have_text("48,500원")

    _screenshot(page, "stock-page-1m")
    page.locator(".chart-toolbar [data-interval='1h']").click()
    expect(chart).to_have_attribute("data-bars", str(len(hours)))
    _screenshot(page, "stock-page")
    assert js_console_errors == []


def test_market_rows_link_to_the_stock_page_and_flash_on_ticks(page: Page, daphne_url, publish, js_console_errors):
    StockFactory(code=CODE, name="라이브전자", market_cap_rank=1)
    StockFactory(code=OTHER, name="라이브화학", market_cap_rank=2)
    store_tick(tick(CODE, 50000))

    page.goto(f"{daphne_url}/market/")
    rows = page.get_by_test_id("stock-row")
    first, second = rows.nth(0), rows.nth(1)
    expect(first.locator("[data-live-field=price]")).to_have_text("50,000원")
    expect(second.locator("[data-live-field=price]")).to_have_text("–")
    expect(page.locator("[data-live-status]")).to_have_count(0)
    page.wait_for_function("() => window.StocKing && window.StocKing.livePrices")

    # the page subscribes on load; ticks published until then are simply missed, so repeat until one lands
    deadline = time.monotonic() + 10
    while first.locator("[data-live-field=price]").text_content() != "50,500원" and time.monotonic() < deadline:
        publish(tick(CODE, 50500), tick(OTHER, 30000, base=31000))
        time.sleep(0.2)
    expect(first.locator("[data-live-field=price]")).to_have_text("50,500원")
    expect(second.locator("[data-live-field=price]")).to_have_text("30,000원")
    expect(second.locator("[data-live-field=change_pct]")).to_have_text("-3.23%")
    publish(tick(CODE, 51000))
    expect(first).to_have_class(re.compile(r"\bflash-up\b"))
    _screenshot(page, "market")

    first.get_by_role("link", name="라이브전자").click()
    expect(page).to_have_url(re.compile(rf"/stocks/{CODE}/$"))
    expect(page.get_by_test_id("stock-price")).to_have_text("51,000원")
    assert js_console_errors == []


def test_watchlist_cells_fill_with_live_prices(page: Page, daphne_url, publish, js_console_errors):
    stock = StockFactory(code=CODE, name="라이브전자", market_cap_rank=1)
    trader = UserFactory()
    open_account_for(trader)
    watchlist = watchlist_create(user=trader, name="Chips")
    watchlist_add_stock(user=trader, watchlist_id=watchlist.pk, stock=stock)
    store_tick(tick(CODE, 50000, base=52000))

    log_in(page, trader, daphne_url)
    page.goto(f"{daphne_url}/watchlists/")

    cell = page.locator(f"[data-price-for={CODE}]")
    expect(cell).to_contain_text("50,000원")  # the stored price, sent on subscribe
    expect(cell).to_contain_text("-3.85%")
    publish(tick(CODE, 53000, base=52000))
    expect(cell).to_contain_text("53,000원")
    expect(cell.locator(".up")).to_have_text("+1.92%")
    _screenshot(page, "watchlists")
    assert js_console_errors == []


def test_the_portfolio_revalues_holdings_and_equity_as_prices_tick(page: Page, daphne_url, publish, js_console_errors):
    from trading.services import OrderRequest, order_place

    StockFactory(code=CODE, name="라이브전자", market_cap_rank=1)
    trader = UserFactory()
    open_account_for(trader)
    store_tick(tick(CODE, 50000))
    order_place(user=trader, request=OrderRequest(CODE, "BUY", "MARKET", quantity=10))  # cash 9,499,925

    log_in(page, trader, daphne_url)
    page.goto(f"{daphne_url}/portfolio/")
    row = page.get_by_test_id("holdings").locator(f"tr[data-code='{CODE}']")
    expect(row.locator("td").nth(4)).to_have_text("500,000원")  # value at 50,000
    publish(tick(CODE, 51000))
    expect(row.locator("td").nth(4)).to_have_text("510,000원")  # no reload
    expect(page.get_by_test_id("equity")).to_have_text("10,009,925원")  # the cards follow too
    assert js_console_errors == []
