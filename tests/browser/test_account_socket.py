"""The account socket in a real browser: when the session behind it ends, the page asks for a login
(close code 4401) instead of reconnecting with a dead session. Pages and /ws/account/ on a real daphne."""

import re

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect

from tests.browser.session import log_in_new_trader

# About behaviour, not language: English pages (test_i18n_pages.py covers Korean, the default).
pytestmark = pytest.mark.language("en")


@pytest.fixture(scope="module")
def fast_recheck():
    """The daphne of this module rechecks a socket's session twice a second (default: once a minute)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WS_AUTH_RECHECK_SECONDS", "0.5")
        yield


@pytest.fixture(scope="module")
def daphne(fast_recheck, daphne_url):
    return daphne_url


def test_a_page_whose_session_ends_elsewhere_goes_to_the_login_page(page: Page, daphne):
    log_in_new_trader(page, daphne)
    expect(page.locator("body")).to_have_attribute("data-account-stream", "live")
    Session.objects.all().delete()  # logged out in another tab, or by an admin
    expect(page).to_have_url(re.compile(r"/login/\?next=%2Fdashboard%2F$"))
    page.wait_for_timeout(1500)  # and stays there: no reconnect loop, no second redirect
    expect(page).to_have_url(re.compile(r"/login/\?next=%2Fdashboard%2F$"))
