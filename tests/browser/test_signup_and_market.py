import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import DEFAULT_PASSWORD, StockFactory, UserFactory

# About behaviour, not language: English pages (test_i18n_pages.py covers Korean, the default).
pytestmark = pytest.mark.language("en")


def _is_htmx_market_search(response) -> bool:
    return "/market/" in response.url and response.request.headers.get("hx-request") == "true"


def test_a_new_trader_signs_up_logs_back_in_and_searches_the_market(page: Page):
    StockFactory(code="A005930", name="삼성전자", name_en="Samsung Electronics", market_cap_rank=1)
    StockFactory(code="A000660", name="SK하이닉스", name_en="SK hynix", market_cap_rank=2)

    page.goto("/signup/")
    page.locator("[name=username]").fill("newtrader")
    page.locator("[name=email]").fill("newtrader@example.com")
    page.locator("[name=password1]").fill(DEFAULT_PASSWORD)
    page.locator("[name=password2]").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".topbar .nav-user")).to_have_text("newtrader")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    page.locator("[name=username]").fill("newtrader")
    page.locator("[name=password]").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator(".topbar .nav-user")).to_have_text("newtrader")

    page.goto("/market/")
    table = page.get_by_test_id("stock-table")
    expect(table).to_contain_text("삼성전자")
    expect(table).to_contain_text("SK하이닉스")

    with page.expect_response(_is_htmx_market_search):
        page.locator("#q").fill("하이닉스")
    expect(table).to_contain_text("SK하이닉스")
    expect(table).not_to_contain_text("삼성전자")

    with page.expect_response(_is_htmx_market_search):
        page.locator("#q").fill("samsung")
    expect(table).to_contain_text("삼성전자")
    expect(table).not_to_contain_text("SK하이닉스")


def test_a_wrong_password_shows_an_error_and_stays_on_the_login_page(page: Page):
    trader = UserFactory()

    page.goto("/login/")
    page.locator("[name=username]").fill(trader.username)
    page.locator("[name=password]").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
