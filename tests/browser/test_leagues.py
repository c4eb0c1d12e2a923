"""Leagues in a real browser (issue 17): a free user creates a public league on the create page and reads its join
code on the league page; another user, in a second browser, sets a nickname, joins with the code through the
join-by-code form, and both see both public names in the standings. No CSP violation and no untranslated English
on any of the pages, in either browser; never a username."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from leagues.models import League, Membership
from leagues.standings import league_standings_compute
from tests.browser.i18n import assert_no_untranslated
from tests.browser.session import log_in_new_trader
from tests.browser.test_csp import REPORT_VIOLATIONS, csp_violations, no_violations_so_far  # noqa: F401 (a fixture)

COUNTDOWN = re.compile(r"^(\d+일 )?\d\d:\d\d:\d\d$")


@pytest.fixture
def second_browser(browser: Browser, live_server):
    """Another person's browser: its own context (cookies), in Korean, with the same CSP and error recorders."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800}, locale="ko-KR")
    violations: list[str] = []
    errors: list[str] = []
    context.expose_function("__cspViolation", lambda text: violations.append(text))
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error.stack or error.message}"))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    yield page, violations, errors
    context.close()


def test_a_league_created_by_one_user_is_joined_by_code_from_another_browser(
    page: Page,
    csp_violations,  # noqa: F811
    second_browser,
):
    # A, a free user, creates a public league from the leagues page.
    owner = log_in_new_trader(page)
    page.get_by_role("link", name="리그", exact=True).click()
    expect(page).to_have_url(re.compile(r"/leagues/$"))
    assert_no_untranslated(page)
    page.get_by_test_id("create-league").click()
    expect(page.locator("#id_starts_on")).not_to_have_value("")  # today, filled in
    assert_no_untranslated(page)
    page.locator("#id_name").fill("목요 투자 리그")
    page.locator("#id_max_members").fill("20")
    page.get_by_test_id("create-submit").click()

    expect(page).to_have_url(re.compile(r"/leagues/\d+/$"))
    expect(page.get_by_test_id("league-name")).to_have_text("목요 투자 리그")
    expect(page.get_by_test_id("league-status")).to_have_text("진행 중")
    expect(page.get_by_test_id("countdown")).to_have_text(COUNTDOWN)  # the script counts down each second
    code = page.get_by_test_id("join-code").inner_text().strip()
    league = League.objects.get(name="목요 투자 리그")
    assert code == league.join_code
    assert league.owner == owner
    assert league.visibility == "PUBLIC"
    expect(page.get_by_test_id("invite-link")).to_have_value(re.compile(rf"/leagues/join/{code}/$"))
    assert_no_untranslated(page)
    no_violations_so_far(page, csp_violations)

    # B, in another browser, picks a nickname and joins with the code A shared.
    other, other_violations, other_errors = second_browser
    joiner = log_in_new_trader(other)
    other.get_by_test_id("nav-profile").click()
    other.locator("#id_nickname").fill("베타개미")
    other.locator("main form button[type=submit]").click()
    expect(other.locator(".message")).to_have_text("공개 프로필을 저장했습니다.")
    assert_no_untranslated(other)
    other.goto("/leagues/")
    form = other.get_by_test_id("join-by-code")
    form.locator("[name=code]").fill(code.lower())  # as someone types it from a whiteboard
    form.get_by_role("button", name="참가하기").click()

    expect(other).to_have_url(re.compile(rf"/leagues/{league.pk}/$"))
    expect(other.locator(".message")).to_have_text("목요 투자 리그에 참가했습니다.")
    assert Membership.objects.filter(league=league, user=joiner).exists()
    names = other.get_by_test_id("standing-name")
    expect(names).to_have_count(2)
    expect(other.get_by_test_id("standings")).to_contain_text("베타개미")
    expect(other.get_by_test_id("standings")).to_contain_text("회원 1")  # A has no nickname: a member number
    expect(other.locator(".standing-me")).to_contain_text("베타개미")
    expect(other.get_by_test_id("my-rank")).to_contain_text("베타개미")
    assert_no_untranslated(other)

    # the standings as the task computes them after the joins: both ranked, A sees both
    league_standings_compute(league=league)
    page.reload()
    expect(page.get_by_test_id("standing-name")).to_have_count(2)
    expect(page.get_by_test_id("standings")).to_contain_text("베타개미")
    expect(page.locator(".standing-me")).to_contain_text("회원 1")
    expect(page.get_by_test_id("computed-at")).to_contain_text("계산 시각")
    for html in (page.content(), other.content()):
        for secret in (owner.username, owner.email, joiner.username, joiner.email):
            assert secret not in html
    assert_no_untranslated(page)
    no_violations_so_far(page, csp_violations)
    other.evaluate("() => new Promise((resolve) => setTimeout(resolve, 50))")
    assert other_violations == []
    assert other_errors == []
