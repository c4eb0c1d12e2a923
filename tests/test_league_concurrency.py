"""League joins and nicknames hold under concurrent requests (real threads, each with its own connection): a league
never passes max_members, a member never joins twice, a nickname has one owner; refusals are domain errors, never
a database error."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from leagues.errors import AlreadyMember, LeagueFull, NicknameTaken
from leagues.models import Membership, Profile, Standing
from leagues.services import league_create, league_join, profile_update
from marketdata.calendar import seoul_today
from tests.factories import UserFactory
from tests.test_watchlist_concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 12


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    for alias in connections:
        connections[alias].close()


def outcome(call):
    def run():
        try:
            call()
        except (AlreadyMember, LeagueFull, NicknameTaken) as exc:
            return exc.code
        return "ok"

    return run


def _league(max_members: int):
    today = seoul_today(timezone.now())
    owner = UserFactory()
    league = league_create(
        owner=owner, name="동시 리그", starts_on=today, ends_on=today + timedelta(days=7), visibility="PUBLIC",
        max_members=max_members,
    )  # fmt: skip
    return league


def test_concurrent_joins_never_pass_max_members():
    league = _league(max_members=5)  # the owner and four more
    joiners = [UserFactory() for _ in range(THREADS)]
    results = run_concurrently(
        [outcome(lambda user=user: league_join(user=user, league_id=league.pk)) for user in joiners]
    )
    assert Counter(results) == {"ok": 4, "league_full": THREADS - 4}
    assert Membership.objects.filter(league=league).count() == 5
    assert Standing.objects.filter(league=league).count() == 5


def test_one_user_joining_many_times_at_once_is_a_member_once():
    league = _league(max_members=50)
    joiner = UserFactory()
    results = run_concurrently([outcome(lambda: league_join(user=joiner, league_id=league.pk))] * 6)
    assert Counter(results) == {"ok": 1, "already_member": 5}
    assert Membership.objects.filter(league=league, user=joiner).count() == 1


def test_a_nickname_claimed_at_once_has_one_owner():
    claimants = [UserFactory() for _ in range(6)]
    results = run_concurrently(
        [outcome(lambda user=user: profile_update(user=user, nickname="선착순")) for user in claimants]
    )
    assert Counter(results) == {"ok": 1, "nickname_taken": 5}
    assert Profile.objects.filter(nickname="선착순").count() == 1


def test_joins_and_standings_computations_at_once_neither_fail_nor_lose_a_member():
    from leagues.standings import league_standings_compute

    league = _league(max_members=50)
    joiners = [UserFactory() for _ in range(8)]

    def compute():
        league_standings_compute(league=league)
        return "ok"

    calls = [outcome(lambda user=user: league_join(user=user, league_id=league.pk)) for user in joiners]
    results = run_concurrently(calls + [compute] * 4)
    assert results == ["ok"] * 12
    league_standings_compute(league=league)
    assert Standing.objects.filter(league=league).count() == Membership.objects.filter(league=league).count() == 9
    assert sorted(Standing.objects.filter(league=league).values_list("member_number", flat=True)) == list(range(1, 10))
