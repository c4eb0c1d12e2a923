"""Issue 14 item 4: the admin shows won amounts with separators and 원 like the pages, and the admin and the API show
times in KST (Asia/Seoul, TIME_ZONE), beside KST pages."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from kernel.admin_columns import won_text
from payments.models import Product
from portfolio.models import Account, Transaction
from tests.factories import UserFactory, open_account_for
from trading.services import OrderRequest, order_place

pytestmark = pytest.mark.django_db

MIDNIGHT_UTC = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 09:30 in Seoul, the same day


@pytest.fixture
def staff(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


@pytest.fixture
def trader(samsung, store_price):
    store_price("A005930", 70_000)
    user = UserFactory(username="hana")
    with time_machine.travel(MIDNIGHT_UTC, tick=False):
        open_account_for(user)
        order_place(user=user, request=OrderRequest("A005930", "BUY", "LIMIT", 2, limit_price=Decimal(69_000)))
    return user


def test_won_text_formats_like_the_pages():
    assert won_text(Decimal("10000000.00")) == "10,000,000원"
    assert won_text(Decimal("-0.4")) == "0원"
    assert won_text(None) == "–"


@pytest.mark.parametrize(
    ("url", "amounts"),
    [
        ("/admin/portfolio/account/", ["10,000,000원", "138,020원"]),  # cash, reserved for 2 × 69,000 + fees
        ("/admin/portfolio/transaction/", ["10,000,000원"]),
        ("/admin/trading/order/", ["69,000원"]),
        ("/admin/payments/product/", ["9,900원", "99,000원"]),
    ],
)
def test_admin_lists_show_won_with_separators(staff, trader, url, amounts):
    html = staff.get(url).content.decode()
    for amount in amounts:
        assert amount in html, amount
    assert not re.search(r">\s*10000000(\.00)?\s*<", html)  # the raw Decimal is gone


def test_admin_list_amounts_still_sort_by_the_field(staff, trader):
    open_account_for(UserFactory())
    response = staff.get("/admin/portfolio/account/", {"o": "3"})  # the cash column
    assert response.status_code == 200


def test_admin_shows_times_in_kst(staff, trader):
    account = Account.objects.get(user=trader)
    html = staff.get(f"/admin/portfolio/account/{account.pk}/change/").content.decode()
    # Django's admin renders aware datetimes in TIME_ZONE: 00:30 UTC is 09:30 in Seoul
    assert "9:30 a.m." in html
    assert "12:30 a.m." not in html


def test_the_api_gives_times_in_kst(auth_client, user, samsung, store_price):
    store_price("A005930", 70_000)
    with time_machine.travel(MIDNIGHT_UTC, tick=False):
        placed = auth_client.post(
            "/api/v1/trading/orders",
            {"stock_code": "A005930", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 69_000},
            format="json",
        )
    assert placed.status_code == 201, placed.content
    order = auth_client.get("/api/v1/trading/orders").json()["results"][0]
    assert order["created_at"].startswith("2026-03-02T09:30:00")
    assert order["created_at"].endswith("+09:00")


def test_seeded_products_keep_their_english_names():
    assert set(Product.objects.values_list("name", flat=True)) >= {
        "StocKing Premium (1 month)",
        "StocKing Premium (1 year)",
    }
    assert Transaction.objects.count() == 0
