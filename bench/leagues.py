"""League standings and the public leaderboard (docs/architecture.md §16), in process.

    .venv/bin/python bench/leagues.py [--db sqlite|mysql] [--members 5000] [--users 100000] [--days 20] [--repeat 300]

1. Standings of one league with `--members` members (each with an open account and `--days` daily EquitySnapshot
   rows, bulk-inserted): `leagues.standings.league_standings_compute` after the daily snapshot (a league whose last
   day was the newest snapshot) and live (a running league: today valued at live prices for every member).
2. The public leaderboard over `--users` opted-in users (Profile rows with nicknames, the league's members among
   them), `--days` snapshots each: `leagues.standings.leaderboard_compute` (week, month and all time).
3. Reads, with Django's test client (DEBUG=false, real Redis and database, the same JWT on every request):
   GET leagues/{id}/standings (the bench user is a member), GET leaderboard?period=all&metric=return and
   GET leaderboard?metric=sharpe, against GET auth/me: requests/s of each and its ratio (target ≥ 0.5), measured
   in interleaved rounds so a busy moment of the machine falls on every request alike. Standings are timed as
   served (their page cached until the next computation) and with the page cache emptied before every request.

`--members 500 --users 5000` is a quick run (under a minute on SQLite).
"""

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from throwaway import setup_django, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the app it measures: bench/ (where `throwaway` came from) leaves the path, the root leads.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent)]
MYSQL_DB = "stocking_bench_leagues"
USERNAME, PASSWORD = "bench", "bench-leagues-password-1"
CHUNK = 2000  # users per bulk insert round (CHUNK × days snapshot rows)
ROUNDS = 5


