"""Celery tasks of the leagues app (thin): standings and the leaderboard (docs/architecture.md §16)."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from leagues import standings
from leagues.models import League
from marketdata.calendar import is_regular_session, seoul_today


@shared_task
def compute_standings_after_snapshot() -> dict:
    """After the daily snapshot (portfolio.hooks.snapshots_taken): leagues that can still change, and the
    leaderboard."""
    return standings.compute_all()


@shared_task
def refresh_running_leagues() -> int:
    """Through the day (LEAGUE_STANDINGS_REFRESH_SECONDS): running leagues' standings with today at live prices.
    Outside KRX's session, when trading follows it, prices stand still and the snapshot's run has the last word."""
    now = timezone.now()
    if settings.MARKET_HOURS_ENFORCED and not is_regular_session(now):
        return 0
    leagues = list(standings.leagues_running(seoul_today(now)))
    for league in leagues:
        standings.league_standings_compute(league=league)
    return len(leagues)


@shared_task
def compute_league_standings(league_id: int) -> int:
    """One league at once: when it is created, joined, left or ended, so its page is never a computation behind."""
    league = League.objects.filter(pk=league_id).first()
    return 0 if league is None else standings.league_standings_compute(league=league)


@shared_task
def compute_leaderboard() -> int:
    """The leaderboard alone, a few minutes after a user opts in (leagues.services._leaderboard_soon)."""
    return standings.leaderboard_compute()
