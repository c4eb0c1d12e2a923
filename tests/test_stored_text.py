"""English texts the services store (order reasons, ledger memos, payment failures, plan names) show in the page's
language while the stored value stays as written (docs/architecture.md §14, issue 14); and the portfolio page's own
messages
are translated."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation

from payments.models import Payment, PaymentStatus, Product
from portfolio.models import Transaction
from stocking.templatetags.stored_text import ledger_memo, order_reason, payment_failure, plan_name
from trading.models import Order
from trading.services import OrderRequest, order_cancel, order_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("stored", "korean"),
    [
        ("canceled by you", "직접 취소"),
        ("replaced (정정)", "정정됨"),
        ("account reset", "계좌 초기화"),
        ("IOC: nothing more fills now", "IOC: 지금 더 체결될 수량이 없음"),
        ("canceled by staff (kim)", "운영자 취소 (kim)"),
    ],
)
def test_order_reasons_show_in_korean_and_stay_english_in_english(stored, korean):
    with translation.override("ko"):
        assert order_reason(stored) == korean
    with translation.override("en"):
        assert order_reason(stored) == stored


def test_unknown_texts_are_shown_as_stored():
    with translation.override("ko"):
        assert order_reason("a reason nobody wrote down") == "a reason nobody wrote down"
        assert ledger_memo("Bonus from the teacher") == "Bonus from the teacher"
        assert payment_failure("카드 한도 초과") == "카드 한도 초과"  # PortOne's own message
        assert plan_name("Teachers' plan") == "Teachers' plan"
        assert order_reason("") == ""


def test_payment_failures_and_plan_names_show_in_korean():
    with translation.override("ko"):
        assert payment_failure("The payment failed at PortOne.") == "PortOne에서 결제에 실패했습니다."
        assert payment_failure("Expired: not paid after 7 checks with PortOne.").startswith("만료: PortOne에 7번")
        mismatch = (
            "PortOne reports it paid, but amount 1 paid, 9900 expected. No premium was granted; staff will refund it."
        )
        assert "프리미엄은 지급되지 않았으며" in payment_failure(mismatch)
        assert plan_name("StocKing Premium (1 month)") == "StocKing 프리미엄 (1개월)"
        assert ledger_memo("Opening deposit") != "Opening deposit"


def test_the_orders_page_shows_a_cancel_reason_in_korean_and_keeps_it_stored_in_english(
    browser_client, user, samsung, store_price
):
    store_price(samsung.code, 50_000)
    order, _ = order_place(
        user=user, request=OrderRequest(samsung.code, "BUY", "LIMIT", 1, limit_price=Decimal(49_000))
    )
    order_cancel(user=user, order_id=order.pk)

    html = browser_client.get("/orders/").content.decode()
    assert "직접 취소" in html
    assert "canceled by you" not in html
    assert Order.objects.get(pk=order.pk).reject_reason == "canceled by you"
    english = browser_client.get("/orders/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "canceled by you" in english


def test_the_premium_page_names_plans_and_failures_in_korean(browser_client, user):
    product = Product.objects.get(code="premium_monthly")  # seeded by payments' data migration
    Payment.objects.create(
        payment_id="pay-stored-text-1", user=user, product=product, order_name=product.name, amount=product.price,
        currency="KRW", period_days=product.period_days, status=PaymentStatus.FAILED,
        failure_reason="The payment failed at PortOne.",
    )  # fmt: skip

    html = browser_client.get("/premium/").content.decode()
    assert "StocKing 프리미엄 (1개월)" in html
    assert "StocKing Premium (1 month)" not in html
    assert "PortOne에서 결제에 실패했습니다." in html
    assert Product.objects.get(pk=product.pk).name == "StocKing Premium (1 month)"  # what PortOne's orderName uses


def test_the_ledger_shows_the_opening_deposit_in_korean(browser_client, user):
    assert Transaction.objects.filter(memo="Opening deposit").exists()
    html = browser_client.get("/portfolio/ledger/").content.decode()
    assert "Opening deposit" not in html
    assert "최초 입금" in html


def test_a_deposit_is_confirmed_in_korean(browser_client):
    response = browser_client.post("/portfolio/deposit/", {"deposit-amount": "1000000"}, follow=True)
    html = response.content.decode()
    assert "1,000,000원을 입금했습니다." in html
    assert "done." not in html


def test_a_deposit_is_confirmed_in_english_when_asked(browser_client):
    response = browser_client.post(
        "/portfolio/deposit/", {"deposit-amount": "1000000"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Deposit of 1,000,000원 done." in response.content.decode()


def test_the_reset_page_asks_for_reset_in_korean(browser_client):
    response = browser_client.post("/portfolio/reset/", {"confirm": "no"}, follow=True)
    assert "확인하려면 RESET을 입력하세요." in response.content.decode()


def test_watchlist_name_errors_are_korean(browser_client):
    response = browser_client.post("/watchlists/new/", {"name": ""}, follow=True)
    assert "목록 이름:" in response.content.decode()
