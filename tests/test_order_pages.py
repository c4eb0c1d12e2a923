import re
from decimal import Decimal

import pytest

from portfolio.models import Account
from tests.factories import UserFactory, open_account_for
from trading.models import Order
from trading.services import OrderRequest, order_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader(client, user, samsung, store_price):
    store_price("A005930", 70_000, base=69_000)
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # these tests read the English texts; Korean is the default
    return user


@pytest.fixture
def resting_buy(trader):
    order, _ = order_place(
        user=trader,
        request=OrderRequest("A005930", "BUY", "LIMIT", quantity=2, limit_price=Decimal(69_000), time_in_force="GTC"),
    )
    return order


def _text(html: str) -> str:
    """The page's text without tags: amounts are wrapped in spans that keep 원 on the number's line."""
    return re.sub(r"<[^>]+>", "", html)


def _snapshot(user):
    account = Account.objects.get(user=user, closed_at__isnull=True)
    return (
        list(Order.objects.order_by("pk").values_list("pk", "status", "quantity", "limit_price", "replaces_id")),
        account.cash,
        account.reserved_cash,
    )


def test_the_ticket_shows_available_cash_band_and_places_a_market_order(client, trader):
    html = _text(client.get("/orders/ticket/A005930/").content.decode())
    assert "10,000,000원" in html
    assert "48,300원 – 89,700원" in html  # today's band
    response = client.post(
        "/orders/ticket/A005930/place/",
        {"side": "BUY", "order_type": "MARKET", "quantity": "3", "time_in_force": "DAY"},
        HTTP_HX_REQUEST="true",
    )
    html = _text(response.content.decode())
    assert "filled" in html
    assert "3 filled at 70,000원" in html
    assert Order.objects.get().status == "FILLED"


def test_the_ticket_shows_rule_errors_inline_and_writes_nothing(client, trader):
    html = client.post(
        "/orders/ticket/A005930/place/",
        {"side": "BUY", "order_type": "LIMIT", "quantity": "1", "limit_price": "70050", "time_in_force": "DAY"},
    ).content.decode()
    assert "nearest valid prices are 70,000 and 70,100" in html
    html = client.post(
        "/orders/ticket/A005930/place/",
        {"side": "SELL", "order_type": "MARKET", "quantity": "1", "time_in_force": "DAY"},
    ).content.decode()
    assert "Not enough shares available." in html
    html = client.post(
        "/orders/ticket/A005930/place/", {"side": "BUY", "order_type": "MARKET", "quantity": "0"}
    ).content.decode()
    assert "field-error" in html
    html = client.post(
        "/orders/ticket/A005930/place/",
        {"side": "BUY", "order_type": "MARKET", "quantity": "1", "time_in_force": "GTC"},
    ).content.decode()
    assert "A market order fills at once or not at all; use DAY, IOC or FOK." in html  # under its field
    assert Order.objects.count() == 0


def test_orders_page_lists_open_orders_and_cancels_them(client, trader):
    client.post(
        "/orders/ticket/A005930/place/",
        {"side": "BUY", "order_type": "LIMIT", "quantity": "2", "limit_price": "69000", "time_in_force": "GTC"},
    )
    order = Order.objects.get()
    html = client.get("/orders/").content.decode()
    assert f'data-order-id="{order.pk}"' in html
    assert 'hx-get="/orders/?page=2"' in client.get("/orders/?page=2").content.decode()  # live refresh keeps the page
    html = client.post(f"/orders/{order.pk}/cancel/", HTTP_HX_REQUEST="true").content.decode()
    assert "No open orders." in html
    assert "Canceled" in html
    order.refresh_from_db()
    assert order.status == "CANCELED"
    html = client.post(f"/orders/{order.pk}/cancel/", HTTP_HX_REQUEST="true").content.decode()
    assert "cannot be canceled" in html


def test_order_pages_need_login(client):
    for path in ["/orders/", "/orders/ticket/A005930/"]:
        assert client.get(path).status_code == 302


