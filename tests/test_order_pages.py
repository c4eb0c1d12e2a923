import pytest

from trading.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader(client, user, samsung, store_price):
    store_price("A005930", 70_000, base=69_000)
    client.force_login(user)
    return user


def test_the_ticket_shows_available_cash_band_and_places_a_market_order(client, trader):
    html = client.get("/orders/ticket/A005930/").content.decode()
    assert "10,000,000원" in html
    assert "48,300원 – 89,700원" in html  # today's band
    response = client.post(
        "/orders/ticket/A005930/place/",
        {"side": "BUY", "order_type": "MARKET", "quantity": "3", "time_in_force": "DAY"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
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
