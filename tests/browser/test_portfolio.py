import re

import pytest
from playwright.sync_api import Page, expect

from portfolio.models import Transaction
from tests.browser.htmx import htmx_settled
from tests.browser.session import log_in_new_trader
from tests.factories import StockFactory

# About behaviour, not language: English pages (test_i18n_pages.py covers Korean, the default).
pytestmark = pytest.mark.language("en")


def test_a_trader_deposits_and_sees_the_error_when_withdrawing_too_much(page: Page):
    log_in_new_trader(page)
    page.locator("#main-nav").get_by_role("link", name="Portfolio").click()
    expect(page.get_by_test_id("cash")).to_have_text("10,000,000원")

    deposit = page.get_by_test_id("deposit-form")
    deposit.get_by_label("Amount to deposit, in won").fill("2500000")
    deposit.get_by_role("button", name="Deposit").click()
    expect(page.get_by_test_id("cash")).to_have_text("12,500,000원")
    expect(page.get_by_role("status")).to_contain_text("Deposit of 2,500,000원 done")

    htmx_settled(page)
    withdraw = page.get_by_test_id("withdraw-form")
    withdraw.get_by_label("Amount to withdraw, in won").fill("99999999")
    withdraw.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_test_id("withdraw-form").get_by_role("alert")).to_contain_text("at most 12,500,000 won")
    expect(page.get_by_test_id("cash")).to_have_text("12,500,000원")
    assert Transaction.objects.count() == 2  # opening deposit + the deposit; the refused withdrawal wrote nothing

    page.get_by_role("link", name="Ledger").click()
    ledger = page.get_by_test_id("ledger")
    expect(ledger.locator("tbody tr")).to_have_count(2)
    expect(ledger).to_contain_text("2,500,000원")


def test_a_trader_builds_a_watchlist_from_search_and_removes_a_stock(page: Page):
    StockFactory(code="A005930", name="삼성전자", name_en="Samsung Electronics", market_cap_rank=1)
    StockFactory(code="A000660", name="SK하이닉스", name_en="SK hynix", market_cap_rank=2)
    log_in_new_trader(page)
    page.locator("#main-nav").get_by_role("link", name="Watchlist").click()

    page.get_by_test_id("new-watchlist").locator("input[name=name]").fill("반도체")
    page.get_by_role("button", name="Create list").click()
    watchlist = page.locator("[data-testid=watchlist][data-name='반도체']")
    expect(watchlist).to_contain_text("Empty")

    for query, name in [("samsung", "삼성전자"), ("하이닉스", "SK하이닉스")]:
        htmx_settled(page)
        watchlist.get_by_role("searchbox").fill(query)
        watchlist.get_by_role("button", name=re.compile(f"\\+ {name}")).click()
        expect(watchlist.locator(f"tr:has-text('{name}')")).to_have_count(1)
    expect(watchlist.locator("tbody tr")).to_have_count(2)

    # adding the same stock again says so instead of failing silently
    htmx_settled(page)
    watchlist.get_by_role("searchbox").fill("005930")
    watchlist.get_by_role("button", name=re.compile(r"\+ 삼성전자")).click()
    expect(page.get_by_role("alert")).to_contain_text("already on 반도체")

    watchlist.get_by_role("button", name="Remove 삼성전자").click()
    expect(watchlist.locator("tbody tr")).to_have_count(1)
    expect(watchlist).to_contain_text("SK하이닉스")
    expect(watchlist).not_to_contain_text("삼성전자")
