"""The leagues API (docs/architecture.md §9, §14): leagues, joining by code, leaving, ending, standings served from the
cached rows, the public leaderboard and the public profile. Every refusal writes nothing, and no answer carries a
username or an e-mail."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from leagues import services
from leagues.models import LeaderboardEntry, League, Membership, Profile, Standing
from leagues.standings import leaderboard_compute, league_standings_compute
from portfolio.analytics import day_start
from portfolio.models import Account, EquitySnapshot
from tests.factories import UserFactory, open_account_for
from tests.fake_portone import complete, pay_at_portone, prepare, running_fake_portone
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 2)
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 10:00 KST, Monday 2026-11-02
LEAGUES = "/api/v1/leagues"


@pytest.fixture(autouse=True)
def _monday():
    with time_machine.travel(START, tick=False):
        yield


def client_for(user, language: str = "en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(user=user)
    return client


def league_body(**overrides) -> dict:
    body = {"name": "3학년 2반", "starts_on": "2026-11-02", "ends_on": "2026-11-30", "visibility": "PUBLIC"}
    return body | overrides


def create_league(client, **overrides) -> dict:
    response = client.post(LEAGUES, league_body(**overrides), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def make_premium(user, settings) -> None:
    client = client_for(user)
    with running_fake_portone(settings) as fake:
        order = prepare(client, "premium_monthly")
        pay_at_portone(fake, order)
        assert complete(client, order["payment_id"]).status_code == 200


def counts() -> tuple[int, int, int]:
    return League.objects.count(), Membership.objects.count(), Standing.objects.count()


@pytest.fixture
def owner_client(user):
    return client_for(user)


@pytest.fixture
def friend():
    friend = UserFactory()
    open_account_for(friend)
    return friend


# --- creating ---------------------------------------------------------------------------------------------------


def test_creating_a_league_answers_201_with_its_join_code_and_the_owner_in_it(owner_client, user):
    league = create_league(owner_client, max_members=30)
    assert len(league["join_code"]) == 8
    assert (league["status"], league["is_member"], league["member_count"], league["max_members"]) == (
        "running",
        True,
        1,
        30,
    )
    assert league["ends_at"] == "2026-12-01T00:00:00+09:00"  # the end of the last day, KST
    assert league["my_standing"] == {
        "rank": None,
        "return_pct": None,
        "max_drawdown_pct": None,
        "sharpe_ratio": None,
        "trades": 0,
        "days": 0,
    }
    assert league["owner"] == "Anonymous"  # no nickname yet, and never the username
    assert Membership.objects.filter(league_id=league["id"], user=user).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"starts_on": "2026-11-10", "ends_on": "2026-11-09"}, "ends_on"),
        ({"starts_on": "2026-11-02", "ends_on": "2027-11-03"}, "ends_on"),  # 367 days
        ({"starts_on": "2026-11-01", "ends_on": "2026-11-30"}, "starts_on"),  # yesterday
        ({"name": "   "}, "name"),
        ({"name": 123}, "name"),
        ({"starts_on": 20261102}, "starts_on"),
        ({"starts_on": "20261102"}, "starts_on"),
        ({"visibility": "SECRET"}, "visibility"),
        ({"max_members": 1}, "max_members"),
        ({"max_members": 5001}, "max_members"),
        ({"max_members": True}, "max_members"),
        ({"max_members": 2.5}, "max_members"),
    ],
)
def test_a_bad_league_is_refused_with_400_and_nothing_written(owner_client, overrides, field):
    before = counts()
    error = assert_error(owner_client.post(LEAGUES, league_body(**overrides), format="json"), 400, "validation_error")
    assert field in error["details"]
    assert counts() == before


def test_a_league_of_exactly_a_year_is_allowed(owner_client):
    league = create_league(owner_client, starts_on="2026-11-02", ends_on="2027-11-02")  # 366 days
    assert league["ends_on"] == "2027-11-02"


def test_a_free_user_may_not_create_a_private_league(owner_client):
    before = counts()
    assert_error(owner_client.post(LEAGUES, league_body(visibility="PRIVATE"), format="json"), 403, "premium_required")
    assert counts() == before


def test_a_free_user_runs_one_public_league_at_a_time(owner_client):
    create_league(owner_client)
    before = counts()
    assert_error(owner_client.post(LEAGUES, league_body(name="또 하나"), format="json"), 403, "premium_required")
    assert counts() == before


def test_premium_creates_private_leagues_and_several_public_ones(user, owner_client, settings):
    make_premium(user, settings)
    create_league(owner_client)
    create_league(owner_client, name="둘째")
    private = create_league(owner_client, name="비밀", visibility="PRIVATE")
    assert private["visibility"] == "PRIVATE"
    assert League.objects.filter(owner=user).count() == 3


# --- seeing and listing -----------------------------------------------------------------------------------------


def test_another_users_private_league_is_404_without_its_code(user, owner_client, friend, settings):
    make_premium(user, settings)
    league = create_league(owner_client, visibility="PRIVATE")
    stranger = client_for(friend)
    assert_error(stranger.get(f"{LEAGUES}/{league['id']}"), 404, "league_not_found")
    assert_error(stranger.get(f"{LEAGUES}/{league['id']}?join_code=WRONG123"), 404, "league_not_found")
    assert_error(stranger.get(f"{LEAGUES}/{league['id']}/standings"), 404, "league_not_found")
    seen = stranger.get(f"{LEAGUES}/{league['id']}?join_code={league['join_code'].lower()}")
    assert seen.status_code == 200, seen.content
    assert (seen.json()["is_member"], seen.json()["join_code"], seen.json()["my_standing"]) == (False, None, None)
    assert_error(stranger.get(f"{LEAGUES}/{league['id'] + 1000}"), 404, "league_not_found")


def test_the_list_scopes_and_the_join_code_only_for_members(user, owner_client, friend, settings):
    make_premium(user, settings)
    public = create_league(owner_client, name="공개")
    private = create_league(owner_client, name="비공개", visibility="PRIVATE")
    other_owner = UserFactory()
    theirs_private = services.league_create(
        owner=other_owner, name="남의 것", starts_on=MONDAY, ends_on=MONDAY + timedelta(days=5), visibility="PUBLIC"
    )

    mine = owner_client.get(f"{LEAGUES}?scope=mine").json()
    assert {league["name"] for league in mine["results"]} == {"공개", "비공개"}
    assert all(league["join_code"] for league in mine["results"])

    stranger = client_for(friend)
    everything = stranger.get(LEAGUES).json()
    assert everything["count"] == 2
    assert {league["id"] for league in everything["results"]} == {public["id"], theirs_private.pk}
    assert all(league["join_code"] is None and not league["is_member"] for league in everything["results"])
    assert stranger.get(f"{LEAGUES}?scope=mine").json()["count"] == 0
    assert private["id"] not in {league["id"] for league in stranger.get(f"{LEAGUES}?scope=public").json()["results"]}
    assert_error(stranger.get(f"{LEAGUES}?scope=everything"), 400, "validation_error")


def test_the_list_costs_the_same_queries_for_one_league_or_many(
    owner_client, user, settings, django_assert_max_num_queries
):
    make_premium(user, settings)
    create_league(owner_client)
    with CaptureQueriesContext(connection) as one:
        assert owner_client.get(LEAGUES).status_code == 200
    one_league = len(one)  # now: each request empties the connection's query log
    for number in range(8):
        create_league(owner_client, name=f"리그 {number}")
    with django_assert_max_num_queries(one_league):
        assert owner_client.get(LEAGUES).json()["count"] == 9


# --- joining, leaving, ending ----------------------------------------------------------------------------------


def test_joining_a_public_league_and_then_again(owner_client, friend):
    league = create_league(owner_client)
    joiner = client_for(friend)
    joined = joiner.post(f"{LEAGUES}/{league['id']}/join", {}, format="json")
    assert joined.status_code == 200, joined.content
    assert (joined.json()["is_member"], joined.json()["member_count"]) == (True, 2)
    assert joined.json()["join_code"] == league["join_code"]

    before = counts()
    assert_error(joiner.post(f"{LEAGUES}/{league['id']}/join", {}, format="json"), 409, "already_member")
    assert counts() == before


def test_a_private_league_is_joined_with_its_code_only(user, owner_client, friend, settings):
    make_premium(user, settings)
    league = create_league(owner_client, visibility="PRIVATE")
    joiner = client_for(friend)
    before = counts()
    for body in ({}, {"join_code": ""}, {"join_code": "ZZZZZZZZ"}, {"join_code": "üüü"}, {"join_code": "참가코드"}):
        assert_error(joiner.post(f"{LEAGUES}/{league['id']}/join", body, format="json"), 404, "league_not_found")
    assert counts() == before
    assert_error(joiner.post(f"{LEAGUES}/{league['id']}/join", {"join_code": 12345678}, format="json"), 400)
    assert counts() == before

    code = f" {league['join_code'].lower()} "
    joined = joiner.post(f"{LEAGUES}/{league['id']}/join", {"join_code": code}, format="json")
    assert joined.status_code == 200, joined.content
    assert Membership.objects.filter(league_id=league["id"], user=friend).exists()


def test_a_public_league_ignores_a_wrong_or_non_ascii_code(owner_client, friend):
    league = create_league(owner_client)
    joined = client_for(friend).post(f"{LEAGUES}/{league['id']}/join", {"join_code": "üüü"}, format="json")
    assert joined.status_code == 200, joined.content  # public: the code is only an invitation


def test_the_owner_who_left_a_private_league_still_sees_and_ends_it(user, owner_client, settings):
    make_premium(user, settings)
    league = create_league(owner_client, visibility="PRIVATE")
    assert owner_client.post(f"{LEAGUES}/{league['id']}/leave").status_code == 204
    seen = owner_client.get(f"{LEAGUES}/{league['id']}")
    assert seen.status_code == 200, seen.content
    assert seen.json()["is_member"] is False
    ended = owner_client.post(f"{LEAGUES}/{league['id']}/end")
    assert ended.status_code == 200, ended.content
    assert ended.json()["status"] == "ended"


def test_a_full_league_refuses_the_next_member(owner_client, friend):
    league = create_league(owner_client, max_members=2)
    assert client_for(friend).post(f"{LEAGUES}/{league['id']}/join").status_code == 200
    before = counts()
    assert_error(client_for(UserFactory()).post(f"{LEAGUES}/{league['id']}/join"), 409, "league_full")
    assert counts() == before


def test_an_ended_league_can_be_neither_joined_nor_left_nor_ended_again(owner_client, friend):
    league = create_league(owner_client)
    member = client_for(UserFactory())
    assert member.post(f"{LEAGUES}/{league['id']}/join").status_code == 200
    assert_error(client_for(friend).post(f"{LEAGUES}/{league['id']}/end"), 404, "league_not_found")  # not theirs

    ended = owner_client.post(f"{LEAGUES}/{league['id']}/end")
    assert ended.status_code == 200, ended.content
    assert ended.json()["status"] == "ended"
    assert ended.json()["ends_at"] == "2026-11-02T10:00:00+09:00"  # ended_at, not the planned end

    before = counts()
    assert_error(client_for(friend).post(f"{LEAGUES}/{league['id']}/join"), 409, "league_ended")
    assert_error(member.post(f"{LEAGUES}/{league['id']}/leave"), 409, "league_ended")
    assert_error(owner_client.post(f"{LEAGUES}/{league['id']}/end"), 409, "league_ended")
    assert counts() == before


def test_a_league_is_over_after_its_last_day(owner_client, friend):
    league = create_league(owner_client, ends_on="2026-11-03")
    with time_machine.travel(START + timedelta(days=2), tick=False):
        assert owner_client.get(f"{LEAGUES}/{league['id']}").json()["status"] == "ended"
        before = counts()
        assert_error(client_for(friend).post(f"{LEAGUES}/{league['id']}/join"), 409, "league_ended")
        assert counts() == before


def test_an_upcoming_league_says_so(owner_client):
    league = create_league(owner_client, starts_on="2026-11-09", ends_on="2026-11-13")
    assert league["status"] == "upcoming"


def test_leaving_a_league(owner_client, friend):
    league = create_league(owner_client)
    member = client_for(friend)
    before = counts()
    assert_error(member.post(f"{LEAGUES}/{league['id']}/leave"), 409, "not_member")
    assert counts() == before
    assert member.post(f"{LEAGUES}/{league['id']}/join").status_code == 200
    left = member.post(f"{LEAGUES}/{league['id']}/leave")
    assert left.status_code == 204
    assert not Membership.objects.filter(league_id=league["id"], user=friend).exists()
    assert not Standing.objects.filter(league_id=league["id"], user=friend).exists()
    assert owner_client.get(f"{LEAGUES}/{league['id']}/standings").json()["count"] == 1


def test_a_bodyless_action_refuses_a_malformed_body(owner_client):
    league = create_league(owner_client)
    response = owner_client.post(f"{LEAGUES}/{league['id']}/end", "{not json", content_type="application/json")
    assert_error(response, 400, "malformed_request")
    assert League.objects.get(pk=league["id"]).ended_at is None


# --- standings --------------------------------------------------------------------------------------------------


def snapshot(user, day: date, equity: int, net_flow: int = 0) -> None:
    account = Account.objects.get(user=user, is_open=True)
    EquitySnapshot.objects.update_or_create(
        account=account,
        date=day,
        defaults={"equity": Decimal(equity), "cash": Decimal(equity), "market_value": 0, "net_flow": Decimal(net_flow)},
    )


def history(user, equities: list[int]) -> None:
    """Closing equity from the Friday before the league (the base) through its days."""
    days = [MONDAY - timedelta(days=3)] + [MONDAY + timedelta(days=n) for n in range(len(equities) - 1)]
    for day, equity in zip(days, equities, strict=True):
        snapshot(user, day, equity)


def after_the_week() -> datetime:
    return day_start(MONDAY + timedelta(days=7)) + timedelta(hours=12)


def test_standings_rank_by_return_and_show_the_callers_line(user, owner_client, friend):
    league = create_league(owner_client, ends_on="2026-11-06")
    joiner = client_for(friend)
    assert joiner.post(f"{LEAGUES}/{league['id']}/join").status_code == 200
    third = UserFactory()
    open_account_for(third)
    services.league_join(user=third, league_id=league["id"])
    history(user, [10_000_000, 10_100_000, 10_200_000, 10_300_000])  # +3 %
    history(friend, [10_000_000, 10_500_000, 10_400_000, 11_000_000])  # +10 %
    assert joiner.patch("/api/v1/profile", {"nickname": "상승장"}, format="json").status_code == 200
    league_standings_compute(league=League.objects.get(pk=league["id"]), now=after_the_week())

    body = owner_client.get(f"{LEAGUES}/{league['id']}/standings").json()
    assert body["count"] == 3
    assert body["computed_at"] == "2026-11-09T12:00:00+09:00"
    lines = [(line["rank"], line["name"], line["return_pct"], line["is_me"]) for line in body["results"]]
    # without a nickname: "Member N", N the order they joined in (the owner first)
    assert lines == [(1, "상승장", 10.0, False), (2, "Member 1", 3.0, True), (None, "Member 3", None, False)]
    assert body["me"] == body["results"][1]
    assert body["results"][0]["days"] == 3
    assert body["results"][0]["max_drawdown_pct"] < 0
    assert set(body["results"][0]) == {
        "rank", "name", "return_pct", "max_drawdown_pct", "sharpe_ratio", "trades", "days", "is_me",
    }  # fmt: skip

    page_two = joiner.get(f"{LEAGUES}/{league['id']}/standings?page=2&page_size=2").json()
    assert [line["name"] for line in page_two["results"]] == ["Member 3"]
    assert page_two["previous"].endswith("/standings?page_size=2")
    assert page_two["next"] is None
    assert (page_two["me"]["name"], page_two["me"]["is_me"]) == ("상승장", True)
    assert_error(joiner.get(f"{LEAGUES}/{league['id']}/standings?page=3&page_size=2"), 404)
    assert_error(joiner.get(f"{LEAGUES}/{league['id']}/standings?page=0"), 400, "validation_error")

    detail = owner_client.get(f"{LEAGUES}/{league['id']}").json()
    assert (detail["my_standing"]["rank"], detail["my_standing"]["return_pct"]) == (2, 3.0)


def test_the_me_line_of_an_unnamed_member_is_numbered_as_in_the_list(user, owner_client):
    league = create_league(owner_client, ends_on="2026-11-06")
    for n in range(4):
        member = UserFactory()
        open_account_for(member)
        services.league_join(user=member, league_id=league["id"])
        history(member, [10_000_000, 10_000_000 + (n + 1) * 100_000])
    history(user, [10_000_000, 10_250_000])  # third of five
    league_standings_compute(league=League.objects.get(pk=league["id"]), now=after_the_week())
    body = owner_client.get(f"{LEAGUES}/{league['id']}/standings?page_size=2").json()
    assert body["me"]["rank"] == 3
    assert body["me"]["name"] == "Member 1"  # the owner joined first
    page_two = owner_client.get(f"{LEAGUES}/{league['id']}/standings?page=2&page_size=2").json()
    assert page_two["results"][0] == body["me"]


def test_standings_names_follow_the_language(owner_client, user):
    league = create_league(owner_client)
    korean = client_for(user, language="ko").get(f"{LEAGUES}/{league['id']}/standings").json()
    english = owner_client.get(f"{LEAGUES}/{league['id']}/standings").json()
    assert english["results"][0]["name"] == "Member 1"
    assert korean["results"][0]["name"] != "Member 1"
    assert korean["results"][0]["name"].endswith("1")


def _league_with_members(owner, count: int) -> League:
    league = League.objects.get(
        pk=services.league_create(
            owner=owner, name="큰 반", starts_on=MONDAY, ends_on=MONDAY + timedelta(days=4), visibility="PUBLIC",
            max_members=500,
        ).pk
    )  # fmt: skip
    members = UserFactory.create_batch(count)
    for member in members:
        services.league_join(user=member, league_id=league.pk)
    for number, member in enumerate(members[: count // 2]):
        account = open_account_for(member)
        EquitySnapshot.objects.bulk_create(
            [
                EquitySnapshot(account=account, date=MONDAY - timedelta(days=3), equity=10_000_000, cash=10_000_000,
                               market_value=0),
                EquitySnapshot(account=account, date=MONDAY, equity=10_000_000 + number * 1000, cash=10_000_000,
                               market_value=number * 1000),
            ]
        )  # fmt: skip
    league_standings_compute(league=league, now=after_the_week())
    return league


def test_the_standings_request_costs_a_fixed_number_of_queries_whatever_the_size(
    owner_client, user, django_assert_max_num_queries
):
    small_league = _league_with_members(user, 2)
    url = f"{LEAGUES}/{small_league.pk}/standings"
    with CaptureQueriesContext(connection) as small_read:
        assert owner_client.get(url).json()["count"] == 3
    small = len(small_read)  # now: each request empties the connection's query log
    assert small <= 6

    big_owner = UserFactory()
    big = _league_with_members(big_owner, 150)
    big_client = client_for(big_owner)
    cache.clear()
    with django_assert_max_num_queries(small):
        body = big_client.get(f"{LEAGUES}/{big.pk}/standings").json()
    assert body["count"] == 151
    assert len(body["results"]) == 50
    assert body["results"][0]["rank"] == 1
    assert body["results"][0]["return_pct"] > 0
    with django_assert_max_num_queries(1):  # the league; its page and the caller's line from the cache
        again = big_client.get(f"{LEAGUES}/{big.pk}/standings").json()
    assert again == body


def test_a_computation_a_member_or_a_nickname_is_not_hidden_by_the_cache(
    owner_client, user, friend, django_capture_on_commit_callbacks
):
    league = create_league(owner_client)
    url = f"{LEAGUES}/{league['id']}/standings"
    assert owner_client.get(url).json()["count"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.league_join(user=friend, league_id=league["id"])
    assert owner_client.get(url).json()["count"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.league_leave(user=friend, league_id=league["id"])
    assert owner_client.get(url).json()["count"] == 1

    history(user, [10_000_000, 10_500_000])
    league_standings_compute(league=League.objects.get(pk=league["id"]), now=START + timedelta(hours=1))
    assert owner_client.get(url).json()["results"][0]["return_pct"] == 5.0
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.patch("/api/v1/profile", {"nickname": "새이름"}, format="json").status_code == 200
    body = owner_client.get(url).json()
    assert body["results"][0]["name"] == body["me"]["name"] == "새이름"


# --- the leaderboard --------------------------------------------------------------------------------------------


def opt_in(user, nickname: str, equities: list[int]) -> None:
    if not Account.objects.filter(user=user, is_open=True).exists():
        open_account_for(user)
    body = {"nickname": nickname, "leaderboard_opt_in": True}
    response = client_for(user).patch("/api/v1/profile", body, format="json")
    assert response.status_code == 200, response.content
    history(user, equities)


def test_the_leaderboard_is_public_and_ranks_by_return_or_sharpe(user, friend, django_capture_on_commit_callbacks):
    opt_in(user, "꾸준이", [10_000_000, 10_050_000, 10_100_000, 10_150_000, 10_200_000, 10_250_000, 10_300_000])
    opt_in(friend, "한방", [10_000_000, 11_000_000])  # more return, too few days for Sharpe
    shy = UserFactory()
    open_account_for(shy)
    history(shy, [10_000_000, 20_000_000])  # not opted in: never listed
    leaderboard_compute(now=after_the_week())

    anonymous = APIClient()
    by_return = anonymous.get("/api/v1/leaderboard?period=all&metric=return")
    assert by_return.status_code == 200, by_return.content
    body = by_return.json()
    assert [(e["rank"], e["nickname"], e["return_pct"]) for e in body["results"]] == [
        (1, "한방", 10.0),
        (2, "꾸준이", 3.0),
    ]
    assert (body["period"], body["metric"], body["as_of"]) == ("all", "return", "2026-11-07")
    assert body["computed_at"] == "2026-11-09T12:00:00+09:00"
    assert set(body["results"][0]) == {"rank", "nickname", "return_pct", "sharpe_ratio", "max_drawdown_pct", "days"}

    by_sharpe = anonymous.get("/api/v1/leaderboard?metric=sharpe").json()
    assert [e["nickname"] for e in by_sharpe["results"]] == ["꾸준이"]
    assert by_sharpe["results"][0]["sharpe_ratio"] > 0

    with django_capture_on_commit_callbacks(execute=True):
        client_for(friend).patch("/api/v1/profile", {"leaderboard_opt_in": False}, format="json")
    assert [e["nickname"] for e in anonymous.get("/api/v1/leaderboard").json()["results"]] == ["꾸준이"]


def test_opting_in_lists_a_user_at_the_end_of_one_shared_wait(user, friend, django_capture_on_commit_callbacks):
    # Celery runs eagerly in tests: the run that waits LEADERBOARD_OPT_IN_DELAY in production happens at once.
    history(user, [10_000_000, 10_100_000])
    history(friend, [10_000_000, 10_300_000])
    body = {"nickname": "첫참가", "leaderboard_opt_in": True}
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(user).patch("/api/v1/profile", body, format="json").status_code == 200
    listed = APIClient().get("/api/v1/leaderboard").json()["results"]
    assert [(e["nickname"], e["return_pct"]) for e in listed] == [("첫참가", 1.0)]
    # A second opt-in inside the same window waits for that window's run instead of starting its own.
    body = {"nickname": "둘째", "leaderboard_opt_in": True}
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(friend).patch("/api/v1/profile", body, format="json").status_code == 200
    assert not LeaderboardEntry.objects.filter(user=friend).exists()
    # Renaming (already opted in) schedules nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert client_for(user).patch("/api/v1/profile", {"nickname": "새이름"}, format="json").status_code == 200
    assert len(callbacks) == 1  # the cache mark of a changed profile, no computation


def test_the_leaderboard_before_any_computation_is_empty():
    body = APIClient().get("/api/v1/leaderboard?period=week").json()
    assert (body["count"], body["results"], body["as_of"], body["computed_at"]) == (0, [], None, None)


@pytest.mark.parametrize("query", ["period=year", "metric=profit", "period=ALL", "page=x"])
def test_the_leaderboard_refuses_an_unknown_period_or_metric(query):
    assert_error(APIClient().get(f"/api/v1/leaderboard?{query}"), 400, "validation_error")


# --- the profile ------------------------------------------------------------------------------------------------


def test_the_profile_starts_empty_and_is_patched_partially(owner_client, user):
    assert owner_client.get("/api/v1/profile").json() == {"nickname": None, "leaderboard_opt_in": False}
    assert owner_client.patch("/api/v1/profile", {"nickname": "불개미"}, format="json").json() == {
        "nickname": "불개미",
        "leaderboard_opt_in": False,
    }
    assert owner_client.patch("/api/v1/profile", {"leaderboard_opt_in": True}, format="json").json() == {
        "nickname": "불개미",
        "leaderboard_opt_in": True,
    }
    assert Profile.objects.get(user=user).nickname_key == "불개미"


def test_opting_in_without_a_nickname_is_refused(owner_client, user):
    error = assert_error(owner_client.patch("/api/v1/profile", {"leaderboard_opt_in": True}, format="json"), 400)
    assert "leaderboard_opt_in" in error["details"]
    assert not Profile.objects.filter(user=user, leaderboard_opt_in=True).exists()


def test_a_taken_nickname_is_409_and_nothing_changes(owner_client, user, friend):
    assert client_for(friend).patch("/api/v1/profile", {"nickname": "Bull Run"}, format="json").status_code == 200
    assert owner_client.patch("/api/v1/profile", {"nickname": "내이름"}, format="json").status_code == 200
    for taken in ("Bull Run", "bull-run", "BULLRUN"):
        assert_error(owner_client.patch("/api/v1/profile", {"nickname": taken}, format="json"), 409, "nickname_taken")
    assert Profile.objects.get(user=user).nickname == "내이름"


@pytest.mark.parametrize(
    "nickname",
    [
        "",
        "   ",
        "x",
        "a" * 21,
        "<script>",
        "fuckface",
        "씨발놈",
        "관리자",
        "회원 3",
        "Member-12",
        "\u3164\u3164",
        "a\u115fb",
        42,
        None,
        True,
        ["닉네임"],
    ],  # fmt: skip
)
def test_a_bad_nickname_is_400_and_nothing_changes(owner_client, user, nickname):
    assert owner_client.patch("/api/v1/profile", {"nickname": "원래이름"}, format="json").status_code == 200
    error = assert_error(owner_client.patch("/api/v1/profile", {"nickname": nickname}, format="json"), 400)
    assert error["code"] == "validation_error"
    assert "nickname" in error["details"]
    assert Profile.objects.get(user=user).nickname == "원래이름"


def test_a_nickname_shaped_like_a_username_is_refused(owner_client, user, friend):
    friend.username = "dragon_slayer.99"
    friend.save()
    for shaped in ("dragon slayer 99", "Dragon-Slayer99", user.username):
        error = assert_error(owner_client.patch("/api/v1/profile", {"nickname": shaped}, format="json"), 400)
        assert "nickname" in error["details"]
    assert not Profile.objects.filter(user=user, nickname__isnull=False).exists()


@pytest.mark.parametrize("value", ["true", 1, "yes", None])
def test_the_opt_in_takes_a_json_boolean_only(owner_client, user, value):
    owner_client.patch("/api/v1/profile", {"nickname": "불개미"}, format="json")
    response = owner_client.patch("/api/v1/profile", {"leaderboard_opt_in": value}, format="json")
    assert "leaderboard_opt_in" in assert_error(response, 400, "validation_error")["details"]
    assert Profile.objects.get(user=user).leaderboard_opt_in is False


def test_the_leagues_api_needs_a_login_but_the_leaderboard_does_not():
    anonymous = APIClient()
    for path in (LEAGUES, f"{LEAGUES}/1", f"{LEAGUES}/1/standings", "/api/v1/profile"):
        assert_error(anonymous.get(path), 401, "not_authenticated")
    assert anonymous.get("/api/v1/leaderboard").status_code == 200


# --- privacy ----------------------------------------------------------------------------------------------------


def test_no_answer_of_the_leagues_api_carries_a_username_or_an_email(settings):
    people = []
    for number, nickname in enumerate(["첫째", None, "셋째", None]):
        person = UserFactory(username=f"secret_handle_{number}x", email=f"private.mail{number}@leak-check.test")
        open_account_for(person)
        people.append(person)
        if nickname:
            assert (
                client_for(person)
                .patch("/api/v1/profile", {"nickname": nickname, "leaderboard_opt_in": True}, format="json")
                .status_code
                == 200
            )
        history(person, [10_000_000, 10_000_000 + number * 200_000, 10_000_000 + number * 300_000])
    make_premium(people[0], settings)
    league = services.league_create(
        owner=people[0], name="보안 점검", starts_on=MONDAY, ends_on=MONDAY + timedelta(days=4), visibility="PRIVATE"
    )
    public = services.league_create(
        owner=people[1], name="공개 점검", starts_on=MONDAY, ends_on=MONDAY + timedelta(days=4), visibility="PUBLIC"
    )
    for person in people[1:]:
        services.league_join(user=person, league_id=league.pk, join_code=league.join_code)
    services.league_join(user=people[0], league_id=public.pk)
    for each in (league, public):
        league_standings_compute(league=each, now=after_the_week())
    leaderboard_compute(now=after_the_week())
    assert LeaderboardEntry.objects.filter(period="all").count() == 2

    bodies = []
    for person in people:
        for language in ("ko", "en"):
            client = client_for(person, language)
            for path in (
                f"{LEAGUES}",
                f"{LEAGUES}?scope=mine",
                f"{LEAGUES}/{league.pk}",
                f"{LEAGUES}/{league.pk}/standings",
                f"{LEAGUES}/{public.pk}",
                f"{LEAGUES}/{public.pk}/standings",
                "/api/v1/leaderboard?period=all",
                "/api/v1/leaderboard?period=week&metric=sharpe",
                "/api/v1/profile",
            ):
                response = client.get(path)
                assert response.status_code == 200, (path, response.content)
                bodies.append(response.content.decode())
    bodies.append(APIClient().get("/api/v1/leaderboard").content.decode())
    assert any("첫째" in body for body in bodies)  # the nicknames are there …
    for person in people:  # … and nobody's username or e-mail
        for secret in (person.username, person.email, person.email.split("@")[0]):
            assert not [body for body in bodies if secret in body], secret
    assert all("leak-check" not in body for body in bodies)
