"""Where a market BUY's time goes, in process: the parts measured side by side in one run.

    .venv/bin/python bench/order_costs.py [--db sqlite|mysql] [--repeat 1000]

bench/run.py measures placement through gunicorn; this splits the same request
(Django's test client, DEBUG=false, real Redis and database) into:
  - baseline: GET /api/v1/auth/me
  - market buy: POST /api/v1/trading/orders, the whole request
  - market buy without placement: the same request with `order_place` answering an
    already placed order (authentication, throttle, input and output serializers)
  - order_place: the service alone (locks, reservation, fill, ledger, events, push)
  - its SQL alone: the statements one order_place executes, captured and replayed
    through a raw cursor in one transaction: what the database itself spends.
    The replayed rows are not a valid ledger; the database is thrown away.
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

from throwaway import setup_django, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MYSQL_DB = "stocking_bench_order_costs"
USERNAME, PASSWORD = "bench", os.urandom(12).hex()
BUY = {"stock_code": "A005930", "side": "BUY", "type": "MARKET", "quantity": 1}


def mean_ms(fn, repeat: int) -> float:
    for _ in range(min(100, repeat)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.fmean(samples)


def measure(repeat: int, db: str) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import trading.api
    from marketdata.models import Stock
    from marketdata.prices import store_tick
    from stocking.services import user_register
    from trading.models import Order
    from trading.services import OrderRequest, order_place

    user_register(username=USERNAME, password=PASSWORD, email="bench@example.com")
    Stock.objects.create(code="A005930", name="삼성전자", name_en="Samsung Electronics", market="KOSPI")
    store_tick({"code": "A005930", "close": 70000, "base": 70000, "volume": 100})
    client = Client()
    token = client.post("/api/v1/auth/token", {"username": USERNAME, "password": PASSWORD},
                        content_type="application/json").json()["access"]  # fmt: skip
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    user = get_user_model().objects.get(username=USERNAME)
    request = OrderRequest(stock_code="A005930", side="BUY", order_type="MARKET", quantity=1)

    def me():
        assert client.get("/api/v1/auth/me", **auth).status_code == 200

    def buy():
        assert client.post("/api/v1/trading/orders", BUY, content_type="application/json", **auth).status_code == 201

    def place():
        order_place(user=user, request=request)

    place()  # the first order also creates the holding row; capture a typical one
    with CaptureQueriesContext(connection) as captured:
        place()
    statements = [q["sql"] for q in captured.captured_queries if not re.match(r"(BEGIN|COMMIT)", q["sql"])]
    ignore = "INSERT OR IGNORE INTO" if db == "sqlite" else "INSERT IGNORE INTO"  # replayed events repeat their seq

    def replay():
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql.replace("INSERT INTO", ignore, 1))
                if sql.startswith("SELECT"):
                    cursor.fetchall()

    results = {"baseline auth/me": mean_ms(me, repeat), "market buy": mean_ms(buy, repeat)}
    placed = Order.objects.select_related("stock").filter(account__user=user).first()
    real_place = trading.api.order_place
    trading.api.order_place = lambda **kwargs: (placed, True)
    try:
        results["market buy without placement"] = mean_ms(buy, repeat)
    finally:
        trading.api.order_place = real_place
    results["order_place"] = mean_ms(place, repeat)
    results[f"its SQL alone ({len(statements)} statements)"] = mean_ms(replay, repeat)
    baseline = results["baseline auth/me"]
    print(f"{'part':<40} {'ms':>7}  {'baseline ÷ part':>15}")
    for name, ms in results.items():
        print(f"{name:<40} {ms:7.3f}  {baseline / ms:15.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "mysql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=1000)
    args = parser.parse_args()
    with throwaway_database(args.db, MYSQL_DB) as database_url:
        setup_django(database_url, ALLOWED_HOSTS="testserver", THROTTLE_ORDERS="100000000/min",
                     PRICE_STALE_SECONDS="3600")  # fmt: skip
        measure(args.repeat, args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
