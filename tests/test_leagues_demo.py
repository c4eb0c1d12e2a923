"""`make demo` seeds two demo users in a public demo league that show a believable ranking (issue 17, "done when"),
and a second run adds nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from leagues.demo import DEMO_LEAGUE_NAME, DEMO_NICKNAMES
from leagues.models import LeaderboardEntry, League, Membership, Profile, Standing, Visibility
from portfolio.models import EquitySnapshot

pytestmark = pytest.mark.django_db


def run_demo():
    call_command("demo", "--no-serve", verbosity=0)


def test_the_demo_league_ranks_both_demo_users_by_return_and_a_rerun_duplicates_nothing():
    run_demo()
    User = get_user_model()
    demo, demo2 = User.objects.get(username="demo"), User.objects.get(username="demo2")
    league = League.objects.get(name=DEMO_LEAGUE_NAME)
    assert (league.owner, league.visibility, league.ended_at) == (demo, Visibility.PUBLIC, None)
    assert league.starts_on < league.ends_on

    standings = list(Standing.objects.filter(league=league).order_by("rank"))
    assert [s.user for s in standings] == [demo2, demo]  # the rival's seed did better over the league's days
    assert [s.rank for s in standings] == [1, 2]
    first, second = standings
    assert first.return_pct > second.return_pct
    assert 0 not in (first.return_pct, second.return_pct)
    assert all(-20 < s.return_pct < 20 and s.days >= 5 for s in standings)  # believable: a few percent over weeks

    # One market: both demo histories record the same KOSPI close on each day (their charts and the league's agree).
    def kospi(user):
        return dict(EquitySnapshot.objects.filter(account__user=user).values_list("date", "benchmark_close"))

    assert kospi(demo) == kospi(demo2)
    assert len(set(kospi(demo).values())) > 10

    profiles = {p.user: p for p in Profile.objects.filter(user__in=[demo, demo2])}
    assert (profiles[demo].nickname, profiles[demo2].nickname) == DEMO_NICKNAMES
    assert all(p.leaderboard_opt_in for p in profiles.values())
    assert set(LeaderboardEntry.objects.filter(period="all").values_list("user", flat=True)) == {demo.pk, demo2.pk}

    counts = (
        League.objects.count(),
        Membership.objects.count(),
        Standing.objects.count(),
        EquitySnapshot.objects.filter(account__user=demo2).count(),
    )
    run_demo()
    assert counts == (
        League.objects.count(),
        Membership.objects.count(),
        Standing.objects.count(),
        EquitySnapshot.objects.filter(account__user=demo2).count(),
    )
    assert counts[:3] == (1, 2, 2)
    assert list(Standing.objects.filter(league=league).order_by("rank").values_list("user", "return_pct")) == [
        (s.user_id, s.return_pct) for s in standings
    ]


def test_a_demo_user_who_chose_another_nickname_keeps_it_on_a_rerun():
    run_demo()
    demo = get_user_model().objects.get(username="demo")
    Profile.objects.filter(user=demo).update(nickname="내가고른이름", nickname_key="내가고른이름")
    run_demo()
    assert Profile.objects.get(user=demo).nickname == "내가고른이름"
