"""League pages, the leaderboard page and the profile page (issue 17, docs/architecture.md §16): each renders in
Korean and in English; the forms show the services' refusals (bad dates, the premium gate, a wrong, expired or
full join code, joining twice, a taken or username-like nickname); another user's private league is 404 without its
code; and no page's HTML holds anyone's username or e-mail."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from leagues import services
from leagues.models import League, Membership, Standing, Visibility
from leagues.services import league_create, league_join, member_add, profile_update
from leagues.standings import leaderboard_compute, league_standings_compute
from marketdata.calendar import seoul_today
from marketdata.models import MarketIndex, MarketIndexDay
from portfolio.analytics import snapshots_seed_demo
from portfolio.models import EquitySnapshot
from portfolio.selectors import account_get_open
from tests.factories import UserFactory, open_account_for

pytestmark = pytest.mark.django_db


def today():
    return seoul_today(timezone.now())


def trader(nickname=None, opt_in=False):
    user = UserFactory()
    open_account_for(user)
    if nickname:
        profile_update(user=user, nickname=nickname, leaderboard_opt_in=opt_in)
    return user


def public_league(owner, **fields):
    values = {"name": "수요 리그", "starts_on": today(), "ends_on": today() + timedelta(days=13)}
    return league_create(owner=owner, **{**values, "visibility": "PUBLIC", **fields})


def in_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def main_text(html: str) -> str:
    """The text of the page's <main>, without tags or attributes (URLs such as /leaderboard/ are not words)."""
    return re.sub(r"<[^>]+>", " ", html.split("<main", 1)[1].split("</main>", 1)[0])


