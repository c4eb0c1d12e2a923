"""The Content-Security-Policy in a real browser (docs/architecture.md §11): every main page sends it, script-src has no
'unsafe-inline' or 'unsafe-eval', and the pages, htmx, the chart, the order ticket, the sockets, the premium page,
the admin and Swagger UI all work under it with no violation reported.

Violations are caught twice: the document's `securitypolicyviolation` events (reported through an exposed
function, so they survive navigations) and Chromium's console messages about the policy."""

import pytest
from playwright.sync_api import Page, Response, expect

from marketdata.candles import candles_record_ticks
from marketdata.prices import store_tick
from payments.models import Subscription
from tests.browser.htmx import htmx_settled
from tests.browser.session import log_in, log_in_new_trader
from tests.factories import StockFactory, UserFactory, open_account_for
from tests.fake_portone import ensure_catalogue

# About behaviour, not language: English pages (test_i18n_pages.py covers Korean, the default).
pytestmark = pytest.mark.language("en")

CODE = "A0BRW21"  # a code no other test publishes ticks for

REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${document.location.pathname}: ${event.effectiveDirective} blocked `
    + `${event.blockedURI || "inline"} (${event.sourceFile || "?"}:${event.lineNumber})`);
});"""

CANVAS_DRAWN = """() => [...document.querySelectorAll('#stock-chart canvas')].some((canvas) => {
  if (!canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
  return false;
})"""


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    violations: list[str] = []
    page.context.expose_function("__cspViolation", lambda text: violations.append(text))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def assert_strict_policy(response: Response | None) -> dict[str, list[str]]:
    assert response is not None
    assert response.ok, f"{response.url} answered {response.status}"
    policy = response.headers.get("content-security-policy")
    assert policy, f"{response.url} sent no Content-Security-Policy"
    parsed = directives(policy)
    script_src = parsed.get("script-src", parsed.get("default-src"))
    assert script_src, policy
    assert "'unsafe-inline'" not in script_src, policy
    assert "'unsafe-eval'" not in script_src, policy
    return parsed


def no_violations_so_far(page: Page, violations: list[str]) -> None:
    """Everything the page reported before this round trip has arrived (the binding calls come first)."""
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 50))")
    assert violations == []


def test_the_policy_blocks_an_inline_script_and_the_violation_is_recorded(page: Page, csp_violations, live_server):
    """The recorder and the policy work: without this, a silent recorder would pass every other test."""
    policy = assert_strict_policy(page.goto("/"))
    assert policy["script-src"] == ["'self'"]
    ran = page.evaluate(
        """() => {
          window.inlineRan = false;
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.appendChild(script);
          return window.inlineRan;
        }"""
    )
    assert ran is False
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 50))")
    assert any("script-src" in violation for violation in csp_violations), csp_violations


def test_the_main_pages_work_under_the_policy_with_no_violation(page: Page, csp_violations, daphne_url):
    StockFactory(code=CODE, name="정책전자", name_en="Policy Electronics", market_cap_rank=1)
    candles_record_ticks([{"code": CODE, "close": 50_000, "volume": 100, "dt": "2026-01-05T01:00:00+00:00"}])
    store_tick({"code": CODE, "close": 50_000, "base": 50_000, "volume": 100})

    assert_strict_policy(page.goto(f"{daphne_url}/"))
    log_in_new_trader(page, daphne_url)

    assert_strict_policy(page.goto(f"{daphne_url}/dashboard/"))
    expect(page.locator("body")).to_have_attribute("data-account-stream", "live")  # /ws/account/ under connect-src
    no_violations_so_far(page, csp_violations)

    assert_strict_policy(page.goto(f"{daphne_url}/market/"))
    expect(page.locator(f"[data-live-row='{CODE}']").first).to_be_visible()
    htmx_settled(page)
    page.locator("#q").fill("정책")  # an htmx search request
    expect(page.locator(f"[data-live-row='{CODE}']").first).to_be_visible()
    no_violations_so_far(page, csp_violations)

    # the stock page: chart (its attribution logo's <style> is allowed by hash), live prices, the order ticket
    assert_strict_policy(page.goto(f"{daphne_url}/stocks/{CODE}/"))
    expect(page.locator("[data-live-status]")).to_have_text("Simulated prices")  # /ws/prices/ under connect-src
    page.wait_for_function(CANVAS_DRAWN)
    logo = page.locator("#tv-attr-logo")
    expect(logo).to_have_count(1)
    expect(logo).to_have_css("position", "absolute")  # the library's injected <style> applied
    ticket = page.get_by_test_id("order-ticket")
    expect(ticket).to_be_visible()
    htmx_settled(page)
    ticket.locator("[name=quantity]").fill("2")
    ticket.get_by_test_id("place-order").click()
    page.get_by_test_id("confirm-order").click()  # the order ticket's confirmation dialog
    expect(page.get_by_test_id("order-result")).to_contain_text("2 filled at 50,000원")
    expect(page.locator("#toasts")).to_contain_text("Filled: bought 2 정책전자")  # account stream
    no_violations_so_far(page, csp_violations)

    for path, shows_the_fill in [
        ("/orders/", True),
        ("/portfolio/", True),
        ("/portfolio/ledger/", True),
        ("/watchlists/", False),
    ]:
        assert_strict_policy(page.goto(f"{daphne_url}{path}"))
        if shows_the_fill:
            expect(page.locator("main")).to_contain_text("정책전자")
        expect(page.locator("body")).to_have_attribute("data-account-stream", "live")
        htmx_settled(page)
        no_violations_so_far(page, csp_violations)


def test_the_small_screen_menu_opens_without_an_inline_handler(page: Page, csp_violations, live_server):
    page.set_viewport_size({"width": 400, "height": 800})
    assert_strict_policy(page.goto("/"))
    toggle = page.get_by_role("button", name="Menu")
    expect(page.locator("#main-nav")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#main-nav").get_by_role("link", name="Market")).to_be_visible()
    toggle.click()
    expect(page.locator("#main-nav")).to_be_hidden()
    no_violations_so_far(page, csp_violations)


def test_the_premium_page_pays_in_test_mode_under_its_portone_policy(page: Page, csp_violations, settings):
    ensure_catalogue()
    settings.PORTONE_TEST_MODE = True
    for name in ("PORTONE_STORE_ID", "PORTONE_CHANNEL_KEY", "PORTONE_V2_API_SECRET", "PORTONE_WEBHOOK_SECRET"):
        setattr(settings, name, "")
    trader = log_in_new_trader(page)

    policy = assert_strict_policy(page.goto("/premium/"))
    assert "https://*.portone.io" in policy["script-src"]  # the SDK's CDN, on this page only
    assert "https://*.portone.io" in policy["frame-src"]  # PortOne's payment window
    page.locator("[data-product=premium_monthly]").get_by_role("button").click()
    expect(page.get_by_test_id("payment-result")).to_contain_text("Payment complete")
    expect(page.get_by_test_id("subscription")).to_contain_text("PREMIUM")
    assert Subscription.objects.get(user=trader).is_active
    no_violations_so_far(page, csp_violations)

    dashboard = assert_strict_policy(page.goto("/dashboard/"))
    assert not any("portone" in source for source in dashboard["script-src"])  # not on other pages


def test_the_admin_and_swagger_ui_work_under_the_policy(page: Page, csp_violations, live_server):
    staff = UserFactory(is_staff=True, is_superuser=True)
    open_account_for(staff)
    log_in(page, staff)

    assert_strict_policy(page.goto("/admin/"))
    expect(page.locator("#site-name")).to_be_visible()
    no_violations_so_far(page, csp_violations)
    assert_strict_policy(page.goto("/admin/marketdata/stock/"))
    expect(page.locator("#changelist")).to_be_visible()
    page.locator("#toggle-nav-sidebar").click()  # the admin's own scripts run
    expect(page.locator("#nav-sidebar")).to_be_hidden()
    no_violations_so_far(page, csp_violations)
    assert_strict_policy(page.goto("/admin/marketdata/relay/"))
    expect(page.locator(".admin-section-head").first).to_have_css("margin-top", "32px")  # our admin.css: 2em
    no_violations_so_far(page, csp_violations)

    docs = assert_strict_policy(page.goto("/docs"))
    assert "'unsafe-inline'" in docs["style-src"]  # the one relaxation: Swagger UI's template has a <style> block
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("StocKing API")  # rendered from the schema
    expect(page.locator(".opblock").first).to_be_visible()
    no_violations_so_far(page, csp_violations)


@pytest.mark.parametrize("path", ["/", "/login/", "/signup/", "/market/"])
def test_anonymous_pages_have_no_violation(page: Page, csp_violations, live_server, path):
    assert_strict_policy(page.goto(path))
    expect(page.locator("main")).to_be_visible()
    no_violations_so_far(page, csp_violations)
