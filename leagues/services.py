"""Every write of the leagues app (STYLE.md): leagues, memberships and public profiles.

Money never moves here; standings are derived rows written by `leagues.standings`."""

from __future__ import annotations

import secrets
from datetime import date

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Lower, Replace
from django.utils import timezone
from django.utils.translation import gettext

from kernel.db import locked
from leagues import selectors, tasks
from leagues.errors import (
    AlreadyMember,
    InvalidLeague,
    InvalidNickname,
    LeagueEnded,
    LeagueFull,
    LeagueNotFound,
    NicknameTaken,
    NotMember,
    PremiumRequired,
)
from leagues.models import League, Membership, Profile, Standing, Visibility
from leagues.nicknames import SEPARATORS, nickname_key, nickname_problem
from marketdata.calendar import seoul_today
from payments.selectors import user_is_premium

MAX_DAYS = 366  # "at most a year": 2027-01-01 to 2028-01-01 included is 366 days
MAX_MEMBERS = 5000
JOIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a classroom
JOIN_CODE_LENGTH = 8
FREE_RUNNING_PUBLIC_LEAGUES = 1
STANDINGS_DEBOUNCE = 5  # seconds
LEADERBOARD_OPT_IN_DELAY = 600  # seconds: "within about 10 minutes" on the pages


def _new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def league_create(
    *, owner, name: str, starts_on: date, ends_on: date, visibility: str, max_members: int = 50
) -> League:
    """A league owned (and joined) by `owner`. Raises InvalidLeague (400) on bad dates, name or size, and
    PremiumRequired (403) for a free user's private league or second running one."""
    today = seoul_today(timezone.now())
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [gettext("Enter a name.")]
    if starts_on < today:
        errors["starts_on"] = [gettext("A league cannot start in the past.")]
    if ends_on < starts_on:
        errors["ends_on"] = [gettext("A league cannot end before it starts.")]
    elif (ends_on - starts_on).days + 1 > MAX_DAYS:
        errors["ends_on"] = [gettext("A league lasts at most a year.")]
    if not 2 <= max_members <= MAX_MEMBERS:
        errors["max_members"] = [gettext("Between 2 and %(max)s members.") % {"max": MAX_MEMBERS}]
    if visibility not in Visibility.values:
        errors["visibility"] = [gettext("Choose public or private.")]
    if errors:
        raise InvalidLeague(details=errors)
    premium = user_is_premium(user=owner)  # read before the lock: no network call, but no reason to hold it either
    if not premium and visibility == Visibility.PRIVATE:
        raise PremiumRequired(gettext("Private leagues are a premium feature."))
    with transaction.atomic(durable=True):
        # The owner's row, so two creates at once cannot both pass the free limit.
        locked(get_user_model().objects.filter(pk=owner.pk)).get()
        running = selectors.leagues_running_owned(owner=owner, today=today).count()
        if not premium and running >= FREE_RUNNING_PUBLIC_LEAGUES:
            raise PremiumRequired(gettext("Free accounts run one public league at a time; premium runs more."))
        for _attempt in range(5):
            try:
                with transaction.atomic():  # a savepoint: a join code drawn twice (32^8 codes) is drawn again
                    league = League.objects.create(
                        name=name,
                        owner=owner,
                        starts_on=starts_on,
                        ends_on=ends_on,
                        visibility=visibility,
                        max_members=max_members,
                        join_code=_new_join_code(),
                    )
            except IntegrityError:
                continue
            _member_add(league, owner)
            _standings_soon(league)
            return league
    raise RuntimeError("could not draw a free join code")


def league_join(*, user, league_id: int, join_code: str | None = None) -> Membership:
    """Join a league: a public one while it has not ended; a private one with its code. Under the league's row lock,
    so two joins never pass max_members. Raises LeagueNotFound (404, also a private league without the right code),
    LeagueEnded, AlreadyMember, LeagueFull (409)."""
    today = seoul_today(timezone.now())
    with transaction.atomic(durable=True):
        league = locked(League.objects.filter(pk=league_id)).first()
        if league is None:
            raise LeagueNotFound()
        code_ok = join_code is not None and secrets.compare_digest(  # bytes: compare_digest refuses non-ASCII text
            join_code.strip().upper().encode(), league.join_code.encode()
        )
        if league.visibility == Visibility.PRIVATE and not code_ok:
            raise LeagueNotFound()
        if selectors.league_is_over(league, today):
            raise LeagueEnded()
        if Membership.objects.filter(league=league, user=user).exists():
            raise AlreadyMember()
        if league.member_count >= league.max_members:
            raise LeagueFull()
        membership = _member_add(league, user)
        _standings_soon(league)
        return membership


def member_add(*, league_id: int, user) -> Membership:
    """Put a user in a league with none of the joining rules (its dates, code or size): staff and demo data.
    Under the league's row lock, like a join."""
    with transaction.atomic():
        league = locked(League.objects.filter(pk=league_id)).get()
        membership = Membership.objects.filter(league=league, user=user).first()
        return membership or _member_add(league, user)


def _member_add(league: League, user) -> Membership:
    """The membership, numbered in joining order, the league's counters, and an unranked line in the standings (a
    member is listed at once). The caller holds the league's row lock (or just created it)."""
    league.member_count += 1
    league.members_joined += 1
    League.objects.filter(pk=league.pk).update(member_count=league.member_count, members_joined=league.members_joined)
    membership = Membership.objects.create(league=league, user=user, number=league.members_joined)
    Standing.objects.create(league=league, user=user, member_number=membership.number)
    return membership


