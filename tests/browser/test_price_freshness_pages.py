"""In a real browser: a watchlisted price and the order ticket's current price turn to 지연 on their own, without a
reload, once they are older than PRICE_STALE_SECONDS (the moment the API's is_stale does)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from marketdata.prices import store_tick
from portfolio.services import watchlist_add_stock, watchlist_create
from tests.browser.session import log_in_new_trader
from tests.factories import StockFactory

CODE = "A0BRW32"  # a code no other browser test publishes


@pytest.fixture
def stale_soon(settings):
    """A price 57 s old: fresh when the page renders, stale three seconds later."""
    settings.PRICE_STALE_SECONDS = 60
    stock = StockFactory(code=CODE, name="브라우저지연")
    received = timezone.now() - timedelta(seconds=57)
    store_tick({"code": CODE, "close": 50_000, "base": 49_000, "dt": received.isoformat()}, received_at=received)
    return stock


def test_a_watchlisted_price_turns_delayed_without_a_reload(page: Page, live_server, stale_soon):
    trader = log_in_new_trader(page)
    watchlist = watchlist_create(user=trader, name="관심")
    watchlist_add_stock(user=trader, watchlist_id=watchlist.pk, stock=stale_soon)
    page.goto("/watchlists/")
    row = page.locator(f"tr[data-code={CODE}]")
    expect(row.locator(f"[data-price-for={CODE}]")).to_contain_text("50,000원")
    age = row.get_by_test_id("price-age")
    expect(age).to_be_hidden()
    expect(age).to_have_text("지연 1분", timeout=8_000)
    expect(age).to_be_visible()
    assert page.request.get(f"/api/v1/trading/realtime/stock/{CODE}").json()["is_stale"] is True


def test_the_order_tickets_price_turns_delayed_without_a_reload(page: Page, live_server, stale_soon):
    log_in_new_trader(page)
    page.goto(f"/stocks/{CODE}/")
    price = page.get_by_test_id("ticket-price")
    expect(price).to_contain_text("50,000원")
    expect(price.get_by_test_id("price-age")).to_be_hidden()
    expect(price.get_by_test_id("price-age")).to_have_text("지연 1분", timeout=8_000)