def test_the_ticket_offers_quantity_shares_steppers_and_a_confirmation_with_the_rates_as_data(client, trader):
    html = client.get("/orders/ticket/A005930/").content.decode()
    for fraction in ('data-fraction="0.1"', 'data-fraction="0.25"', 'data-fraction="0.5"', 'data-fraction="1"'):
        assert fraction in html
    assert ">Max</button>" in html
    assert 'data-commission-rate="0.00015"' in html
    assert 'data-available-cash="10000000' in html
    assert 'data-available-quantity="0"' in html
    assert 'data-step="up"' in html
    assert 'data-step="down"' in html
    assert 'data-testid="tick-choice"' in html
    assert '<dialog class="order-confirm card" data-testid="order-confirm"' in html
    assert "onclick" not in html
    assert "<script" not in html


def test_replace_from_the_orders_page_swaps_the_order_for_its_replacement(client, trader, resting_buy):
    html = client.post(
        f"/orders/{resting_buy.pk}/replace/",
        {"scope": "orders", "quantity": "3", "limit_price": "68900"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    replacement = Order.objects.get(replaces=resting_buy)
    assert (replacement.quantity, replacement.limit_price, replacement.status) == (3, Decimal(68_900), "OPEN")
    resting_buy.refresh_from_db()
    assert resting_buy.status == "CANCELED"
    assert f"Order #{resting_buy.pk} was replaced by order #{replacement.pk}." in html
    assert f'data-order-id="{replacement.pk}"' in html
    assert f"replaces #{resting_buy.pk}" in html
    assert 'id="orders-live"' not in html  # the fragment, swapped into the page's list


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"quantity": "2", "limit_price": "68950"}, "nearest valid prices are 68,900 and 69,000"),
        ({"quantity": "2", "limit_price": "30000"}, "is outside today"),
        ({"quantity": "0"}, "Quantity: Ensure this value is greater than or equal to 1."),
        ({"quantity": "two"}, "Quantity: Enter a whole number."),
        ({"quantity": "2", "limit_price": "69000"}, "The new order would be the same as the old one."),
        ({"quantity": "200"}, "Not enough"),
    ],
)
def test_a_bad_replace_is_explained_next_to_its_form_and_changes_nothing(client, trader, resting_buy, fields, message):
    before = _snapshot(trader)
    html = client.post(
        f"/orders/{resting_buy.pk}/replace/", {"scope": "orders", **fields}, HTTP_HX_REQUEST="true"
    ).content.decode()
    form_html = html.split(f'data-testid="replace-form-{resting_buy.pk}"')[1].split("</form>")[0]
    assert 'data-testid="replace-error"' in form_html
    assert message in form_html
    assert f'name="quantity" min="1" inputmode="numeric" value="{fields["quantity"]}"' in form_html  # kept as typed
    assert _snapshot(trader) == before


def test_nobody_replaces_another_users_order(client, trader, resting_buy):
    intruder = UserFactory()
    open_account_for(intruder)
    client.force_login(intruder)
    before = _snapshot(trader)
    html = client.post(
        f"/orders/{resting_buy.pk}/replace/", {"scope": "orders", "quantity": "1"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "No such order." in html
    assert _snapshot(trader) == before


def test_replace_and_cancel_from_the_stock_page_answer_with_its_order_list(
    client, trader, resting_buy, hynix, store_price
):
    store_price("A000660", 1_000)
    order_place(
        user=trader,
        request=OrderRequest("A000660", "BUY", "LIMIT", quantity=1, limit_price=Decimal(1_000), time_in_force="GTC"),
    )
    html = client.get("/orders/stock/A005930/").content.decode()
    assert html.count("data-order-id=") == 1  # this stock's working orders only
    assert f'data-order-id="{resting_buy.pk}"' in html
    assert 'id="stock-orders"' in client.get("/orders/ticket/A005930/").content.decode()

    html = client.post(
        f"/orders/{resting_buy.pk}/replace/",
        {"scope": "stock", "stock_code": "A005930", "limit_price": "69100"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    replacement = Order.objects.get(replaces=resting_buy)
    assert '<div id="stock-orders"' in html
    assert 'id="orders-live"' not in html
    assert f'data-order-id="{replacement.pk}"' in html
    assert replacement.quantity == 2  # what was left, when the quantity is not changed

    html = client.post(
        f"/orders/{replacement.pk}/cancel/", {"scope": "stock", "stock_code": "A005930"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="stock-orders"' in html
    assert "data-order-id=" not in html
    assert Order.objects.get(pk=replacement.pk).status == "CANCELED"
