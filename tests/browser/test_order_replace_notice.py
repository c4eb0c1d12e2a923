"""정정's answer stays on the page: the working-order lists refresh themselves on every account event (the replace
itself sends two, a cancel and a new order), and the answer used to live inside them, so it could vanish before
anyone read it (the English walk-through lost `replace-result` that way)."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from marketdata.prices import store_tick
from tests.browser.htmx import htmx_settled
from tests.browser.session import log_in_new_trader
from tests.factories import StockFactory
from trading.models import Order
from trading.services import OrderRequest, order_place

pytestmark = pytest.mark.language("en")

CODE = "A0RPN11"  # a code no other test publishes ticks for


def _resting_limit(trader) -> Order:
    store_tick({"code": CODE, "close": 50_000, "base": 50_000, "volume": 100})
    order, _ = order_place(user=trader, request=OrderRequest(CODE, "BUY", "LIMIT", 2, limit_price=Decimal(49_000)))
    assert order.status == "OPEN"
    return order


def _account_event_refresh(page: Page) -> None:
    """What /ws/account/ does on an order or balance event: every list listening for account-changed refetches."""
    page.evaluate("document.body.dispatchEvent(new CustomEvent('account-changed'))")
    htmx_settled(page)


def test_the_replace_answer_outlives_the_orders_pages_refresh(page: Page, daphne_url):
    StockFactory(code=CODE, name="정정전자")
    trader = log_in_new_trader(page, daphne_url)
    order = _resting_limit(trader)

    page.goto(f"{daphne_url}/orders/")
    page.locator(f"tr[data-order-id='{order.pk}'] details.replace-order summary").click()
    form = page.get_by_test_id(f"replace-form-{order.pk}")
    form.locator("[name=limit_price]").fill("48900")
    form.locator("button[type=submit]").click()
    result = page.get_by_test_id("replace-result")
    expect(result).to_be_visible()
    replacement = Order.objects.get(replaces=order)

    _account_event_refresh(page)
    expect(result).to_contain_text(f"#{replacement.pk}")  # still there after the list was fetched again
    expect(page.locator(f"tr[data-order-id='{replacement.pk}']")).to_contain_text("48,900원")

    # the next action's answer replaces it
    page.locator(f"tr[data-order-id='{replacement.pk}'] form[action$='/cancel/'] button").click()
    expect(page.get_by_test_id("open-orders")).to_contain_text("No open orders.")
    expect(result).to_have_count(0)


def test_the_replace_answer_outlives_the_stock_pages_refresh(page: Page, daphne_url):
    StockFactory(code=CODE, name="정정전자")
    trader = log_in_new_trader(page, daphne_url)
    order = _resting_limit(trader)

    page.goto(f"{daphne_url}/stocks/{CODE}/")
    htmx_settled(page)
    orders = page.get_by_test_id("stock-orders")
    orders.locator(f"li[data-order-id='{order.pk}'] details.replace-order summary").click()
    form = page.get_by_test_id(f"replace-form-{order.pk}")
    form.locator("[name=quantity]").fill("3")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("replace-result")).to_be_visible()
    replacement = Order.objects.get(replaces=order)

    _account_event_refresh(page)
    expect(page.get_by_test_id("replace-result")).to_contain_text(f"#{replacement.pk}")
    expect(orders.locator(f"li[data-order-id='{replacement.pk}']")).to_contain_text("3 shares")
