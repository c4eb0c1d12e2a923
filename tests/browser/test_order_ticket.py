"""The order ticket on the stock page and the fill toast, against a real daphne (HTTP + /ws/account/)."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from marketdata.prices import store_tick
from tests.browser.htmx import htmx_settled
from tests.browser.session import log_in_new_trader
from tests.factories import StockFactory
from trading.models import Order
from trading.services import orders_match_tick

# About behaviour, not language: English pages (test_i18n_pages.py covers Korean, the default).
pytestmark = pytest.mark.language("en")

CODE = "A0BRW11"  # a code no other test publishes ticks for


def test_a_trader_buys_at_market_rests_a_limit_and_sees_the_fill_toast(page: Page, daphne_url):
    stock = StockFactory(code=CODE, name="티켓전자", name_en="Ticket Electronics")
    store_tick({"code": CODE, "close": 50_000, "base": 50_000, "volume": 100})
    log_in_new_trader(page, daphne_url)

    page.goto(f"{daphne_url}/stocks/{CODE}/")
    ticket = page.get_by_test_id("order-ticket")
    expect(ticket).to_be_visible()
    htmx_settled(page)  # the ticket is loaded into the page by htmx
    ticket.locator("[name=quantity]").fill("3")
    expect(ticket.get_by_test_id("estimate")).to_have_text("150,022원")  # 150,000 + 22 commission
    ticket.get_by_test_id("place-order").click()
    page.get_by_test_id("confirm-order").click()  # the confirmation dialog
    expect(page.get_by_test_id("order-result")).to_contain_text("3 filled at 50,000원")
    expect(page.locator("#toasts")).to_contain_text("Filled: bought 3 티켓전자 at 50,000원")

    # a resting limit buy, filled later by the matcher when a tick crosses it
    htmx_settled(page)
    ticket = page.get_by_test_id("order-ticket")
    ticket.locator("[name=order_type]").select_option("LIMIT")
    ticket.locator("[name=limit_price]").fill("49020")
    ticket.locator("[name=limit_price]").blur()
    ticket.get_by_test_id("tick-choice").get_by_role("button", name="49,000원").click()  # never changed silently
    expect(ticket.locator("[name=limit_price]")).to_have_value("49000")
    ticket.locator("[name=quantity]").fill("2")
    ticket.get_by_test_id("place-order").click()
    page.get_by_test_id("confirm-order").click()
    expect(page.get_by_test_id("order-result")).to_contain_text("open")
    order = Order.objects.get(order_type="LIMIT")

    orders_match_tick(stock=stock, price=Decimal(48_950))
    expect(page.locator("#toasts")).to_contain_text("Filled: bought 2 티켓전자 at 48,950원")
    assert Order.objects.get(pk=order.pk).status == "FILLED"
    expect(ticket.get_by_test_id("ticket-shares")).to_have_text("5")  # the ticket follows the fill

    page.goto(f"{daphne_url}/portfolio/")
    expect(page.get_by_test_id("holdings")).to_contain_text("티켓전자")
    expect(page.get_by_test_id("holdings").locator(f"tr[data-code='{CODE}'] td").nth(1)).to_contain_text("5")

    # a fill from elsewhere (another tab, the API) moves the withdrawal limit too, without a reload
    from trading.services import OrderRequest, order_place

    limit = page.locator("#withdraw-limit")
    before = limit.inner_text()
    expect(page.locator("body")).to_have_attribute("data-account-stream", "live")  # this page's stream is up
    order_place(user=Order.objects.get(pk=order.pk).account.user, request=OrderRequest(CODE, "BUY", "MARKET", 1))
    expect(limit).not_to_have_text(before)


def test_after_a_reset_the_open_page_follows_the_new_accounts_fills(page: Page, daphne_url):
    from portfolio.services import account_reset
    from trading.services import OrderRequest, order_place

    StockFactory(code=CODE, name="티켓전자", name_en="Ticket Electronics")
    store_tick({"code": CODE, "close": 50_000, "base": 50_000, "volume": 100})
    trader = log_in_new_trader(page, daphne_url)
    expect(page.locator("body")).to_have_attribute("data-account-stream", "live")  # hello received

    expect(page.get_by_test_id("dashboard-cards")).to_contain_text("0 holdings")
    order_place(user=trader, request=OrderRequest(CODE, "BUY", "MARKET", quantity=1))
    expect(page.locator("#toasts")).to_contain_text("Filled: bought 1 티켓전자")
    expect(page.get_by_test_id("dashboard-cards")).to_contain_text("1 holding")  # without a reload
    account_reset(user=trader)  # e.g. from another tab
    order_place(user=trader, request=OrderRequest(CODE, "BUY", "MARKET", quantity=4))
    expect(page.locator("#toasts")).to_contain_text("Filled: bought 4 티켓전자")


def test_price_arrows_step_on_the_tick_grid_and_the_estimate_follows_the_side(page: Page, daphne_url):
    StockFactory(code=CODE, name="티켓전자", name_en="Ticket Electronics")
    store_tick({"code": CODE, "close": 50_000, "base": 50_000, "volume": 100})
    log_in_new_trader(page, daphne_url)
    page.goto(f"{daphne_url}/stocks/{CODE}/")
    htmx_settled(page)
    ticket = page.get_by_test_id("order-ticket")
    ticket.locator("[name=order_type]").select_option("LIMIT")
    limit = ticket.locator("[name=limit_price]")
    expect(limit).to_have_value("50000")
    limit.press("ArrowUp")
    expect(limit).to_have_value("50100")  # 100-won ticks from 50,000
    limit.press("ArrowDown")
    limit.press("ArrowDown")
    expect(limit).to_have_value("49950")  # 50-won ticks below 50,000
    expect(ticket.get_by_test_id("estimate-label")).to_have_text("Estimated cost")
    ticket.locator(".side-sell").click()
    expect(ticket.get_by_test_id("estimate-label")).to_have_text("Estimated proceeds")
    expect(ticket).to_contain_text("Commission 0.015% of value; sell tax 0.2%")

    # a sell stop at or above the market would trigger at once: the ticket says so before placing
    ticket.locator("[name=order_type]").select_option("STOP")
    ticket.locator("[name=stop_price]").fill("49000")
    expect(ticket.get_by_test_id("stop-crossed")).to_be_hidden()
    ticket.locator("[name=stop_price]").fill("51000")
    expect(ticket.get_by_test_id("stop-crossed")).to_be_visible()


def test_a_fill_between_page_load_and_the_account_socket_is_still_shown(page: Page, daphne_url):
    import re

    from trading.services import OrderRequest, order_place

    StockFactory(code=CODE, name="티켓전자", name_en="Ticket Electronics")
    store_tick({"code": CODE, "close": 50_000, "base": 50_000, "volume": 100})
    trader = log_in_new_trader(page, daphne_url)
    held = []  # the portfolio page's /ws/account/, kept from the server until the order is in
    page.route_web_socket(re.compile(r".*/ws/account/$"), lambda ws: held.append(ws))
    page.goto(f"{daphne_url}/portfolio/")
    while not held:
        page.wait_for_timeout(50)

    order_place(user=trader, request=OrderRequest(CODE, "BUY", "MARKET", quantity=2))
    held[0].connect_to_server()

    expect(page.locator("#toasts")).to_contain_text("Filled: bought 2 티켓전자")  # replayed from the render's seq
    expect(page.get_by_test_id("holdings")).to_contain_text("티켓전자")  # and the page refreshed
