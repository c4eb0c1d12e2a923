"""A signed-in user with no open paper account (made with createsuperuser, or in the admin) sees pages that say so
and offer to open one, not a 500 (issue 14); opening it goes back to the page the user was on."""

import pytest
from django.conf import settings

from portfolio.models import Account, Transaction
from tests.factories import UserFactory
from trading.models import Order

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/portfolio/", "/portfolio/ledger/", "/portfolio/reset/", "/orders/"]
FRAGMENTS = ["/orders/ticket/A005930/", "/orders/stock/A005930/", "/orders/", "/dashboard/"]


@pytest.fixture
def accountless(client, samsung, store_price):
    store_price("A005930", 70_000)
    user = UserFactory()  # no account_open: as createsuperuser leaves a user
    client.force_login(user)
    return user


@pytest.mark.parametrize("path", PAGES)
def test_pages_say_there_is_no_account_and_offer_one(client, accountless, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="no-account"' in html
    assert 'data-testid="open-account"' in html
    assert "모의투자 계좌가 없습니다" in html  # Korean, the default


@pytest.mark.parametrize("path", FRAGMENTS)
def test_htmx_fragments_say_so_too(client, accountless, path):
    response = client.get(path, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="no-account"' in html
    assert "<html" not in html


def test_actions_without_an_account_write_nothing(client, accountless):
    ticket = {"side": "BUY", "order_type": "MARKET", "quantity": "1", "time_in_force": "DAY"}
    for path, data in [
        ("/portfolio/deposit/", {"deposit-amount": "1000"}),
        ("/orders/ticket/A005930/place/", ticket),
        ("/orders/1/cancel/", {}),
        ("/orders/1/replace/", {"quantity": "2"}),
    ]:
        response = client.post(path, data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, path
        assert 'data-testid="no-account"' in response.content.decode(), path
    assert not Account.objects.exists()
    assert not Transaction.objects.exists()
    assert not Order.objects.exists()


def test_the_button_opens_an_account_and_goes_back(client, accountless):
    response = client.post("/portfolio/", {"action": "open-account", "next": "/stocks/A005930/"})
    assert response.status_code == 302
    assert response["Location"] == "/stocks/A005930/"
    account = Account.objects.get(user=accountless, is_open=True)
    assert account.cash == settings.STARTING_CASH
    assert client.get("/orders/ticket/A005930/", HTTP_HX_REQUEST="true").status_code == 200

    # pressed again (another tab): still one account, no error
    response = client.post("/portfolio/", {"action": "open-account", "next": "/orders/"})
    assert response["Location"] == "/orders/"
    assert Account.objects.filter(user=accountless).count() == 1


def test_the_button_never_sends_the_user_off_site(client, accountless):
    response = client.post("/portfolio/", {"action": "open-account", "next": "https://evil.example/"})
    assert response["Location"] == "/portfolio/"
    assert Account.objects.filter(user=accountless).count() == 1


def test_a_user_with_an_account_still_sees_the_portfolio(client, user):
    client.force_login(user)
    response = client.get("/portfolio/")
    assert 'data-testid="no-account"' not in response.content.decode()
    assert client.post("/portfolio/", {"action": "open-account"}).status_code == 302
    assert Account.objects.filter(user=user).count() == 1
