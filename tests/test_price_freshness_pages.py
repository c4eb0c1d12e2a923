"""지연 (delayed) with its age on the watchlists, the portfolio holdings and the order ticket, at the very moment the
API's is_stale turns true (PRICE_STALE_SECONDS; the market pages are covered in test_market_pages.py)."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine

from marketdata.models import Stock
from portfolio.models import Account
from portfolio.services import watchlist_add_stock, watchlist_create
from tests.factories import StockFactory
from tests.test_portfolio_api import buy

pytestmark = pytest.mark.django_db

CODE = "A005930"
RECEIVED = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


@pytest.fixture
def trader(client, user, settings, store_price):
    settings.PRICE_STALE_SECONDS = 60
    client.force_login(user)
    client.cookies["django_language"] = "ko"
    StockFactory(code=CODE, name="삼성전자")
    store_price(CODE, 200_000, base=190_000, received_at=RECEIVED)
    return user


def visible_text(response) -> str:
    assert response.status_code == 200
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def api_is_stale(api_client) -> bool:
    return api_client.get(f"/api/v1/trading/realtime/stock/{CODE}").json()["is_stale"]


def assert_delayed_exactly_when_stale(client, api_client, path):
    with time_machine.travel(RECEIVED + timedelta(seconds=60), tick=False):  # is_stale: older than 60 s
        assert api_is_stale(api_client) is False
        assert "지연" not in visible_text(client.get(path))
    with time_machine.travel(RECEIVED + timedelta(seconds=61), tick=False):
        assert api_is_stale(api_client) is True
        assert "지연 1분" in visible_text(client.get(path))
    with time_machine.travel(RECEIVED + timedelta(minutes=3, seconds=5), tick=False):
        assert "지연 3분" in visible_text(client.get(path))


def test_a_watchlisted_stale_price_says_delayed_exactly_when_the_api_says_is_stale(client, api_client, trader):
    watchlist = watchlist_create(user=trader, name="반도체")
    watchlist_add_stock(user=trader, watchlist_id=watchlist.pk, stock=Stock.objects.get(code=CODE))
    assert_delayed_exactly_when_stale(client, api_client, "/watchlists/")
    with time_machine.travel(RECEIVED + timedelta(seconds=30), tick=False):
        html = client.get("/watchlists/").content.decode()
    assert "200,000" in html  # the stored price is on the page before the socket sends it
    assert "+5.26%" in html
    assert f'data-price-age data-code="{CODE}"' in html  # live-prices.js repaints the label every second


def test_a_held_stale_price_says_delayed_exactly_when_the_api_says_is_stale(client, api_client, trader):
    stock = Stock.objects.get(code=CODE)
    buy(Account.objects.get(user=trader, closed_at__isnull=True), stock, 3, 180_000)
    assert_delayed_exactly_when_stale(client, api_client, "/portfolio/")
    with time_machine.travel(RECEIVED + timedelta(seconds=61), tick=False):
        text = visible_text(client.get("/portfolio/"))
    assert "180,000" in text  # valued at the last fill once the price is stale, as before


def test_the_order_tickets_stale_price_says_delayed_exactly_when_the_api_says_is_stale(client, api_client, trader):
    assert_delayed_exactly_when_stale(client, api_client, f"/orders/ticket/{CODE}/")
    with time_machine.travel(RECEIVED + timedelta(seconds=30), tick=False):
        html = client.get(f"/orders/ticket/{CODE}/").content.decode()
    assert re.search(r'data-testid="ticket-price"><span[^>]*data-live-code="A005930"[^>]*>(<[^>]+>)?200,000', html)


def test_a_stock_with_no_stored_price_shows_no_delay(client, trader, redis_client):
    redis_client.flushdb()
    watchlist = watchlist_create(user=trader, name="반도체")
    watchlist_add_stock(user=trader, watchlist_id=watchlist.pk, stock=Stock.objects.get(code=CODE))
    for path in ("/watchlists/", f"/orders/ticket/{CODE}/"):
        assert "지연" not in visible_text(client.get(path)), path