def html_of(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.content.decode()


@pytest.fixture
def owner(db):
    return trader()


@pytest.fixture
def member(db):
    return trader(nickname="개미왕", opt_in=True)


@pytest.fixture
def league(owner, member):
    league = public_league(owner)
    league_join(user=member, league_id=league.pk)
    return league


# --- every page, both languages --------------------------------------------------------------------------------

KOREAN = {
    "/leagues/": ["리그", "참가 코드", "내 리그", "공개 리그"],
    "/leagues/new/": ["리그 만들기", "공개", "비공개", "최대 인원"],
    "/leagues/join/": ["리그 참가", "참가 코드"],
    "/leaderboard/": ["리더보드", "주간", "월간", "전체", "수익률", "샤프 지수", "닉네임"],
    "/profile/": ["닉네임", "리더보드"],
}
ENGLISH = {
    "/leagues/": ["Leagues", "Join code", "My leagues", "Open public leagues"],
    "/leagues/new/": ["Create a league", "Public", "Private", "Max members"],
    "/leagues/join/": ["Join a league", "Join code"],
    "/leaderboard/": ["Leaderboard", "Week", "Month", "All time", "Return", "Sharpe ratio", "Nickname"],
    "/profile/": ["Nickname", "leaderboard"],
}


@pytest.mark.parametrize("path", list(KOREAN))
def test_each_page_renders_in_korean_by_default_and_in_english_on_request(client, owner, path):
    client.force_login(owner)
    korean = main_text(html_of(client, path))
    for word in KOREAN[path]:
        assert word in korean, (path, word)
    for word in ENGLISH[path]:
        assert word not in korean, (path, word)
    english = main_text(html_of(in_english(client), path))
    for word in ENGLISH[path]:
        assert word in english, (path, word)
    for word in KOREAN[path]:
        assert word not in english, (path, word)


def test_the_league_page_renders_in_korean_and_in_english(client, league, owner):
    client.force_login(owner)
    korean = main_text(html_of(client, f"/leagues/{league.pk}/"))
    for word in ("순위", "수익률", "최대 낙폭", "샤프 지수", "거래 횟수", "참가 코드", "초대 링크", "종료까지"):
        assert word in korean, word
    assert "나가기" in korean
    english = main_text(html_of(in_english(client), f"/leagues/{league.pk}/"))
    for word in ("Rank", "Return", "Max drawdown", "Sharpe ratio", "Trades", "Join code", "Invitation link", "Leave"):
        assert word in english, word
    assert "순위" not in english
    assert "Rank" not in korean


def test_pages_other_than_the_leaderboard_ask_to_log_in(client, league):
    for path in ("/leagues/", "/leagues/new/", "/leagues/join/", f"/leagues/{league.pk}/", "/profile/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/"), path
    assert client.get("/leaderboard/").status_code == 200


def test_the_nav_links_to_leagues_the_leaderboard_and_the_profile(client, owner):
    client.force_login(owner)
    html = html_of(client, "/dashboard/")
    assert 'href="/leagues/"' in html
    assert 'href="/leaderboard/"' in html
    assert 'href="/profile/"' in html
    assert 'href="/leaderboard/"' in html_of(client.__class__(), "/")  # the leaderboard is public


# --- the list --------------------------------------------------------------------------------------------------


def test_the_list_shows_my_leagues_and_open_public_ones_with_status_and_members(client, league, owner):
    other = public_league(trader(), name="남의 리그")
    ended = League.objects.create(
        name="지난 리그", owner=owner, starts_on=today() - timedelta(days=20), ends_on=today() - timedelta(days=1),
        visibility=Visibility.PUBLIC, join_code="ENDED234", max_members=10,
    )  # fmt: skip
    member_add(league_id=ended.pk, user=owner)
    client.force_login(owner)
    html = html_of(client, "/leagues/")
    mine = html.split('data-testid="my-leagues"')[1].split("</section>")[0]
    open_ones = html.split('data-testid="open-leagues"')[1].split("</section>")[0]
    assert "수요 리그" in mine
    assert "2/50" in mine
    assert "진행 중" in mine
    assert "지난 리그" in mine
    assert "종료" in mine
    assert "남의 리그" in open_ones
    assert "1/50" in open_ones
    assert "수요 리그" not in open_ones  # mine already
    assert f'href="/leagues/{other.pk}/"' in open_ones


# --- create ----------------------------------------------------------------------------------------------------


def create_form(**fields):
    values = {
        "name": "금요 리그",
        "starts_on": today().isoformat(),
        "ends_on": (today() + timedelta(days=6)).isoformat(),
        "visibility": "PUBLIC",
        "max_members": "30",
    }
    return {**values, **fields}


def test_creating_a_public_league_makes_its_owner_a_member_and_opens_its_page(client, owner):
    client.force_login(owner)
    response = client.post("/leagues/new/", create_form())
    league = League.objects.get(name="금요 리그")
    assert response.status_code == 302
    assert response["Location"] == f"/leagues/{league.pk}/"
    assert league.max_members == 30
    assert Membership.objects.filter(league=league, user=owner).exists()
    html = html_of(client, response["Location"])
    assert league.join_code in html
    assert f"/leagues/join/{league.join_code}/" in html


def test_a_league_that_ends_before_it_starts_or_lasts_over_a_year_is_refused_on_the_form(client, owner):
    client.force_login(owner)
    response = client.post("/leagues/new/", create_form(ends_on=(today() - timedelta(days=1)).isoformat()))
    assert response.status_code == 400
    assert "리그는 시작일보다 먼저 끝날 수 없습니다" in response.content.decode()
    response = client.post("/leagues/new/", create_form(ends_on=(today() + timedelta(days=400)).isoformat()))
    assert response.status_code == 400
    assert "최대 1년" in response.content.decode()
    response = client.post("/leagues/new/", create_form(max_members="1"))
    assert response.status_code == 400
    assert not League.objects.exists()


def test_a_free_users_private_or_second_public_league_shows_the_premium_gate_with_a_link(client, owner):
    client.force_login(owner)
    response = client.post("/leagues/new/", create_form(visibility="PRIVATE"))
    html = response.content.decode()
    assert response.status_code == 403
    assert "비공개 리그는 프리미엄 기능입니다" in html
    assert 'href="/premium/"' in html.split('data-testid="league-form"')[1]
    assert client.post("/leagues/new/", create_form()).status_code == 302
    response = client.post("/leagues/new/", create_form(name="두 번째"))
    assert response.status_code == 403
    assert 'href="/premium/"' in response.content.decode().split('data-testid="league-form"')[1]
    assert League.objects.count() == 1


def test_a_premium_user_creates_a_private_league(client, owner, monkeypatch):
    monkeypatch.setattr(services, "user_is_premium", lambda *, user: True)
    client.force_login(owner)
    response = client.post("/leagues/new/", create_form(visibility="PRIVATE"))
    assert response.status_code == 302
    assert League.objects.get().visibility == Visibility.PRIVATE


# --- join ------------------------------------------------------------------------------------------------------


def test_joining_by_code_adds_the_member_and_lists_them_unranked(client, owner):
    league = public_league(owner)
    joiner = trader()
    client.force_login(joiner)
    response = client.post("/leagues/join/", {"code": f" {league.join_code.lower()} "})
    assert response.status_code == 302
    assert response["Location"] == f"/leagues/{league.pk}/"
    assert Standing.objects.filter(league=league, user=joiner, rank=None).exists()
    html = html_of(client, response["Location"])
    assert html.count('data-testid="standing-row"') == 2
    assert "standing-me" in html


def test_a_wrong_code_is_a_form_error_and_joins_nothing(client, owner):
    public_league(owner)
    client.force_login(trader())
    response = client.post("/leagues/join/", {"code": "NOPE2345"})
    assert response.status_code == 404
    assert "이 참가 코드의 리그가 없습니다" in response.content.decode()
    assert Membership.objects.count() == 1


def test_joining_twice_an_ended_or_a_full_league_says_why(client, owner, member):
    league = public_league(owner, max_members=2)
    client.force_login(owner)
    response = client.post("/leagues/join/", {"code": league.join_code})
    assert response.status_code == 409
    assert "이미 이 리그에 참가하고 있습니다" in response.content.decode()

    league_join(user=member, league_id=league.pk)
    client.force_login(trader())
    response = client.post("/leagues/join/", {"code": league.join_code})
    assert response.status_code == 409
    assert "정원이 찼습니다" in response.content.decode()

    League.objects.filter(pk=league.pk).update(ended_at=timezone.now())
    response = client.post("/leagues/join/", {"code": league.join_code})
    assert response.status_code == 409
    assert "종료된 리그" in response.content.decode()
    assert Membership.objects.filter(league=league).count() == 2


def test_an_invitation_link_shows_the_league_and_joins_on_post(client, owner, monkeypatch):
    monkeypatch.setattr(services, "user_is_premium", lambda *, user: True)
    league = public_league(owner, visibility="PRIVATE", name="비밀 리그")
    guest = trader()
    client.force_login(guest)
    html = html_of(client, f"/leagues/join/{league.join_code}/")
    assert "비밀 리그" in html
    assert 'data-testid="join-button"' in html
    response = client.post(f"/leagues/join/{league.join_code}/")
    assert response.status_code == 302
    assert response["Location"] == f"/leagues/{league.pk}/"
    assert Membership.objects.filter(league=league, user=guest).exists()
    assert "이미 이 리그에 참가하고 있습니다" in html_of(client, f"/leagues/join/{league.join_code}/")


def test_an_invitation_link_with_a_wrong_code_is_404(client, owner):
    public_league(owner)
    client.force_login(trader())
    assert client.get("/leagues/join/WRONG234/").status_code == 404
    assert client.post("/leagues/join/WRONG234/").status_code == 404
    assert Membership.objects.count() == 1


def test_another_users_private_league_is_404_without_its_code(client, owner, monkeypatch):
    monkeypatch.setattr(services, "user_is_premium", lambda *, user: True)
    league = public_league(owner, visibility="PRIVATE", name="비밀 리그")
    stranger = trader()
    client.force_login(stranger)
    response = client.get(f"/leagues/{league.pk}/")
    assert response.status_code == 404
    assert "비밀 리그" not in response.content.decode()
    assert client.get("/leagues/999999/").status_code == 404
    assert "비밀 리그" not in html_of(client, "/leagues/")
    assert client.post(f"/leagues/{league.pk}/join/").status_code == 404
    assert client.post(f"/leagues/{league.pk}/leave/").status_code == 404
    assert "비밀 리그" in html_of(client, f"/leagues/{league.pk}/?code={league.join_code}")
    assert not Membership.objects.filter(user=stranger).exists()


def test_the_join_and_leave_buttons_of_a_public_league(client, owner):
    league = public_league(owner)
    joiner = trader()
    client.force_login(joiner)
    html = html_of(client, f"/leagues/{league.pk}/")
    assert 'data-testid="join-button"' in html
    assert 'data-testid="join-code"' not in html  # the code and link are for members
    assert client.post(f"/leagues/{league.pk}/join/").status_code == 302
    html = html_of(client, f"/leagues/{league.pk}/")
    assert 'data-testid="leave-button"' in html
    assert 'data-testid="join-code"' in html
    response = client.post(f"/leagues/{league.pk}/leave/")
    assert response.status_code == 302
    assert response["Location"] == "/leagues/"
    assert not Membership.objects.filter(league=league, user=joiner).exists()


# --- the league page -------------------------------------------------------------------------------------------


@pytest.fixture
def running_league(owner, member):
    """A league that started ten days ago, both members with 20 days of history beside KOSPI."""
    kospi, _ = MarketIndex.objects.get_or_create(code="KOSPI", defaults={"name": "코스피"})
    for back in range(30):
        close = Decimal(2500 + back)
        MarketIndexDay.objects.create(
            index=kospi, date=today() - timedelta(days=back), open=close, high=close, low=close, close=close
        )
    for user, seed in ((owner, 1), (member, 7)):
        assert snapshots_seed_demo(account=account_get_open(user=user), days=20, seed=seed) == 20
    league = League.objects.create(
        name="열흘 리그", owner=owner, starts_on=today() - timedelta(days=10), ends_on=today() + timedelta(days=10),
        visibility=Visibility.PUBLIC, join_code="TENDAY23", max_members=50,
    )  # fmt: skip
    for user in (owner, member):
        member_add(league_id=league.pk, user=user)
    league_standings_compute(league=league)
    return league


def test_the_league_page_shows_ranks_my_row_my_rank_the_countdown_and_the_curves(client, running_league, owner):
    client.force_login(owner)
    html = html_of(client, f"/leagues/{running_league.pk}/")
    mine = Standing.objects.get(league=running_league, user=owner)
    assert mine.rank in (1, 2)
    rows = re.findall(r'<tr class="([^"]*)" data-testid="standing-row"', html)
    assert len(rows) == 2
    assert rows[mine.rank - 1] == "standing-me"
    my_rank = html.split('data-testid="my-rank"')[1].split("</p>")[0]
    assert f"<strong>{mine.rank}위</strong>" in my_rank
    assert "회원 1" in my_rank
    assert "개미왕" in html
    assert "계산 시각" in html
    assert re.search(r'data-countdown-end="\d{4}-\d\d-\d\dT00:00:00\+09:00"', html)
    chart = re.search(r'<script id="league-chart-data" type="application/json">(.*?)</script>', html)
    points = json.loads(chart.group(1))["points"]
    assert points[0]["date"] >= (today() - timedelta(days=10)).isoformat()
    assert points[-1]["date"] == today().isoformat()
    assert all(p["mine"] is not None and p["benchmark"] is not None for p in points[1:])
    assert points[-1]["mine"] == pytest.approx(mine.return_pct, abs=1e-3)
    leader = Standing.objects.get(league=running_league, rank=1)
    if leader.user_id == owner.pk:  # the viewer leads: one line, no separate leader's
        assert all(p["leader"] is None for p in points)
        assert "legend-leader" not in html
    else:
        assert all(p["leader"] is not None for p in points[1:])
        assert points[-1]["leader"] == pytest.approx(leader.return_pct, abs=1e-3)
        assert "legend-leader" in html


def test_a_member_behind_sees_the_leaders_curve_beside_their_own(client, running_league, owner, member):
    behind = Standing.objects.get(league=running_league, rank=2)
    leader = Standing.objects.get(league=running_league, rank=1)
    client.force_login(owner if behind.user_id == owner.pk else member)
    html = html_of(client, f"/leagues/{running_league.pk}/")
    chart = re.search(r'<script id="league-chart-data" type="application/json">(.*?)</script>', html)
    points = json.loads(chart.group(1))["points"]
    assert points[-1]["mine"] == pytest.approx(behind.return_pct, abs=1e-3)
    assert points[-1]["leader"] == pytest.approx(leader.return_pct, abs=1e-3)
    assert points[-1]["leader"] > points[-1]["mine"]
    assert "legend-leader" in html
    # KOSPI as the snapshots recorded it (the analytics page's line), from the one before day 1; today's close 2500
    before = EquitySnapshot.objects.filter(account__user=behind.user, date__lt=running_league.starts_on)
    before = before.order_by("-date")
    base = before.values_list("benchmark_close", flat=True).first()
    assert points[-1]["benchmark"] == pytest.approx((2500 / float(base) - 1) * 100, abs=1e-3)


def test_the_standings_table_is_paginated_and_pages_by_htmx(client, owner):
    league = public_league(owner, max_members=200)
    for _ in range(55):
        league_join(user=UserFactory(), league_id=league.pk)
    client.force_login(owner)
    html = html_of(client, f"/leagues/{league.pk}/")
    assert html.count('data-testid="standing-row"') == 50
    fragment = client.get(f"/leagues/{league.pk}/?page=2", headers={"HX-Request": "true"}).content.decode()
    assert fragment.count('data-testid="standing-row"') == 6
    assert "<html" not in fragment
    assert "회원 56" in fragment


# --- the leaderboard and the profile ---------------------------------------------------------------------------


def test_the_leaderboard_lists_only_opted_in_nicknames_and_explains_the_rules(client, running_league, member, owner):
    trader(nickname="숨은고수", opt_in=False)
    leaderboard_compute()
    html = html_of(client, "/leaderboard/?period=all&metric=return")
    assert "개미왕" in html
    assert "숨은고수" not in html
    assert html.count('data-testid="leaderboard-row"') == 1
    assert "기준" in html.split('data-testid="as-of"')[1].split("</p>")[0]
    rules = html.split('data-testid="leaderboard-rules"')[1].split("</p>")[0]
    assert "닉네임" in rules
    assert "5" in rules
    assert 'aria-current="page">전체' in html
    sharpe = html_of(client, "/leaderboard/?period=all&metric=sharpe")
    assert "개미왕" in sharpe  # 20 days of history: enough for Sharpe
    assert html_of(client, "/leaderboard/?period=bogus&metric=bogus").count('aria-current="page"') == 2


def test_an_opt_out_leaves_the_leaderboard_page_at_once_though_its_count_is_cached(
    client, running_league, member, django_capture_on_commit_callbacks
):
    leaderboard_compute()
    response = client.get("/leaderboard/")
    assert response.context["page"].paginator.count == 1  # 개미왕, counted once and kept
    assert response.content.decode().count('data-testid="leaderboard-row"') == 1
    with django_capture_on_commit_callbacks(execute=True):
        profile_update(user=member, leaderboard_opt_in=False)
    response = client.get("/leaderboard/")
    assert response.context["page"].paginator.count == 0  # the kept count went with the profile change
    assert response.content.decode().count('data-testid="leaderboard-row"') == 0


def test_the_profile_page_saves_a_nickname_and_the_opt_in(client, owner):
    client.force_login(owner)
    response = client.post("/profile/", {"nickname": "새내기", "leaderboard_opt_in": "on"})
    assert response.status_code == 302
    owner.league_profile.refresh_from_db()
    assert owner.league_profile.nickname == "새내기"
    assert owner.league_profile.leaderboard_opt_in is True
    assert 'value="새내기"' in html_of(client, "/profile/")


def test_the_profile_page_shows_the_services_refusals(client, owner, member):
    client.force_login(owner)
    for body, expected in [
        ({"nickname": "개미왕"}, "이미 사용 중인 닉네임입니다"),
        ({"nickname": owner.username}, "사용자 이름처럼 보이는 닉네임"),
        ({"nickname": "x"}, "2~20자"),
        ({"nickname": "", "leaderboard_opt_in": "on"}, "닉네임을 먼저 정하세요"),
    ]:
        response = client.post("/profile/", body)
        assert response.status_code == 400, body
        assert expected in response.content.decode(), body
    assert not hasattr(owner, "league_profile") or owner.league_profile.nickname is None


# --- privacy ---------------------------------------------------------------------------------------------------


def test_no_page_shows_a_username_or_an_email(client, running_league, owner, member):
    leaderboard_compute()
    secrets = [owner.username, owner.email, member.username, member.email]
    for viewer in (owner, member):
        client.force_login(viewer)
        for path in (
            "/leagues/",
            "/leagues/new/",
            "/leagues/join/",
            f"/leagues/{running_league.pk}/",
            f"/leagues/join/{running_league.join_code}/",
            "/leaderboard/",
            "/leaderboard/?period=all&metric=sharpe",
            "/profile/",
        ):
            html = html_of(client, path)
            for secret in secrets:
                assert secret not in html, (viewer.username, path)
    client.logout()
    html = html_of(client, "/leaderboard/?period=all")
    assert "개미왕" in html
    assert all(secret not in html for secret in secrets)
