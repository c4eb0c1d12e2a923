"""`make demo`'s league (docs/architecture.md §16): two demo users in a public league that is halfway through, with
nicknames on the public leaderboard, so the standings, the league page and the leaderboard show a ranking at once.

Demo data only. It writes the models directly: the league started in the past, which `league_create` refuses (a
real league cannot start before today). Idempotent: a re-run finds the league, its members and the nicknames it
made and writes nothing new, then computes the standings and the leaderboard again."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from leagues import standings
from leagues.models import League, Profile, Visibility
from leagues.services import JOIN_CODE_ALPHABET, JOIN_CODE_LENGTH, member_add, profile_update
from marketdata.calendar import seoul_today
from portfolio.analytics import snapshots_seed_demo
from portfolio.models import Account

DEMO_LEAGUE_NAME = "StocKing 데모 리그"  # a proper name: the same in Korean and English
DEMO_LEAGUE_DAYS_LEFT = 13  # ends two weeks from today, today included
DEMO_LEAGUE_MAX_MEMBERS = 50
# The owner's history comes from `snapshot_accounts --seed-demo` (seed 16); the rival's from another seed, so the two
# walks differ. Seeded histories are bridged to today's equity (an untouched demo account's starting cash), so over
# the whole history both return 0 %: the league starts halfway through it, where the walks have moved apart
# (owner about −2 %, rival about +2 % with these seeds).
RIVAL_SEED = 20
DEMO_NICKNAMES = ("데모투자자", "모의투자왕")  # owner, rival


def demo_league_seed(*, owner, rival, days: int = 20) -> League:
    """Seed the rival's snapshot history (when it has none), make the demo league (once) with both as members and
    nicknames opted in to the leaderboard (only where a user has no nickname yet), then compute the league's
    standings and the leaderboard. Returns the league."""
    account = Account.objects.filter(user=rival, is_open=True).first()
    if account is not None:
        snapshots_seed_demo(account=account, days=days, seed=RIVAL_SEED)
    today = seoul_today(timezone.now())
    with transaction.atomic():
        league = League.objects.filter(owner=owner, name=DEMO_LEAGUE_NAME).order_by("id").first()
        if league is None:
            league = League.objects.create(
                name=DEMO_LEAGUE_NAME,
                owner=owner,
                starts_on=_halfway_day(owner) or today,
                ends_on=today + timedelta(days=DEMO_LEAGUE_DAYS_LEFT),
                visibility=Visibility.PUBLIC,
                max_members=DEMO_LEAGUE_MAX_MEMBERS,
                join_code=_free_join_code(),
            )
        for user in (owner, rival):
            member_add(league_id=league.pk, user=user)
    for user, nickname in zip((owner, rival), DEMO_NICKNAMES, strict=True):
        profile = Profile.objects.filter(user=user).first()
        if profile is None or not profile.nickname:
            # Through the service: the nickname is checked (and folded for uniqueness) as a user's would be.
            profile_update(user=user, nickname=nickname, leaderboard_opt_in=True)
    standings.league_standings_compute(league=league)
    standings.leaderboard_compute()
    return league


def _halfway_day(owner):
    """The middle day of the owner's snapshot history (None without one): the league has run for half of it."""
    days = list(
        Account.objects.filter(user=owner)
        .values_list("snapshots__date", flat=True)
        .exclude(snapshots__date=None)
        .order_by("snapshots__date")
        .distinct()
    )
    return days[len(days) // 2] if len(days) >= 3 else None


def _free_join_code() -> str:
    while True:
        code = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))
        if not League.objects.filter(join_code=code).exists():
            return code
