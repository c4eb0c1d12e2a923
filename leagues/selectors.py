"""Reads of leagues, memberships, profiles and the cached standings and leaderboard (docs/architecture.md §14).

Standings and the leaderboard are read from the rows `leagues.standings` wrote: a read is an index range, whatever
the number of members or opted-in users."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from leagues.errors import LeagueNotFound
from leagues.models import (
    LeaderboardEntry,
    League,
    LeagueStatus,
    Membership,
    Metric,
    Period,
    Profile,
    Standing,
    Visibility,
)
from marketdata.calendar import SEOUL, seoul_today


def league_is_over(league: League, today: date) -> bool:
    return league.ended_at is not None or today > league.ends_on


def league_ends_at(league: League) -> datetime:
    """The instant the league is over: its early end, else midnight KST after its last day."""
    if league.ended_at is not None:
        return league.ended_at
    return datetime.combine(league.ends_on + timedelta(days=1), time.min, tzinfo=SEOUL)


def league_last_day(league: League, today: date) -> date | None:
    """The last day whose returns count: today while it runs, its last day once over; for a league ended early, the
    day before the end (a day cut short is never complete, and a recomputation later must give the same final
    standings). None while it has no day to count."""
    last_day = min(league.ends_on, today)
    if league.ended_at is not None:
        last_day = min(last_day, seoul_today(league.ended_at) - timedelta(days=1))
    return last_day if last_day >= league.starts_on else None


def league_status(league: League, today: date) -> LeagueStatus:
    if league_is_over(league, today):
        return LeagueStatus.ENDED
    return LeagueStatus.UPCOMING if today < league.starts_on else LeagueStatus.RUNNING


def today_kst() -> date:
    return seoul_today(timezone.now())


def leagues_running_owned(*, owner, today: date) -> QuerySet[League]:
    """The owner's leagues that have not ended (upcoming ones count: they will run)."""
    return League.objects.filter(owner=owner, ended_at__isnull=True, ends_on__gte=today)


def _with_is_member(leagues: QuerySet[League], user) -> QuerySet[League]:
    return leagues.annotate(is_member=Exists(Membership.objects.filter(league=OuterRef("pk"), user=user)))


def leagues_visible(*, user, scope: str, today: date) -> QuerySet[League]:
    """`mine`: the leagues the user is in; `public`: public leagues not over; `all`: both."""
    mine = Q(memberships__user=user)
    open_public = Q(visibility=Visibility.PUBLIC, ended_at__isnull=True, ends_on__gte=today)
    condition = {"mine": mine, "public": open_public, "all": mine | open_public}[scope]
    ids = League.objects.filter(condition).values("pk")
    leagues = League.objects.filter(pk__in=ids).select_related("owner__league_profile")
    return _with_is_member(leagues, user).order_by("-starts_on", "-id")


def league_get_for(*, user, league_id: int, join_code: str | None = None) -> League:
    """A league the user may see: public, theirs, or private with its code. Otherwise LeagueNotFound (404), the
    same answer as for a league that does not exist. With `is_member` and the owner's profile."""
    leagues = League.objects.filter(pk=league_id).select_related("owner__league_profile")
    league = _with_is_member(leagues, user).first()
    if league is None:
        raise LeagueNotFound()
    code_ok = join_code is not None and join_code.strip().upper() == league.join_code
    mine = league.is_member or league.owner_id == user.pk  # type: ignore[attr-defined]
    if league.visibility == Visibility.PRIVATE and not mine and not code_ok:
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


def standings_of(*, user, league_ids: list[int]) -> dict[int, Standing]:
    """The user's own line in each of these leagues, by league id: one query for a page of leagues."""
    if not league_ids:
        return {}
    return {s.league_id: s for s in Standing.objects.filter(user=user, league_id__in=league_ids)}


# Marks that cached standings and leaderboard pages are out of date before their next computation: set by
# leagues.services after a commit that changes anyone's nickname or opt-in.
PROFILES_CHANGED_KEY = "leagues:profiles-changed"


def standings_version(*, league: League) -> str:
    """What a cached copy of the league's standings is keyed on: its last computation, its members (the counters
    every join and leave moves) and the last change of any public profile."""
    computed = league.standings_computed_at.timestamp() if league.standings_computed_at else "never"
    members = f"{league.members_joined}-{league.member_count}"
    return f"{computed}:{members}:{cache.get(PROFILES_CHANGED_KEY, 0)}"


def leaderboard_version(*, computed: LeaderboardEntry | None) -> str:
    """What a cached leaderboard page is keyed on: its computation and the last change of any public profile (an
    opt-out or a new nickname shows at once)."""
    computed_at = computed.computed_at.timestamp() if computed is not None else "never"
    return f"{computed_at}:{cache.get(PROFILES_CHANGED_KEY, 0)}"


def profile_of(*, user) -> Profile:
    """The user's public profile; an unsaved blank one when they never set it."""
    return Profile.objects.filter(user=user).first() or Profile(user=user)


def leaderboard(*, period: str, metric: str) -> QuerySet[LeaderboardEntry]:
    """The cached leaderboard of opted-in users, best first. Opting out takes effect at once (the join), a nickname
    change too; an opt-in shows after the next computation (within about 10 minutes)."""
    entries = LeaderboardEntry.objects.filter(
        period=Period(period), user__league_profile__leaderboard_opt_in=True
    ).select_related("user__league_profile")
    if Metric(metric) == Metric.SHARPE:
        return entries.filter(rank_by_sharpe__isnull=False).order_by("rank_by_sharpe")
    return entries.order_by("rank_by_return")


def leaderboard_computed(*, period: str) -> LeaderboardEntry | None:
    """Any entry of the period (they share `as_of` and `computed_at`), or None before the first computation."""
    entries = LeaderboardEntry.objects.filter(period=Period(period)).only("as_of", "computed_at")
    return entries.order_by("rank_by_return").first()  # on the (period, rank_by_return) index


def nickname_of(user) -> str | None:
    """The user's nickname, from a user loaded with `league_profile` (select_related): no query of its own."""
    profile = getattr(user, "league_profile", None) if user is not None else None
    return profile.nickname if profile is not None and profile.nickname else None


def leaderboard_count(*, period: str, metric: str) -> int:
    """How many the leaderboard lists (a page's paginator needs it): counting a period's 100,000 entries joined to
    the opt-in is the slow part of a leaderboard page, and the answer is the same for every reader, so it is kept
    until the next computation or profile change."""
    version = leaderboard_version(computed=leaderboard_computed(period=period))
    key = f"leagues:leaderboard-count:{version}:{period}:{metric}"
    count = cache.get(key)
    if count is None:
        count = leaderboard(period=period, metric=metric).count()
        cache.set(key, count, 300)
    return count


def public_name(user, *, fallback_number: int | None = None) -> str:
    """A user as others see them: the nickname, or "Member N" in their leagues; never a username."""
    nickname = nickname_of(user)
    if nickname is not None:
        return nickname
    if fallback_number is not None:
        return gettext("Member %(number)s") % {"number": fallback_number}
    return gettext("Anonymous")
