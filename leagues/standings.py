"""League standings and the public leaderboard, computed from equity snapshots (docs/architecture.md §13, §16).

A member's return is time-weighted over the user's accounts in date order: each account's chain of daily returns,
and on a reset day the old account's last step and the new one's first compounded into that day's return. So a
deposit never lifts a rank (see `league_daily_return`) and a reset inside a league keeps the losses made before it.
Today counts at live prices where no snapshot of today exists yet.

The results are written as rows (Standing, LeaderboardEntry) that the pages and the API read by rank: computing
reads every member's snapshots once, streamed in (user, account, date) order; reading is an index range."""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone

from kernel.db import locked
from leagues.models import LeaderboardEntry, League, Membership, Period, Profile, Standing
from leagues.selectors import league_is_over, league_last_day
from marketdata.calendar import is_trading_day, seoul_today
from portfolio.analytics import (
    TRADE_TYPES,
    cumulative_return,
    day_start,
    max_drawdown,
    risk_free_daily,
    sharpe_ratio,
    snapshots_compute,
)
from portfolio.models import Account, EquitySnapshot, Transaction

logger = logging.getLogger(__name__)

# KRX is never closed longer than this (Chuseok and a weekend): reading this far before a window finds the snapshot
# its first day's return starts from.
LOOKBACK_DAYS = 14
SHARPE_MIN_DAYS = 5  # to be ranked by Sharpe on the leaderboard
PERIOD_DAYS = {Period.WEEK: 7, Period.MONTH: 30, Period.ALL: None}
WRITE_BATCH = 5000


@dataclass(frozen=True)
class Performance:
    return_pct: float | None
    max_drawdown_pct: float | None
    sharpe_ratio: float | None
    days: int

    @classmethod
    def of(cls, returns: list[float]) -> Performance:
        def pct(value):
            return None if value is None else round(value * 100, 4)

        sharpe = sharpe_ratio(returns, risk_free_daily())
        return cls(
            return_pct=pct(cumulative_return(returns)),
            max_drawdown_pct=pct(max_drawdown(returns)),
            sharpe_ratio=None if sharpe is None else round(sharpe, 4),
            days=len(returns),
        )


def _user_returns(
    users: QuerySet, *, first_day: date | None, last_day: date, live_day: date | None
) -> Iterator[tuple[int, list[tuple[date, float]]]]:
    """(user id, [(day, return)]) for each of `users` (a query of user ids) with a return in [first_day, last_day],
    in date order, over all their accounts; with `live_day`, that day valued now for accounts with no snapshot of it.
    """
    snapshots = EquitySnapshot.objects.filter(account__user_id__in=users, date__lte=last_day)
    if first_day is not None:
        snapshots = snapshots.filter(date__gte=first_day - timedelta(days=LOOKBACK_DAYS))
    rows = snapshots.order_by("account__user_id", "account_id", "date").values_list(
        "account__user_id", "account_id", "date", "equity", "net_flow"
    )
    live = _live_rows(users, live_day) if live_day is not None else {}
    for user_id, user_rows in itertools.groupby(_raw_rows(rows), key=lambda row: row[0]):
        extra = live.pop(user_id, None)
        if extra:  # today's live rows, into each account's place
            user_rows = iter(sorted([*user_rows, *extra]))
        returns = _chain(user_rows, first_day)
        if returns:
            yield user_id, returns
    for user_id, live_only in live.items():  # accounts with no snapshot yet (opened today)
        returns = _chain(iter(sorted(live_only)), first_day)
        if returns:
            yield user_id, returns


def _raw_rows(rows: QuerySet) -> Iterator[tuple]:
    """The query's rows as (user, account, day, equity, net_flow) with floats for money: read through the cursor,
    because Django's per-value Decimal converters were a fifth of the leaderboard's time at 100,000 users. Ratios
    of whole won below 2**53 are exact enough in floats."""
    sql, params = rows.query.sql_with_params()
    days: dict = {}  # SQLite gives ISO text: a few hundred distinct days, parsed once each
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(10_000):
            for user_id, account_id, day, equity, net_flow in batch:
                if not isinstance(day, date):
                    day = days.get(day) or days.setdefault(day, date.fromisoformat(day))
                yield user_id, account_id, day, float(equity), float(net_flow)


def _live_rows(users: QuerySet, day: date) -> dict[int, list[tuple]]:
    """Today's value now (at live prices) of the users' accounts open today that have no snapshot of it."""
    accounts = (
        Account.objects.filter(user_id__in=users)
        .filter(Q(is_open=True) | Q(closed_at__gte=day_start(day)))
        .exclude(snapshots__date=day)
    )
    owners = dict(accounts.values_list("pk", "user_id"))
    live: dict[int, list[tuple]] = defaultdict(list)
    for batch in snapshots_compute(day=day, account_ids=list(owners)):
        for row in batch:
            user_id = owners[row.account_id]
            live[user_id].append((user_id, row.account_id, day, float(row.equity), float(row.net_flow)))
    return live


