"""The performance pages in a real browser (issue 16): the dashboard's equity curve against KOSPI (fetched from
GET portfolio/history with the session, period buttons) and the analytics page's return and drawdown charts draw
with no CSP violation and no untranslated English."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from marketdata.services import market_indices_load
from portfolio.analytics import snapshots_seed_demo
from portfolio.selectors import account_get_open
from tests.browser.i18n import assert_no_untranslated
from tests.browser.session import log_in
from tests.browser.test_csp import csp_violations, no_violations_so_far  # noqa: F401 (csp_violations: a fixture)
from tests.factories import UserFactory, open_account_for
from tests.korean_catalog import korean_catalog_with

DRAWN = """(selector) => [...document.querySelectorAll(selector + ' canvas')].some((canvas) => {
  if (!canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
  return false;
})"""


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    korean_catalog_with(settings, tmp_path, "h17")
    settings.MOVERS_CACHE_SECONDS = 0


@pytest.fixture
def trader(tmp_path):
    """A trader with 20 days of history beside KOSPI's daily closes."""
    day = timezone.localdate() - timedelta(days=60)
    lines = [
        f"{day + timedelta(days=i)},{2500 + i:.2f},{2505 + i:.2f},{2495 + i:.2f},{2500 + i:.2f},1000" for i in range(61)
    ]
    kospi = tmp_path / "KOSPI.csv"
    kospi.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(lines) + "\n", "utf-8")
    market_indices_load(files={"KOSPI": kospi})
    user = UserFactory()
    open_account_for(user)
    assert snapshots_seed_demo(account=account_get_open(user=user), days=20) == 20
    return user


def test_the_equity_curve_and_the_analytics_charts_draw_in_korean_with_no_csp_violation(
    page: Page,
    csp_violations,  # noqa: F811
    trader,
    live_server,
):
    log_in(page, trader)
    chart = page.get_by_test_id("equity-chart")
    expect(chart).to_have_attribute("data-period", "1M")
    page.wait_for_function(DRAWN, arg="#equity-chart")
    all_points = int(chart.get_attribute("data-points"))
    assert all_points >= 2
    page.locator('[data-equity-period="ALL"]').click()
    expect(chart).to_have_attribute("data-period", "ALL")
    expect(chart).to_have_attribute("data-points", "21")  # 20 seeded days and today, live
    page.locator('[data-equity-period="1W"]').click()
    expect(chart).to_have_attribute("data-period", "1W")
    assert int(chart.get_attribute("data-points")) < 21
    assert_no_untranslated(page, allow=[trader.username])
    no_violations_so_far(page, csp_violations)

    page.get_by_role("link", name="투자 분석").first.click()
    expect(page.get_by_test_id("return-chart")).to_have_attribute("data-points", "21")
    expect(page.get_by_test_id("drawdown-chart")).to_have_attribute("data-points", "21")
    page.wait_for_function(DRAWN, arg="[data-testid=return-chart]")
    page.wait_for_function(DRAWN, arg="[data-testid=drawdown-chart]")
    assert_no_untranslated(page, allow=[trader.username])
    no_violations_so_far(page, csp_violations)
