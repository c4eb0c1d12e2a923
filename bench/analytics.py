"""Equity snapshots and performance analytics (docs/architecture.md §13), in process.

    .venv/bin/python bench/analytics.py [--db sqlite|mysql] [--accounts 10000] [--holdings 20] [--repeat 200]

1. `snapshot_accounts` (portfolio.analytics.snapshots_take) for N accounts with H holdings each, prices in Redis:
   accounts/s and the number of queries, at N and at N/10 (the count must depend on batches only).
2. GET portfolio/analytics?period=1Y for an account with a year of daily snapshots and 400 ledger trades, against
   GET auth/me with the same JWT: requests/s and their ratio (target ≥ 0.3). Also GET portfolio/history?period=1Y,
   and both again with nothing cached (what the first request of a day, or the first after a fill, costs).
   `--accounts 0` measures the requests only.
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from throwaway import setup_django, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MYSQL_DB = "stocking_bench_analytics"
USERNAME, PASSWORD = "bench", "bench-analytics-password-1"


def mean_ms(fn, repeat: int) -> float:
    for _ in range(min(20, repeat)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.fmean(samples)


def make_stocks(count: int) -> list:
    from kernel.redis import get_redis
    from marketdata.models import Stock
    from marketdata.prices import REALTIME_KEY

    stocks = Stock.objects.bulk_create(
        Stock(code=f"A{900000 + n:06d}", name=f"벤치{n}", market="KOSPI", reference_price=10_000 + n * 100)
        for n in range(count)
    )
    now = datetime.now(UTC).isoformat()
    pipe = get_redis().pipeline(transaction=False)
    for stock in stocks:
        tick = {"code": stock.code, "close": int(stock.reference_price) + 50, "base": int(stock.reference_price)}
        pipe.set(REALTIME_KEY.format(code=stock.code), json.dumps({**tick, "received_at": now}), ex=3600)
    pipe.execute()
    return list(Stock.objects.filter(code__startswith="A9").order_by("code"))


def make_accounts(count: int, stocks: list) -> None:
    """Users, open accounts with their opening DEPOSIT row, and holdings, written in bulk."""
    from django.contrib.auth import get_user_model

    from portfolio.models import Account, Holding, Transaction, TransactionType

    User = get_user_model()
    start = User.objects.count()
    for chunk in range(0, count, 2000):
        size = min(2000, count - chunk)
        users = User.objects.bulk_create(User(username=f"b{start + chunk + n}", password="!") for n in range(size))
        users = list(User.objects.filter(username__in=[u.username for u in users]))
        accounts = Account.objects.bulk_create(
            Account(user=u, cash=Decimal(5_000_000), starting_cash=Decimal(10_000_000)) for u in users
        )
        accounts = list(Account.objects.filter(user__in=users))
        Transaction.objects.bulk_create(
            Transaction(
                account=a, transaction_type=TransactionType.DEPOSIT, amount=Decimal(5_000_000),
                cash_balance_before=Decimal(0), cash_balance_after=Decimal(5_000_000),
            )
            for a in accounts
        )  # fmt: skip
        Holding.objects.bulk_create(
            Holding(account=a, stock=s, quantity=10, average_cost=s.reference_price, last_fill_price=s.reference_price)
            for a in accounts
            for s in stocks
        )


class QueryCounter:
    def __init__(self, queries: list[str]):
        self.queries = queries

    def __call__(self, execute, sql, params, many, context):
        self.queries.append(sql)
        return execute(sql, params, many, context)


def bench_snapshots(accounts: int, holdings: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from marketdata.calendar import seoul_today
    from portfolio.analytics import snapshots_take

    stocks = make_stocks(holdings)
    today = seoul_today(timezone.now())
    print(f"snapshot_accounts, {holdings} holdings per account")
    print(f"{'accounts':>9} {'seconds':>8} {'accounts/s':>11} {'queries':>8}")
    made = 0
    for target in (accounts // 10, accounts):
        make_accounts(target - made, stocks)
        made = target
        queries: list[str] = []
        with connection.execute_wrapper(QueryCounter(queries)):
            start = time.perf_counter()
            written = snapshots_take(day=today)
            seconds = time.perf_counter() - start
        assert written == target, (written, target)
        print(f"{target:9d} {seconds:8.2f} {target / seconds:11.0f} {len(queries):8d}")


def bench_analytics(repeat: int) -> None:
    from django.core.cache.backends.dummy import DummyCache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from marketdata.calendar import seoul_today
    from marketdata.models import Stock
    from portfolio import analytics
    from portfolio.models import Account, EquitySnapshot, Transaction, TransactionType
    from stocking.services import user_register

    user_register(username=USERNAME, password=PASSWORD, email="bench@example.com")
    account = Account.objects.get(user__username=USERNAME, is_open=True)
    rng = random.Random(16)  # noqa: S311 - benchmark data
    today = seoul_today(timezone.now())
    equity = 10_000_000.0
    rows = []
    for n in range(365, 0, -1):
        equity *= 1 + rng.gauss(0.0004, 0.012)
        rows.append(
            EquitySnapshot(
                account=account, date=today - timedelta(days=n), equity=Decimal(round(equity)),
                cash=Decimal(round(equity)), market_value=0, net_flow=0, benchmark_close=Decimal("2500.00"),
            )
        )  # fmt: skip
    EquitySnapshot.objects.bulk_create(rows)
    stocks = list(Stock.objects.all()[:20])
    trades = []
    for n in range(400):
        kind = TransactionType.SELL if n % 2 else TransactionType.BUY
        trades.append(
            Transaction(
                account=account, stock=stocks[n % len(stocks)], transaction_type=kind, quantity=10,
                price=Decimal(10_000), amount=Decimal(0), commission=Decimal(15), tax=Decimal(200 if n % 2 else 0),
                realized_pnl=Decimal(rng.randint(-50_000, 60_000)) if n % 2 else None,
                cash_balance_before=Decimal(10_000_000), cash_balance_after=Decimal(10_000_000),
            )
        )  # fmt: skip
    Transaction.objects.bulk_create(trades)
    Transaction.objects.filter(account=account).update(created_at=timezone.now() - timedelta(days=100))

    client = Client()
    token = client.post("/api/v1/auth/token", {"username": USERNAME, "password": PASSWORD},
                        content_type="application/json").json()["access"]  # fmt: skip
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(path):
        def request():
            response = client.get(path, **auth)
            assert response.status_code == 200, response.content[:300]

        return request

    results = {
        "baseline auth/me": mean_ms(get("/api/v1/auth/me"), repeat),
        "portfolio/analytics?period=1Y": mean_ms(get("/api/v1/portfolio/analytics?period=1Y"), repeat),
        "portfolio/history?period=1Y": mean_ms(get("/api/v1/portfolio/history?period=1Y"), repeat),
    }
    # The same requests with nothing cached: every request reads the year of snapshots and the ledger's trades, as
    # the first one of a day (or after a fill, a deposit or a snapshot) does.
    real_cache = analytics.cache
    analytics.cache = DummyCache("", {})
    try:
        results["analytics?period=1Y, nothing cached"] = mean_ms(get("/api/v1/portfolio/analytics?period=1Y"), repeat)
        results["history?period=1Y, nothing cached"] = mean_ms(get("/api/v1/portfolio/history?period=1Y"), repeat)
    finally:
        analytics.cache = real_cache
    with CaptureQueriesContext(connection) as warm:
        get("/api/v1/portfolio/analytics?period=1Y")()
    print(f"\n365 daily snapshots, 400 trades; {repeat} requests each")
    baseline = results["baseline auth/me"]
    print(f"{'request':<38} {'ms':>7} {'req/s':>8}  {'÷ auth/me':>9}")
    for name, ms in results.items():
        print(f"{name:<38} {ms:7.2f} {1000 / ms:8.0f}  {baseline / ms:9.2f}")
    print(f"queries of one cached analytics request (authentication included): {len(warm.captured_queries)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "mysql"], default="sqlite")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--holdings", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with throwaway_database(args.db, MYSQL_DB) as database_url:
        setup_django(database_url, ALLOWED_HOSTS="testserver", PRICE_STALE_SECONDS="3600")
        from kernel.redis import get_redis
        from marketdata.prices import REALTIME_KEY

        try:
            bench_snapshots(args.accounts, args.holdings)
            bench_analytics(args.repeat)
        finally:
            get_redis().delete(*(REALTIME_KEY.format(code=f"A{900000 + n:06d}") for n in range(args.holdings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
