"""Matcher cost: a non-crossing tick with 10,000 resting orders, and a tick that crosses 1,000 of them.

    .venv/bin/python bench/matcher.py [--db sqlite|mysql]

Builds a throwaway database (SQLite file in a temp dir, or the MariaDB database
stocking_bench_matcher), 10,000 resting limit buys over 100 stocks and 100 accounts,
then measures in one run:
  - baseline: one indexed primary-key lookup (`Stock.objects.filter(pk=…).exists()`)
  - a non-crossing tick: `orders_match_tick` finding nothing (target < 1 ms)
  - a tick that crosses 1,000 orders of one stock: every order filled (target < 2 s), fills/s
Setup inserts orders in bulk with consistent reservations (the placement path is
measured by bench/run.py's market_buy scenario).
"""

import argparse
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from throwaway import setup_django, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STOCKS, RESTING, ACCOUNTS, CROSSING = 100, 10_000, 100, 1000


def build_book():
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from marketdata.models import Stock
    from portfolio.models import Account
    from portfolio.services import account_open
    from trading.models import Book, Order, OrderStatus
    from trading.rules import buy_reservation

    stocks = Stock.objects.bulk_create(
        [Stock(code=f"A{100000 + i:06d}", name=f"종목{i}", market="KOSPI") for i in range(STOCKS)]
    )
    users = get_user_model().objects.bulk_create([get_user_model()(username=f"bench{i}") for i in range(ACCOUNTS)])
    accounts = [account_open(user=user) for user in users]
    reserved = {account.pk: Decimal(0) for account in accounts}
    orders = []
    # stock 0 holds the 1,000 crossing orders (limits 10,000..10,990); the other 9,000 rest
    # over stocks 1..99 far below any tick the bench sends
    for n in range(RESTING - CROSSING):
        account = accounts[n % ACCOUNTS]
        stock = stocks[1 + n % (STOCKS - 1)]
        limit = Decimal(5_000 - (n % 100) * 5)
        reservation = buy_reservation(limit, 1)
        reserved[account.pk] += reservation
        orders.append(Order(account=account, stock=stock, side="BUY", order_type="LIMIT", time_in_force="GTC",
                            quantity=1, limit_price=limit, reserved_cash=reservation, status=OrderStatus.OPEN,
                            book=Book.BUY_LIMIT, trigger_price=limit))  # fmt: skip
    for n in range(CROSSING):
        account = accounts[n % ACCOUNTS]
        limit = Decimal(10_000 + (n % 100) * 10)
        reservation = buy_reservation(limit, 1)
        reserved[account.pk] += reservation
        orders.append(Order(account=account, stock=stocks[0], side="BUY", order_type="LIMIT", time_in_force="GTC",
                            quantity=1, limit_price=limit, reserved_cash=reservation, status=OrderStatus.OPEN,
                            book=Book.BUY_LIMIT, trigger_price=limit))  # fmt: skip
    with transaction.atomic():
        Order.objects.bulk_create(orders, batch_size=1000)
        for account_id, amount in reserved.items():
            Account.objects.filter(pk=account_id).update(reserved_cash=amount)
    return stocks


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"mean {statistics.fmean(samples):.3f} ms, p50 {statistics.median(samples):.3f} ms, p99 {p99:.3f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "mysql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    with throwaway_database(args.db, "stocking_bench_matcher") as database_url:
        setup_django(database_url)
        from marketdata.models import Stock
        from trading.models import Order
        from trading.services import order_candidates, orders_match_tick

        started = time.perf_counter()
        stocks = build_book()
        print(f"setup: {Order.objects.count():,} resting orders over {STOCKS} stocks in "
              f"{time.perf_counter() - started:.1f} s ({args.db})")  # fmt: skip
        quiet = stocks[1]
        baseline = timed(lambda: Stock.objects.filter(pk=quiet.pk).exists(), args.repeat)
        candidates = timed(lambda: order_candidates(stock_id=quiet.pk, price=Decimal(7_000)), args.repeat)
        non_crossing = timed(lambda: orders_match_tick(stock=quiet, price=Decimal(7_000)), args.repeat)
        print(f"baseline pk lookup:      {summary(baseline)}")
        print(f"candidate query:         {summary(candidates)}")
        ratio = statistics.fmean(non_crossing) / statistics.fmean(baseline)
        print(f"non-crossing tick:       {summary(non_crossing)}  (ratio to baseline {ratio:.2f}x; target < 1 ms)")

        start = time.perf_counter()
        result = orders_match_tick(stock=stocks[0], price=Decimal(10_000))
        elapsed = time.perf_counter() - start
        filled = Order.objects.filter(stock=stocks[0], status="FILLED").count()
        print(f"crossing tick:           {result.fills} fills ({filled} orders FILLED of {CROSSING}) in "
              f"{elapsed:.2f} s = {result.fills / elapsed:,.0f} fills/s (target < 2 s)")  # fmt: skip
        from django.core.management import call_command

        call_command("audit_ledger")
    return 0


if __name__ == "__main__":
    sys.exit(main())
