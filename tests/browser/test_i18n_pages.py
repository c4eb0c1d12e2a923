"""Korean first in a real browser (docs/architecture.md §14): the main pages show no untranslated English to a
Korean user,
the switcher changes the language and keeps the page, and on a 390 px phone the market table's change column and
the watchlist's remove button stay on screen."""

import re
import time

from playwright.sync_api import Page, expect

from marketdata.prices import store_tick
from portfolio.models import Account, Watchlist, WatchlistItem
from tests.browser.htmx import htmx_settled
from tests.browser.i18n import assert_no_untranslated
from tests.browser.session import log_in_new_trader
from tests.factories import StockFactory
from tests.test_portfolio_api import buy

CODE = "A0I18N1"  # a code no other test publishes ticks for
PHONE = {"width": 390, "height": 844}


def _stock():
    stock = StockFactory(code=CODE, name="번역전자", name_en="Honyaku Electronics", market_cap_rank=1)
    store_tick({"code": CODE, "close": 50_000, "base": 50_500, "volume": 1_000})  # a fall: -0.99 %
    return stock


def test_the_main_pages_show_no_untranslated_english_in_korean(page: Page):
    stock = _stock()
    trader = log_in_new_trader(page)
    account = Account.objects.get(user=trader, is_open=True)
    buy(account, stock, 2, 50_000)
    watchlist = Watchlist.objects.create(user=trader, name="반도체")
    WatchlistItem.objects.create(watchlist=watchlist, stock=stock, position=0)
    # the stock page with its order ticket is the walk-through's (test_walkthrough.py); visitors' is below
    for path, heading in [
        ("/dashboard/", "홈"),
        ("/market/", "시세"),
        ("/portfolio/", "잔고"),
        ("/portfolio/ledger/", "거래내역"),
        ("/watchlists/", "관심종목"),
        ("/premium/", "StocKing 프리미엄"),
    ]:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        expect(page.locator("h1").first).to_contain_text(heading)
        htmx_settled(page)
        assert_no_untranslated(page, allow=[trader.username])


def test_a_visitor_sees_korean_pages_before_logging_in(page: Page):
    _stock()
    for path in ["/", "/market/", f"/stocks/{CODE}/"]:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        htmx_settled(page)
        assert_no_untranslated(page)


def wait_for_catalog(page: Page, timeout: float = 10.0) -> None:
    """Until the deferred JavaScript catalog defines gettext. Polled with evaluate: wait_for_function compiles its
    expression in the page, which the Content-Security-Policy (no 'unsafe-eval') refuses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate("typeof window.gettext === 'function'"):
        assert time.monotonic() < deadline, "the JavaScript catalog never loaded"
        page.wait_for_timeout(50)


def test_the_switcher_changes_the_language_and_keeps_the_page(page: Page):
    _stock()
    page.goto("/market/?q=번역")
    expect(page.locator("#main-nav").get_by_role("link", name="시세")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/market/\?q="))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#main-nav").get_by_role("link", name="Market")).to_be_visible()
    expect(page.get_by_test_id("stock-row")).to_have_count(1)  # the search kept
    page.goto(f"/stocks/{CODE}/")  # the choice sticks (cookie)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    wait_for_catalog(page)  # the catalog is a deferred script
    assert page.evaluate("gettext('Reconnecting…')") == "Reconnecting…"  # the JavaScript catalog follows
    page.get_by_role("button", name="한국어").click()
    expect(page).to_have_url(re.compile(rf"/stocks/{CODE}/$"))
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    wait_for_catalog(page)
    assert page.evaluate("gettext('Reconnecting…')") == "다시 연결 중…"
    expect(page.locator("[data-live-status]")).to_have_attribute("data-connected-label", "모의 시세")
    expect(page.get_by_test_id("stock-change")).to_have_text("-500원 (-0.99%)")


def _inside_the_screen(page: Page, locator) -> None:
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= page.viewport_size["width"], f"{box} sticks out of the screen"


def test_on_a_phone_the_change_column_and_the_remove_button_stay_on_screen(page: Page):
    stock = _stock()
    trader = log_in_new_trader(page)
    watchlist = Watchlist.objects.create(user=trader, name="반도체")
    WatchlistItem.objects.create(watchlist=watchlist, stock=stock, position=0)
    page.set_viewport_size(PHONE)
    page.goto("/market/")
    change = page.get_by_test_id("stock-row").first.locator("[data-live-field=change_pct]")
    expect(change).to_have_text("-0.99%")
    _inside_the_screen(page, change)
    page.goto("/watchlists/")
    remove = page.get_by_test_id("watchlist").get_by_role("button", name="번역전자 삭제")
    _inside_the_screen(page, remove)
    english = page.get_by_role("button", name="English")
    expect(english).to_be_visible()  # the switcher shows without opening the menu
    _inside_the_screen(page, english)
    english.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_page_scripts_format_signed_percentages_without_minus_zero(page: Page):
    page.goto("/")
    formats = page.evaluate("[-0.001, 0.004, 0, -1.234, 1.5, null].map((v) => StocKing.signedPct(v))")
    assert formats == ["0.00%", "0.00%", "0.00%", "-1.23%", "+1.50%", "–"]


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_a_toast_does_not_cover_the_price_and_inputs_are_styled(page: Page):
    _stock()
    log_in_new_trader(page)
    page.goto(f"/stocks/{CODE}/")
    # a toast as account-events.js makes it (#toasts > .toast), long enough to reach across
    page.evaluate(
        """() => {
        const box = document.createElement("div"); box.id = "toasts";
        const item = document.createElement("div"); item.className = "toast order-filled";
        item.textContent = "체결: 번역전자 10주 매수 50,000원 — 잠시 보이는 알림이 가격을 가리면 안 됩니다";
        box.appendChild(item); document.body.appendChild(box);
      }"""
    )
    toast = page.locator("#toasts .toast").bounding_box()
    price = page.get_by_test_id("stock-price").bounding_box()
    assert not _overlap(toast, price), f"the toast {toast} covers the price {price}"
    page.goto("/portfolio/ledger/")
    for name in ["stock", "date_from"]:
        field = page.get_by_test_id("ledger-filters").locator(f"[name={name}]")
        assert field.evaluate("(el) => getComputedStyle(el).borderTopLeftRadius") == "10px", name
