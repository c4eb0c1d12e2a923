"""Reads of leagues, memberships, profiles and the cached standings and leaderboard (docs/architecture.md §14).

Standings and the leaderboard are read from the rows `leagues.standings` wrote: a read is an index range, whatever
the number of members or opted-in users."""

from __future__ import annotations

from datetime import date

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
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
    # A correlated count on the (league, user) index: a join and GROUP BY over every member (and the joined owner and
    # profile columns) cost tens of milliseconds for a league of thousands, on every read of it.
    members = Membership.objects.filter(league=OuterRef("pk")).order_by().values("league")
    count = Subquery(members.annotate(n=Count("pk")).values("n")[:1])
    leagues = leagues.annotate(member_count=Coalesce(count, 0))
    if mine is not None:
        leagues = leagues.annotate(is_member=Exists(mine))
    return leagues


def leagues_visible(*, user, scope: str, today: date) -> QuerySet[League]:
    """`mine`: the leagues the user is in; `public`: public leagues not over; `all`: both."""
    mine = Q(memberships__user=user)
    open_public = Q(visibility=Visibility.PUBLIC, ended_at__isnull=True, ends_on__gte=today)
    condition = {"mine": mine, "public": open_public, "all": mine | open_public}[scope]
    ids = League.objects.filter(condition).values("pk")
    leagues = League.objects.filter(pk__in=ids).select_related("owner__league_profile")
    return _with_member_counts(leagues, user).order_by("-starts_on", "-id")


def league_get_for(*, user, league_id: int, join_code: str | None = None, counted: bool = True) -> League:
    """A league the user may see: public, theirs, or private with its code. Otherwise LeagueNotFound (404), the
    same answer as for a league that does not exist. `counted=False`: only `is_member` is annotated (no member
    count, no owner), for a standings read that needs nothing else."""
    leagues = League.objects.filter(pk=league_id)
    if counted:
        league = _with_member_counts(leagues, user).select_related("owner__league_profile").first()
    else:
        league = leagues.annotate(is_member=Exists(Membership.objects.filter(league=OuterRef("pk"), user=user))).first()
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


def standing_of(*, league: League, user, numbered: bool = False) -> Standing | None:
    """The user's line; `numbered`: with its `member_number` (with_member_numbers)."""
    standing = Standing.objects.filter(league=league, user=user).select_related("user__league_profile")
    if numbered:
        standing = with_member_numbers(standing, league_id=league.pk)
    return standing.first()


def standings_of(*, user, league_ids: list[int]) -> dict[int, Standing]:
    """The user's own line in each of these leagues, by league id: one query for a page of leagues."""
    if not league_ids:
        return {}
    return {s.league_id: s for s in Standing.objects.filter(user=user, league_id__in=league_ids)}


def with_member_numbers(standings: QuerySet[Standing], *, league_id: int) -> QuerySet[Standing]:
    """Each line's `member_number`: the order its member joined in, the N of "Member N" for members without a
    nickname (as the league page numbers them)."""
    joined = Membership.objects.filter(league_id=league_id, user_id=OuterRef(OuterRef("user_id"))).values("pk")[:1]
    earlier = (
        Membership.objects.filter(league_id=league_id, pk__lte=Subquery(joined))
        .order_by()
        .values("league_id")
        .annotate(number=Count("pk"))
        .values("number")
    )
    return standings.annotate(member_number=Subquery(earlier))


# Marks that a cached standings page or leaderboard page is out of date before its next computation: set by
# leagues.services after a commit that changes a league's members, or anyone's nickname or opt-in.
MEMBERS_CHANGED_KEY = "leagues:members-changed:{league_id}"
PROFILES_CHANGED_KEY = "leagues:profiles-changed"


def standings_version(*, league: League) -> str:
    """What a cached copy of the league's standings is keyed on: its last computation, its last change of members
    and the last change of any public profile."""
    marks = cache.get_many([MEMBERS_CHANGED_KEY.format(league_id=league.pk), PROFILES_CHANGED_KEY])
    computed = league.standings_computed_at.timestamp() if league.standings_computed_at else "never"
    members = marks.get(MEMBERS_CHANGED_KEY.format(league_id=league.pk), 0)
    return f"{computed}:{members}:{marks.get(PROFILES_CHANGED_KEY, 0)}"


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
    change too; an opt-in shows after the next computation."""
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


def public_name(user, *, fallback_number: int | None = None) -> str:
    """A user as others see them: the nickname, or "Member N" in their leagues; never a username."""
    profile = getattr(user, "league_profile", None) if user is not None else None
    if profile is not None and profile.nickname:
        return profile.nickname
    if fallback_number is not None:
        return gettext("Member %(number)s") % {"number": fallback_number}
    return gettext("Anonymous")
