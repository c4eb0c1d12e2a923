"""Server-rendered portfolio pages through the Django test client (the browser tests cover htmx)."""

import pytest

from portfolio.models import Account, Transaction, Watchlist
from tests.factories import StockFactory, UserFactory, open_account_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader(client, user):
    client.force_login(user)
    return user


def test_portfolio_page_shows_balances(client, trader):
    html = client.get("/portfolio/").content.decode()
    assert "10,000,000원" in html
    assert 'data-testid="holdings"' in html


def test_holdings_link_to_their_stock_page(client, trader):
    from tests.test_portfolio_api import buy

    buy(Account.objects.get(user=trader), StockFactory(code="A005930", name="삼성전자"), 1, 70_000)
    assert 'href="/stocks/A005930/"' in client.get("/portfolio/").content.decode()


def test_deposit_without_htmx_redirects_with_a_message(client, trader):
    response = client.post("/portfolio/deposit/", {"deposit-amount": "1000"}, follow=True)
    assert "1,000원을 입금했습니다." in response.content.decode()  # Korean, the default
    assert Account.objects.get(user=trader).cash == 10_001_000


@pytest.mark.parametrize("amount", ["0", "-5", "1.5", "abc", "", "1000000000001"])
def test_bad_amounts_on_the_page_are_inline_errors_and_write_nothing(client, trader, amount):
    before = Transaction.objects.count()
    response = client.post("/portfolio/withdraw/", {"withdraw-amount": amount}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    assert Transaction.objects.count() == before
    if amount == "1000000000001":
        assert "1,000,000,000,000원 이하로 입력하세요." in response.content.decode()  # not Django's bare number


def test_withdrawing_too_much_on_the_page_says_how_much_is_possible(client, trader):
    response = client.post(
        "/portfolio/withdraw/", {"withdraw-amount": "10000001"}, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "at most 10,000,000 won" in response.content.decode()
    assert Transaction.objects.count() == 1


def test_ledger_page_filters_and_links_the_csv(client, trader):
    client.post("/portfolio/deposit/", {"deposit-amount": "1000"})
    html = client.get("/portfolio/ledger/", {"type": "DEPOSIT"}).content.decode()
    assert "1,000원" in html
    assert "format=csv" in html
    assert "type=DEPOSIT" in html
    bad = client.get("/portfolio/ledger/", {"date_from": "2026-02-01", "date_to": "2026-01-01"}).content.decode()
    assert "시작일보다 앞설 수 없습니다." in bad
    assert "1,000원" not in bad  # a filter that cannot apply lists nothing, not everything
    short = client.get("/portfolio/ledger/", {"stock": "005930", "date_from": "2026-01-01"}).content.decode()
    assert "stock=A005930&amp;date_from=2026-01-01&amp;format=csv" in short  # the cleaned filters
    far = client.get(
        "/portfolio/ledger/", {"date_from": "0001-01-01", "date_to": "9999-12-31"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert far.status_code == 200  # was a 500 (OverflowError)
    assert "greater than or equal to 2000-01-01" in far.content.decode()


def test_ledger_stock_filter_accepts_a_korean_name_as_well_as_a_code(client, trader):
    from tests.test_portfolio_api import buy

    account = Account.objects.get(user=trader)
    buy(account, StockFactory(code="A005930", name="삼성전자", name_en="Samsung Electronics"), 1, 70_000)
    buy(account, StockFactory(code="A000660", name="SK하이닉스", name_en="SK hynix"), 1, 200_000)
    for typed in ("삼성전자", "samsung electronics", "A005930", "005930"):
        html = client.get("/portfolio/ledger/", {"stock": typed}).content.decode()
        assert 'class="form-error"' not in html, typed
        assert "70,000원" in html, typed
        assert "200,000원" not in html, typed
        assert "stock=A005930&amp;format=csv" in html, typed  # the CSV gets the resolved code
    unknown = client.get("/portfolio/ledger/", {"stock": "없는종목"}).content.decode()
    assert "없는종목" in unknown
    assert 'class="form-error"' in unknown
    assert "70,000원" not in unknown  # a filter that cannot apply lists nothing


def test_pages_show_signed_percentages_without_minus_zero_and_unwrapped_won(client, trader):
    html = client.get("/portfolio/").content.decode()
    assert "-0.00%" not in html
    assert '<span class="won">10,000,000원</span>' in html


def test_the_holdings_comment_is_not_printed_on_the_page(client, trader):
    html = client.get("/portfolio/").content.decode()
    assert "Values and P&amp;L are the server" not in html
    assert "{#" not in html


def test_reset_needs_the_typed_confirmation(client, trader):
    page = client.get("/portfolio/reset/").content.decode()
    assert "무료 계좌는 30일에 한 번 초기화할 수 있고" in page  # said before the free reset is used (Korean first)
    client.post("/portfolio/reset/", {"confirm": "yes"})
    assert Account.objects.filter(user=trader).count() == 1
    response = client.post("/portfolio/reset/", {"confirm": "RESET"})
    assert response.status_code == 302
    assert Account.objects.filter(user=trader).count() == 2
    assert Account.objects.filter(user=trader, is_open=True).count() == 1


def test_watchlist_pages_create_add_remove_and_hide_other_users_lists(client, trader):
    samsung = StockFactory(code="A005930", name="삼성전자")
    client.post("/watchlists/new/", {"name": "관심"})
    watchlist = Watchlist.objects.get(user=trader)
    suggestions = client.get(f"/watchlists/{watchlist.pk}/suggest/", {"q": "삼성"}).content.decode()
    assert "삼성전자" in suggestions
    client.post(f"/watchlists/{watchlist.pk}/add/", {"stock_code": "A005930"})
    assert list(watchlist.items.values_list("stock__code", flat=True)) == ["A005930"]
    html = client.post(f"/watchlists/{watchlist.pk}/add/", {"stock_code": "A999999"}, HTTP_HX_REQUEST="true")
    assert "No stock with code" in html.content.decode()
    client.post(f"/watchlists/{watchlist.pk}/remove/{samsung.code}/")
    assert watchlist.items.count() == 0

    other = UserFactory()
    open_account_for(other)
    theirs = Watchlist.objects.create(user=other, name="secret")
    response = client.post(f"/watchlists/{theirs.pk}/delete/", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert "No such watchlist." in response.content.decode()
    assert Watchlist.objects.filter(pk=theirs.pk).exists()
    assert "secret" not in client.get("/watchlists/").content.decode()


def test_watchlists_are_renamed_on_the_page_and_bad_names_say_why(client, trader):
    client.post("/watchlists/new/", {"name": "관심"})
    client.post("/watchlists/new/", {"name": "반도체"})
    watchlist = Watchlist.objects.get(user=trader, name="관심")
    html = client.get("/watchlists/").content.decode()
    assert f'action="/watchlists/{watchlist.pk}/rename/"' in html
    client.post(f"/watchlists/{watchlist.pk}/rename/", {"name": "장기 보유"}, HTTP_HX_REQUEST="true")
    assert Watchlist.objects.get(pk=watchlist.pk).name == "장기 보유"
    taken = client.post(
        f"/watchlists/{watchlist.pk}/rename/", {"name": "반도체"}, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "already have a watchlist named" in taken.content.decode()
    blank = client.post(
        f"/watchlists/{watchlist.pk}/rename/", {"name": "\u200b"}, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Use at least one visible character." in blank.content.decode()
    assert Watchlist.objects.get(pk=watchlist.pk).name == "장기 보유"
    theirs = Watchlist.objects.create(user=UserFactory(), name="secret")
    other = client.post(
        f"/watchlists/{theirs.pk}/rename/", {"name": "mine"}, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "No such watchlist." in other.content.decode()
    assert Watchlist.objects.get(pk=theirs.pk).name == "secret"


def test_pages_need_login(client):
    for path in ["/portfolio/", "/portfolio/ledger/", "/portfolio/reset/", "/watchlists/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/")