def league_daily_return(equity_start: float, equity_end: float, net_flow: float) -> float:
    """A day's return as a competition must count it: money paid in works from the day's start, money taken out
    until its end, `(end − start − flow) / (start + deposits)`. Analytics (§13) puts every flow at the day's end,
    which a deposit invested the same morning turns into a multiple of the day's gain (10M + 90M deposited and
    invested, +3 %: 30 %); here it is 3 %, and no timing of deposits or withdrawals can raise a day's return."""
    invested = equity_start + max(net_flow, 0.0)
    if invested <= 0:
        return 0.0
    return (equity_end - equity_start - net_flow) / invested


def _chain(rows: Iterator[tuple], first_day: date | None) -> list[tuple[date, float]]:
    """Each account's daily returns (rows in account, date order), merged by day: several steps on one day (a reset's
    two accounts) compound into that day's return."""
    by_day: dict[date, float] = {}
    account_id, previous = None, None
    for _user, account, day, equity, net_flow in rows:
        if account != account_id:
            account_id, previous = account, None
        if previous is not None and day <= previous[0]:
            continue  # a live row for a day that has its snapshot
        r = league_daily_return(previous[1] if previous else 0.0, equity, net_flow)
        previous = (day, equity)
        if first_day is None or day >= first_day:
            by_day[day] = (1.0 + by_day.get(day, 0.0)) * (1.0 + r) - 1.0
    return sorted(by_day.items())


# --- league standings -------------------------------------------------------------------------------------------


def _rank(results: list[tuple[int, Performance]], key) -> dict[int, int]:
    """Competition ranks ("1224") by `key` (best first); equal keys share a rank."""
    ranks, previous, rank = {}, None, 0
    for position, (user_id, performance) in enumerate(sorted(results, key=lambda item: (key(item[1]), item[0]))):
        current = key(performance)
        if current != previous:
            rank, previous = position + 1, current
        ranks[user_id] = rank
    return ranks


def _league_key(performance: Performance):
    # Higher return first; on a tie the shallower drawdown (closer to 0) first.
    return (-(performance.return_pct or 0.0), -(performance.max_drawdown_pct or 0.0))


def league_standings_compute(*, league: League, now: datetime | None = None) -> int:
    """Recompute and store one league's standings: every member's TWR between the league's dates (today at live
    prices while it runs), ranked by return and then by the shallower drawdown. Returns the number of members."""
    now = now or timezone.now()
    today = seoul_today(now)
    last_day = league_last_day(league, today)
    members = Membership.objects.filter(league=league).values("user_id")
    results: dict[int, Performance] = {}
    trades: dict[int, int] = {}
    if last_day is not None:
        for user_id, returns in _user_returns(
            members, first_day=league.starts_on, last_day=last_day, live_day=league_live_day(league, last_day, today)
        ):
            results[user_id] = Performance.of([r for _day, r in returns])
        trades = _trade_counts(members, league.starts_on, last_day)
    ranks = _rank([(user_id, p) for user_id, p in results.items() if p.return_pct is not None], _league_key)
    with transaction.atomic():
        # The league's row first, as a join takes it: the two never wait on each other in opposite orders. The
        # members are read under it, so one who joined or left meanwhile is listed (unranked) or gone.
        locked(League.objects.filter(pk=league.pk)).get()
        rows = [
            (league.pk, user_id, number, ranks.get(user_id), *_line(results.get(user_id)), trades.get(user_id, 0))
            for user_id, number in Membership.objects.filter(league=league).values_list("user_id", "number")
        ]
        Standing.objects.filter(league=league).delete()
        _insert(Standing, STANDING_COLUMNS, rows)
        League.objects.filter(pk=league.pk).update(standings_computed_at=now)
    league.standings_computed_at = now
    return len(rows)


def league_live_day(league: League, last_day: date, today: date) -> date | None:
    """Today, valued at live prices, while the league runs on a day the market trades (a weekend join must not add
    a day of returns that a snapshot will never have)."""
    if last_day != today or league_is_over(league, today):
        return None
    if settings.MARKET_HOURS_ENFORCED and not is_trading_day(today):
        return None
    return today


def _line(performance: Performance | None) -> tuple:
    if performance is None:
        return (None, None, None, 0)
    return (performance.return_pct, performance.max_drawdown_pct, performance.sharpe_ratio, performance.days)


