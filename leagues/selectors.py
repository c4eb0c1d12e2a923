"""Reads of leagues, memberships, profiles and the cached standings and leaderboard (docs/architecture.md §14).

Standings and the leaderboard are read from the rows `leagues.standings` wrote: a read is an index range, whatever
the number of members or opted-in users."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext

from leagues.errors import LeagueNotFound
from leagues.models import LeaderboardEntry, League, Membership, Metric, Period, Profile, Standing, Visibility


def league_is_over(league: League, today: date) -> bool:
    return league.ended_at is not None or today > league.ends_on


def league_status(league: League, today: date) -> str:
    """upcoming | running | ended."""
    if league_is_over(league, today):
        return "ended"
    return "upcoming" if today < league.starts_on else "running"


def leagues_running_owned(*, owner, today: date) -> QuerySet[League]:
    """The owner's leagues that have not ended (upcoming ones count: they will run)."""
    return League.objects.filter(owner=owner, ended_at__isnull=True, ends_on__gte=today)


def _with_member_counts(leagues: QuerySet[League], user) -> QuerySet[League]:
    mine = Membership.objects.filter(league=OuterRef("pk"), user=user) if user is not None else None
    leagues = leagues.annotate(member_count=Count("memberships", distinct=True))
    if mine is not None:
        leagues = leagues.annotate(is_member=Exists(mine))
    return leagues


def leagues_visible(*, user, scope: str, today: date) -> QuerySet[League]:
    """`mine`: the leagues the user is in; `public`: public leagues not over; `all`: both."""
    mine = Q(memberships__user=user)
    open_public = Q(visibility=Visibility.PUBLIC, ended_at__isnull=True, ends_on__gte=today)
    condition = {"mine": mine, "public": open_public, "all": mine | open_public}[scope]
    ids = League.objects.filter(condition).values("pk")
    return _with_member_counts(League.objects.filter(pk__in=ids), user).order_by("-starts_on", "-id")


def league_get_for(*, user, league_id: int, join_code: str | None = None) -> League:
    """A league the user may see: public, theirs, or private with its code. Otherwise LeagueNotFound (404), the
    same answer as for a league that does not exist."""
    league = _with_member_counts(League.objects.filter(pk=league_id), user).select_related("owner").first()
    if league is None:
        raise LeagueNotFound()
    code_ok = join_code is not None and join_code.strip().upper() == league.join_code
    if league.visibility == Visibility.PRIVATE and not league.is_member and not code_ok:  # type: ignore[attr-defined]
        raise LeagueNotFound()
    return league


def league_by_code(*, join_code: str) -> League:
    league = League.objects.filter(join_code=join_code.strip().upper()).first() if join_code else None
    if league is None:
        raise LeagueNotFound()
    return league


def league_is_member(*, league: League, user) -> bool:
    return Membership.objects.filter(league=league, user=user).exists()


def standings_page(*, league: League) -> QuerySet[Standing]:
    """The cached standings, ranked first (unranked members, without history yet, last), with public names."""
    return (
        Standing.objects.filter(league=league)
        .select_related("user__league_profile")
        .order_by(F("rank").asc(nulls_last=True), "user_id")
    )


def standing_of(*, league: League, user) -> Standing | None:
    return Standing.objects.filter(league=league, user=user).select_related("user__league_profile").first()


def profile_of(*, user) -> Profile:
    """The user's public profile; an unsaved blank one when they never set it."""
    return Profile.objects.filter(user=user).first() or Profile(user=user)


def leaderboard(*, period: str, metric: str) -> QuerySet[LeaderboardEntry]:
    """The cached leaderboard of opted-in users, best first. Opting out takes effect at once (the join), a nickname
    change too; an opt-in shows after the next computation."""
    entries = LeaderboardEntry.objects.filter(
        period=Period(period), user__league_profile__leaderboard_opt_in=True
    ).select_related("user__league_profile")
    if Metric(metric) == Metric.SHARPE:
        return entries.filter(rank_by_sharpe__isnull=False).order_by("rank_by_sharpe")
    return entries.order_by("rank_by_return")


def public_name(user, *, fallback_number: int | None = None) -> str:
    """A user as others see them: the nickname, or "Member N" in their leagues; never a username."""
    profile = getattr(user, "league_profile", None) if user is not None else None
    if profile is not None and profile.nickname:
        return profile.nickname
    if fallback_number is not None:
        return gettext("Member %(number)s") % {"number": fallback_number}
    return gettext("Anonymous")
