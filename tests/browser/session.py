"""Logging traders in through the login page, as the browser tests' users do."""

import re

from playwright.sync_api import Page, expect

from tests.factories import DEFAULT_PASSWORD, UserFactory, open_account_for


def log_in(page: Page, user, base_url: str = "") -> None:
    page.goto(f"{base_url}/login/")
    page.locator("[name=username]").fill(user.username)
    page.locator("[name=password]").fill(DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").click()  # 로그인 / Log in: whichever language the page is in
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def log_in_new_trader(page: Page, base_url: str = ""):
    """A new user with an open paper account, logged in; returns the user."""
    trader = UserFactory()
    open_account_for(trader)
    log_in(page, trader, base_url)
    return trader