STANDING_COLUMNS = [
    "league_id", "user_id", "member_number", "rank", "return_pct", "max_drawdown_pct", "sharpe_ratio", "days",
    "trades",
]  # fmt: skip
LEADERBOARD_COLUMNS = [
    "period", "user_id", "rank_by_return", "rank_by_sharpe", "return_pct", "sharpe_ratio", "max_drawdown_pct",
    "days", "as_of", "computed_at",
]  # fmt: skip


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    """INSERT the rows (plain ints, floats, None and values adapted by the caller) with executemany: bulk_create
    builds a model and prepares every value through its field, a third of the leaderboard's time at 100,000 users."""
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)})"  # noqa: S608
        f" VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), WRITE_BATCH):
            cursor.executemany(sql, rows[start : start + WRITE_BATCH])


def _trade_counts(members: QuerySet, first_day: date, last_day: date) -> dict[int, int]:
    """Executions (ledger BUY and SELL rows) of each member inside the league's days."""
    rows = (
        Transaction.objects.filter(
            account__user_id__in=members,
            transaction_type__in=TRADE_TYPES,
            created_at__gte=day_start(first_day),
            created_at__lt=day_start(last_day + timedelta(days=1)),
        )
        .values("account__user_id")
        .annotate(trades=Count("id"))
        .order_by()
    )
    return {row["account__user_id"]: row["trades"] for row in rows}


def leagues_running(today: date) -> QuerySet[League]:
    """Started and not over: their standings move through the day."""
    return League.objects.filter(starts_on__lte=today, ends_on__gte=today, ended_at__isnull=True)


def leagues_to_refresh(today: date) -> QuerySet[League]:
    """After a daily snapshot: the running leagues, those whose last day was that snapshot's (today's or, when it
    runs at 00:05, yesterday's), and those ended early since their last computation."""
    return League.objects.filter(starts_on__lte=today).filter(
        Q(ended_at__isnull=True, ends_on__gte=today - timedelta(days=1))
        | Q(ended_at__isnull=False, standings_computed_at__isnull=True)
        | Q(ended_at__gt=F("standings_computed_at"))
    )


# --- the public leaderboard -------------------------------------------------------------------------------------


def leaderboard_compute(*, now: datetime | None = None) -> int:
    """Recompute and store the public leaderboard of every period from the snapshots of the users who opted in
    (with a nickname). Windows end on the newest snapshot day; Sharpe needs SHARPE_MIN_DAYS days of returns.
    Returns the number of entries written."""
    now = now or timezone.now()
    as_of = EquitySnapshot.objects.aggregate(last=Max("date"))["last"]
    users = Profile.objects.filter(leaderboard_opt_in=True, nickname__isnull=False).values("user_id")
    per_period: dict[str, list[tuple[int, Performance]]] = {period: [] for period in PERIOD_DAYS}
    if as_of is not None:
        for user_id, returns in _user_returns(users, first_day=None, last_day=as_of, live_day=None):
            for period, days in PERIOD_DAYS.items():
                window = returns if days is None else [(d, r) for d, r in returns if d > as_of - timedelta(days=days)]
                if window:
                    per_period[period].append((user_id, Performance.of([r for _d, r in window])))
    entries: list[tuple] = []
    as_of_value, now_value = connection.ops.adapt_datefield_value(as_of), connection.ops.adapt_datetimefield_value(now)
    for period, results in per_period.items():
        by_return = _rank(results, lambda p: -(p.return_pct or 0.0))
        sharpe_ready = [(u, p) for u, p in results if p.days >= SHARPE_MIN_DAYS and p.sharpe_ratio is not None]
        by_sharpe = _rank(sharpe_ready, lambda p: -p.sharpe_ratio)
        entries.extend(
            (
                period, user_id, by_return[user_id], by_sharpe.get(user_id), performance.return_pct or 0.0,
                performance.sharpe_ratio, performance.max_drawdown_pct, performance.days, as_of_value, now_value,
            )
            for user_id, performance in results
        )  # fmt: skip
    with transaction.atomic():
        LeaderboardEntry.objects.all().delete()
        _insert(LeaderboardEntry, LEADERBOARD_COLUMNS, entries)
    return len(entries)


def compute_all(*, now: datetime | None = None) -> dict[str, int]:
    """Every league that can still change, then the leaderboard: what the task runs after the daily snapshot."""
    now = now or timezone.now()
    leagues = list(leagues_to_refresh(seoul_today(now)))
    for league in leagues:
        league_standings_compute(league=league, now=now)
    return {"leagues": len(leagues), "leaderboard_entries": leaderboard_compute(now=now)}
