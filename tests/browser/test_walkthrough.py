"""The walk-through of issue 14: sign-up → deposit → market buy → limit buy → 정정 → 취소 → sell, through the pages
only, in Korean (desktop and a 390 px phone) and once in English; every page it visits shows no untranslated
English in Korean. Prices come from ticks written to Redis, as the relay writes them, so market orders fill."""

import re

import pytest
from playwright.sync_api import Page, expect

from marketdata.prices import store_tick
from portfolio.models import Holding
from tests.browser.htmx import htmx_settled
from tests.browser.i18n import assert_no_untranslated
from tests.factories import DEFAULT_PASSWORD, StockFactory
from trading.models import Order

CODE = "A0WLK11"  # a code no other test publishes ticks for
NAME = "산책전자"
PHONE = {"width": 390, "height": 844}

WORDS = {
    "ko": {
        "buy": "매수",
        "sell": "매도",
        "market": "시장가",
        "limit": "지정가",
        "shares": "3주",
        "no_open": "미체결 주문이 없습니다.",
    },
    "en": {
        "buy": "Buy",
        "sell": "Sell",
        "market": "Market",
        "limit": "Limit",
        "shares": "3 shares",
        "no_open": "No open orders.",
    },
}


def _tick():
    store_tick({"code": CODE, "close": 50_000, "base": 50_000, "volume": 100})  # fresh for each market order


def _check(page: Page, language: str, username: str) -> None:
    htmx_settled(page)
    if language == "ko":
        assert_no_untranslated(page, allow=[username])


def _fits_the_width(page: Page) -> None:
    """Nothing sticks out of the page sideways (tables scroll inside their own box)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


def _place(page: Page, expected: list[str]) -> None:
    ticket = page.get_by_test_id("order-ticket")
    ticket.get_by_test_id("place-order").click()
    dialog = page.get_by_test_id("order-confirm")
    expect(dialog).to_be_visible()
    for text in expected:
        expect(dialog).to_contain_text(text)
    page.get_by_test_id("confirm-order").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("order-result")).to_be_visible()


@pytest.mark.parametrize(
    ("language", "viewport"),
    [("ko", None), ("ko", PHONE), ("en", None)],
    ids=["korean-desktop", "korean-390px", "english-desktop"],
)
def test_a_new_trader_walks_from_sign_up_to_a_sale(page: Page, daphne_url, language, viewport):
    StockFactory(code=CODE, name=NAME, name_en="Walk Electronics")
    _tick()
    words = WORDS[language]
    username = f"walker{language}{(viewport or {}).get('width', 1280)}"
    if viewport:
        page.set_viewport_size(viewport)

    # sign-up (Korean by default; English through the switcher)
    page.goto(f"{daphne_url}/signup/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    if language == "en":
        page.locator(".lang-switch button[value=en]").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    _check(page, language, username)
    page.locator("[name=username]").fill(username)
    page.locator("[name=email]").fill(f"{username}@example.com")
    page.locator("[name=password1]").fill(DEFAULT_PASSWORD)
    page.locator("[name=password2]").fill(DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    _check(page, language, username)

    # deposit
    page.goto(f"{daphne_url}/portfolio/")
    _check(page, language, username)
    deposit = page.get_by_test_id("deposit-form")
    deposit.locator("[name=deposit-amount]").fill("1000000")
    deposit.locator("button[type=submit]").click()
    expect(page.get_by_test_id("cash")).to_contain_text("11,000,000원")
    _check(page, language, username)
    if viewport:
        _fits_the_width(page)

    # market buy: 3 shares at 50,000, the confirmation in words first
    page.goto(f"{daphne_url}/stocks/{CODE}/")
    htmx_settled(page)
    ticket = page.get_by_test_id("order-ticket")
    ticket.locator("[name=quantity]").fill("3")
    _tick()
    ticket.get_by_test_id("place-order").click()
    dialog = page.get_by_test_id("order-confirm")
    expect(dialog).to_contain_text(words["buy"])
    expect(dialog).to_contain_text(words["market"])
    expect(dialog).to_contain_text(words["shares"])
    expect(dialog).to_contain_text("150,022원")  # 150,000 + 22 commission
    _check(page, language, username)  # the dialog too
    page.get_by_test_id("confirm-order").click()
    expect(page.get_by_test_id("order-result")).to_contain_text("50,000원")
    assert Order.objects.get(order_type="MARKET").status == "FILLED"
    _check(page, language, username)
    if viewport:
        _fits_the_width(page)

    # limit buy: an off-grid price is offered, never changed, and nothing is placed until one is picked
    htmx_settled(page)
    ticket = page.get_by_test_id("order-ticket")
    ticket.locator("[name=order_type]").select_option("LIMIT")
    ticket.locator("[name=limit_price]").fill("49020")
    ticket.locator("[name=limit_price]").blur()
    expect(ticket.locator("[name=limit_price]")).to_have_value("49020")
    expect(ticket.get_by_test_id("place-order")).to_be_disabled()
    _check(page, language, username)
    ticket.locator("[data-testid=tick-choice]:visible [data-pick=down]").click()
    expect(ticket.locator("[name=limit_price]")).to_have_value("49000")
    ticket.locator("[name=quantity]").fill("2")
    _place(page, [words["buy"], words["limit"], "49,000원", "98,014원"])  # 98,000 + 14 commission
    limit_order = Order.objects.get(order_type="LIMIT")
    assert limit_order.status == "OPEN"

    # 정정 on the orders page: 4 shares at 48,900
    page.goto(f"{daphne_url}/orders/")
    _check(page, language, username)
    row = page.locator(f"tr[data-order-id='{limit_order.pk}']")
    row.locator("details.replace-order summary").click()
    form = page.get_by_test_id(f"replace-form-{limit_order.pk}")
    form.locator("[name=quantity]").fill("4")
    form.locator("[name=limit_price]").fill("48900")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("replace-result")).to_be_visible()
    replacement = Order.objects.get(replaces=limit_order)
    assert (replacement.quantity, int(replacement.limit_price), replacement.status) == (4, 48_900, "OPEN")
    new_row = page.locator(f"tr[data-order-id='{replacement.pk}']")
    expect(new_row).to_contain_text("48,900원")
    _check(page, language, username)
    if viewport:
        _fits_the_width(page)

    # 취소
    htmx_settled(page)
    new_row.locator("form[action$='/cancel/'] button").click()
    expect(page.get_by_test_id("open-orders")).to_contain_text(words["no_open"])
    assert Order.objects.get(pk=replacement.pk).status == "CANCELED"
    _check(page, language, username)

    # sell everything: the 최대 button sizes the order from the shares held
    page.goto(f"{daphne_url}/stocks/{CODE}/")
    htmx_settled(page)
    ticket = page.get_by_test_id("order-ticket")
    ticket.locator(".side-sell").click()
    ticket.locator("[data-fraction='1']").click()
    expect(ticket.locator("[name=quantity]")).to_have_value("3")
    _tick()
    _place(page, [words["sell"], words["market"], words["shares"]])
    expect(page.get_by_test_id("order-result")).to_contain_text("50,000원")
    assert Holding.objects.get(stock__code=CODE).quantity == 0
    _check(page, language, username)