def _member_drop(membership: Membership) -> None:
    """The membership, its standings line and the league's count; the caller holds the league's row lock."""
    Standing.objects.filter(league_id=membership.league_id, user_id=membership.user_id).delete()
    membership.delete()
    League.objects.filter(pk=membership.league_id).update(member_count=F("member_count") - 1)


def league_leave(*, user, league_id: int) -> None:
    """Leave a league that has not ended (its final standings keep everyone who finished it). Raises LeagueNotFound,
    NotMember, LeagueEnded."""
    today = seoul_today(timezone.now())
    with transaction.atomic(durable=True):
        league = locked(League.objects.filter(pk=league_id)).first()
        if league is None:
            raise LeagueNotFound()
        membership = Membership.objects.filter(league=league, user=user).first()
        if membership is None:
            if league.visibility == Visibility.PRIVATE:
                raise LeagueNotFound()
            raise NotMember()
        if selectors.league_is_over(league, today):
            raise LeagueEnded()
        _member_drop(membership)
        _standings_soon(league)


def member_remove(*, membership_id: int) -> None:
    """Staff remove a member (from the admin), at any time."""
    league_id = Membership.objects.filter(pk=membership_id).values_list("league_id", flat=True).first()
    if league_id is None:
        return
    with transaction.atomic(durable=True):
        league = locked(League.objects.filter(pk=league_id)).get()
        membership = Membership.objects.filter(pk=membership_id).first()  # read again under the lock
        if membership is not None:
            _member_drop(membership)
            _standings_soon(league)


def league_end(*, league_id: int, by) -> League:
    """End a league now (its owner, or staff). Its standings are computed once more and then final. Raises
    LeagueNotFound for anyone else, LeagueEnded when it is over already."""
    with transaction.atomic(durable=True):
        league = locked(League.objects.filter(pk=league_id)).first()
        if league is None or not (by.is_staff or league.owner_id == by.pk):
            raise LeagueNotFound()
        if selectors.league_is_over(league, seoul_today(timezone.now())):
            raise LeagueEnded()
        league.ended_at = timezone.now()
        league.save(update_fields=["ended_at"])
        transaction.on_commit(lambda: tasks.compute_league_standings.delay(league.pk))
        return league


def _standings_soon(league: League) -> None:
    """After the commit, recompute the league's standings in a few seconds: once for a burst of joins (a class
    joining together), not once per join. (Cached standings pages are keyed on the league's member counters.)"""

    def enqueue():
        if cache.add(f"leagues:standings-due:{league.pk}:{league.created_at.timestamp()}", 1, STANDINGS_DEBOUNCE):
            tasks.compute_league_standings.apply_async((league.pk,), countdown=STANDINGS_DEBOUNCE)

    transaction.on_commit(enqueue)


def profile_update(*, user, nickname: str | None = None, leaderboard_opt_in: bool | None = None) -> Profile:
    """Set the public nickname and/or the leaderboard opt-in. Raises InvalidNickname (400: empty, malformed,
    offensive-looking, shaped like a username, or opting in without one) and NicknameTaken (409)."""
    with transaction.atomic():
        profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
        if nickname is not None:
            nickname = nickname.strip()
            problem = nickname_problem(nickname)
            if problem is None and _looks_like_a_username(nickname):
                problem = gettext("A nickname may not look like a username.")
            if problem is not None:
                raise InvalidNickname(details={"nickname": [str(problem)]})
            key = nickname_key(nickname)
            if Profile.objects.filter(nickname_key=key).exclude(pk=profile.pk).exists():
                raise NicknameTaken()
            profile.nickname, profile.nickname_key = nickname, key
        joins_board = bool(leaderboard_opt_in) and not profile.leaderboard_opt_in
        if leaderboard_opt_in is not None:
            if leaderboard_opt_in and not profile.nickname:
                raise InvalidNickname(
                    details={"leaderboard_opt_in": [gettext("Choose a nickname before joining the leaderboard.")]}
                )
            profile.leaderboard_opt_in = leaderboard_opt_in
        try:
            with transaction.atomic():
                profile.save()
        except IntegrityError as exc:  # the same nickname saved by someone else a moment ago
            raise NicknameTaken() from exc
        # Cached standings and leaderboard pages show nicknames and opted-in users: out of date now.
        transaction.on_commit(lambda: cache.set(selectors.PROFILES_CHANGED_KEY, secrets.token_hex(8), None))
        if joins_board:
            transaction.on_commit(_leaderboard_soon)
        return profile


def _leaderboard_soon() -> None:
    """A new opt-in is listed by a computation within LEADERBOARD_OPT_IN_DELAY rather than after the next daily
    snapshot: one run at the end of the window serves every opt-in inside it (100,000 users take 25–46 s)."""
    if cache.add("leagues:leaderboard-due", 1, LEADERBOARD_OPT_IN_DELAY):
        tasks.compute_leaderboard.apply_async(countdown=LEADERBOARD_OPT_IN_DELAY)


def _looks_like_a_username(nickname: str) -> bool:
    """Whether the nickname, folded, is anyone's username folded the same way (the user's own too: a nickname must
    not tell who is behind it). One indexed-free scan of the username column: profile changes are rare."""
    folded: Func = Lower("username")
    for separator in ".", "_", "-", "+", "@", " ":
        folded = Replace(folded, Value(separator), Value(""))
    key = nickname_key(nickname)
    User = get_user_model()
    exact = Q(username__iexact=nickname) | Q(username__iexact=SEPARATORS.sub("", nickname))
    return User.objects.filter(exact).exists() or User.objects.annotate(folded=folded).filter(folded=key).exists()