def make_users(count: int, days: list, *, first: int) -> None:
    """`count` users with an open account, `days` snapshots of a random walk each, and an opted-in nickname."""
    from django.contrib.auth import get_user_model

    from leagues.models import Profile
    from portfolio.models import Account, EquitySnapshot

    User = get_user_model()
    rng = random.Random(first)  # noqa: S311 - benchmark data
    start_cash = Decimal(10_000_000)
    for chunk in range(first, first + count, CHUNK):
        size = min(CHUNK, first + count - chunk)
        names = [f"lb{chunk + n}" for n in range(size)]
        User.objects.bulk_create(User(username=name, password="!") for name in names)
        users = list(User.objects.filter(username__in=names).order_by("pk"))
        Account.objects.bulk_create(Account(user=u, cash=start_cash, starting_cash=start_cash) for u in users)
        accounts = list(Account.objects.filter(user__in=users).order_by("pk"))
        Profile.objects.bulk_create(
            Profile(user=u, nickname=f"투자자{chunk + n}", nickname_key=f"투자자{chunk + n}", leaderboard_opt_in=True)
            for n, u in enumerate(users)
        )
        rows = []
        for account in accounts:
            equity = 10_000_000.0
            for index, day in enumerate(days):
                if index:
                    equity *= 1 + rng.gauss(0.0005, 0.012)
                value = Decimal(round(equity))
                rows.append(
                    EquitySnapshot(
                        account=account, date=day, equity=value, cash=value, market_value=Decimal(0),
                        net_flow=start_cash if index == 0 else Decimal(0),
                    )
                )  # fmt: skip
        EquitySnapshot.objects.bulk_create(rows, batch_size=5000)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_compute(members: int, users: int, days_count: int):
    """Builds the data, times the computations; returns (live league, bench user's password holder)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from leagues import standings
    from leagues.models import League, Membership, Standing, Visibility
    from marketdata.calendar import seoul_today
    from portfolio.analytics import snapshot_days_between
    from stocking.services import user_register

    now = timezone.now()
    today = seoul_today(now)
    days = snapshot_days_between(today - timedelta(days=days_count * 2 + 10), today - timedelta(days=1))[-days_count:]
    bench_user = user_register(username=USERNAME, password=PASSWORD, email="bench@example.com")

    seconds, _ = timed(lambda: make_users(members - 1, days, first=0))
    print(f"inserted {members - 1:,} users × {len(days)} snapshots in {seconds:.1f} s")
    owner = get_user_model().objects.get(username="lb0")
    league_ids = {}
    for name, ends_on in (("after the snapshot", days[-1]), ("live today", today + timedelta(days=13))):
        league = League.objects.create(
            name=f"벤치 리그 ({name})", owner=owner, starts_on=days[0], ends_on=ends_on,
            visibility=Visibility.PUBLIC, max_members=members, join_code=f"BENCH{len(league_ids)}",
        )  # fmt: skip
        member_ids = [*get_user_model().objects.filter(username__startswith="lb").values_list("pk", flat=True)]
        member_ids.append(bench_user.pk)
        Membership.objects.bulk_create(
            (Membership(league=league, user_id=pk, number=n) for n, pk in enumerate(member_ids, 1)), batch_size=5000
        )
        Standing.objects.bulk_create(
            (Standing(league=league, user_id=pk, member_number=n) for n, pk in enumerate(member_ids, 1)),
            batch_size=5000,
        )
        League.objects.filter(pk=league.pk).update(member_count=len(member_ids), members_joined=len(member_ids))
        league_ids[name] = league.pk

    print(f"\nleague standings, {members:,} members × {len(days)} days (best of 3)")
    print(f"{'variant':<22} {'seconds':>8} {'members/s':>10}")
    for name, pk in league_ids.items():
        league = League.objects.get(pk=pk)
        # Best of three: the first run also warms the database's page cache for the members' snapshots.
        runs = [timed(lambda league=league: standings.league_standings_compute(league=league, now=now)) for _ in "123"]
        seconds = min(run[0] for run in runs)
        assert all(run[1] == members for run in runs), (runs, members)
        print(f"{name:<22} {seconds:8.2f} {members / seconds:10.0f}")

    if users > members:
        seconds, _ = timed(lambda: make_users(users - members, days, first=members))
        print(f"\ninserted {users - members:,} more users × {len(days)} snapshots in {seconds:.1f} s")
    # The bench user has no history (just registered): opted in, it is not ranked, as a real newcomer.
    seconds, entries = timed(lambda: standings.leaderboard_compute(now=now))
    print(f"\nleaderboard, {users - 1:,} opted-in users × {len(days)} days: week, month and all time")
    print(f"{'seconds':>8} {'users/s':>8} {'entries':>9}")
    print(f"{seconds:8.2f} {(users - 1) / seconds:8.0f} {entries:9,d}")
    return league_ids["live today"]


def bench_reads(league_id: int, repeat: int) -> None:
    from django.core.cache.backends.dummy import DummyCache
    from django.test import Client

    from leagues import api

    client = Client()
    token = client.post("/api/v1/auth/token", {"username": USERNAME, "password": PASSWORD},
                        content_type="application/json").json()["access"]  # fmt: skip
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(path):
        def request():
            response = client.get(path, **auth)
            assert response.status_code == 200, (path, response.status_code, response.content[:300])

        return request

    scenarios = {
        "baseline auth/me": get("/api/v1/auth/me"),
        "leagues/{id}/standings": get(f"/api/v1/leagues/{league_id}/standings"),
        "leaderboard?period=all&metric=return": get("/api/v1/leaderboard?period=all&metric=return"),
        "leaderboard?metric=sharpe": get("/api/v1/leaderboard?metric=sharpe"),
    }
    per_round = max(1, repeat // ROUNDS)
    results = interleaved(scenarios, per_round)
    # The first standings request after a computation or a join: its page is read from the Standing rows by rank.
    real_cache = api.cache
    api.cache = DummyCache("", {})
    try:
        uncached = interleaved({"standings, page not cached": scenarios["leagues/{id}/standings"]}, per_round)
    finally:
        api.cache = real_cache
    results |= uncached
    baseline = results["baseline auth/me"]
    print(f"\nreads, {per_round * ROUNDS} requests each ({ROUNDS} interleaved rounds)")
    print(f"{'request':<38} {'ms':>7} {'req/s':>8}  {'÷ auth/me':>9}")
    for name, ms in results.items():
        print(f"{name:<38} {ms:7.2f} {1000 / ms:8.0f}  {baseline / ms:9.2f}")


def interleaved(scenarios: dict, per_round: int) -> dict[str, float]:
    """Mean milliseconds of each request, measured in ROUNDS rounds that take turns (after a warm-up)."""
    for request in scenarios.values():
        for _ in range(min(20, per_round)):
            request()
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    for _round in range(ROUNDS):
        for name, request in scenarios.items():
            for _ in range(per_round):
                start = time.perf_counter()
                request()
                samples[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.fmean(values) for name, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "mysql"], default="sqlite")
    parser.add_argument("--members", type=int, default=5_000, help="members of the league (the bench user included)")
    parser.add_argument("--users", type=int, default=100_000, help="opted-in users (the members included)")
    parser.add_argument("--days", type=int, default=20, help="daily snapshots per user")
    parser.add_argument("--repeat", type=int, default=300, help="requests per read scenario")
    parser.add_argument("--no-reads", action="store_true", help="the computations only")
    args = parser.parse_args()
    if not 2 <= args.members <= args.users:
        parser.error("--members must be at least 2 and at most --users")
    with throwaway_database(args.db, MYSQL_DB) as database_url:
        setup_django(database_url, ALLOWED_HOSTS="testserver", PRICE_STALE_SECONDS="3600")
        league_id = bench_compute(args.members, args.users, args.days)
        if not args.no_reads:
            bench_reads(league_id, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
