"""The premium page in a real browser. The PortOne payment window needs the internet, so each test stubs
`window.PortOne` before the page loads (the vendored SDK then uses it instead of loading PortOne's CDN);
completion then goes from our server to the fake PortOne API over real HTTP."""

import re

import pytest
from playwright.sync_api import Page, expect

from payments.models import Payment, PaymentStatus, Subscription
from tests.browser.session import log_in_new_trader
from tests.fake_portone import CHANNEL_KEY, STORE_ID, ensure_catalogue, running_fake_portone

# About behaviour, not language: English pages (test_i18n_pages.py covers Korean, the default).
pytestmark = pytest.mark.language("en")


@pytest.fixture
def portone(settings):
    with running_fake_portone(settings) as fake:
        yield fake


def open_premium_page(page: Page):
    nav = page.locator("#main-nav").get_by_role("link", name="Premium")
    nav.click()
    expect(page).to_have_url(re.compile(r"/premium/$"))
    expect(nav).to_have_class(re.compile(r"\bactive\b"))


def test_a_trader_pays_for_premium_and_sees_it_active(page: Page, portone):
    requests = []

    def pay_at_fake_portone(request):  # what the customer does in PortOne's window
        requests.append(request)
        portone.set_payment(request["paymentId"], amount=request["totalAmount"], currency=request["currency"])

    page.expose_function("payAtFakePortOne", pay_at_fake_portone)
    page.add_init_script(
        """window.PortOne = {requestPayment: async (req) => {
               await window.payAtFakePortOne(req);
               return {paymentId: req.paymentId, txId: "tx-1"};
           }};"""
    )
    trader = log_in_new_trader(page)
    open_premium_page(page)
    expect(page.get_by_test_id("subscription")).to_contain_text("free plan")
    expect(page.get_by_test_id("test-mode-banner")).to_have_count(0)

    page.locator("[data-product=premium_monthly]").get_by_role("button", name="Buy for 9,900원").click()

    expect(page.get_by_test_id("payment-result")).to_contain_text("Payment complete. Premium is active until")
    expect(page.get_by_test_id("subscription")).to_contain_text("PREMIUM")
    history = page.get_by_test_id("payment-history")
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history).to_contain_text("Paid")
    expect(history).to_contain_text("9,900원")
    [request] = requests
    assert request["storeId"] == STORE_ID
    assert request["channelKey"] == CHANNEL_KEY
    assert (request["totalAmount"], request["currency"], request["payMethod"]) == (9900, "KRW", "CARD")
    assert request["paymentId"] == Payment.objects.get().payment_id
    assert Subscription.objects.get(user=trader).is_active


def test_a_failed_payment_shows_portone_message_and_grants_nothing(page: Page, portone):
    page.add_init_script(
        """window.PortOne = {requestPayment: async (req) =>
               ({code: "FAILURE_TYPE_PG", message: "카드사에서 승인을 거절했습니다.", paymentId: req.paymentId})};"""
    )
    trader = log_in_new_trader(page)
    open_premium_page(page)

    page.locator("[data-product=premium_yearly]").get_by_role("button").click()

    result = page.get_by_role("alert")
    expect(result).to_contain_text("Payment failed: 카드사에서 승인을 거절했습니다.")
    expect(page.get_by_test_id("subscription")).to_contain_text("free plan")
    expect(page.get_by_test_id("payment-history")).to_contain_text("Ready")
    assert Payment.objects.get().status == PaymentStatus.READY
    assert not Subscription.objects.filter(user=trader).exists()
    assert portone.requests == []  # no completion was attempted


def test_in_test_mode_the_demo_user_becomes_premium_without_the_internet(page: Page, settings):
    ensure_catalogue()
    settings.PORTONE_TEST_MODE = True
    for name in ("PORTONE_STORE_ID", "PORTONE_CHANNEL_KEY", "PORTONE_V2_API_SECRET", "PORTONE_WEBHOOK_SECRET"):
        setattr(settings, name, "")
    trader = log_in_new_trader(page)
    open_premium_page(page)
    expect(page.get_by_test_id("test-mode-banner")).to_contain_text("TEST MODE")

    page.locator("[data-product=premium_monthly]").get_by_role("button").click()

    expect(page.get_by_test_id("payment-result")).to_contain_text("Payment complete")
    expect(page.get_by_test_id("subscription")).to_contain_text("PREMIUM")
    assert Subscription.objects.get(user=trader).is_active
