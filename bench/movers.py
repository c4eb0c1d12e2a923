"""GET market/movers against GET auth/me, in process: requests/s of each and their ratio (target ≥ 0.5).

    .venv/bin/python bench/movers.py [--db sqlite|mysql] [--repeat 300]

The whole shipped stock master is loaded (load_stocks: every KOSPI and KOSDAQ listing) and
every active stock gets a stored tick shaped like the relay's, so each movers request ranks
~2,700 prices read with one MGET. Django's test client, DEBUG=false, real Redis and database,
both requests authenticated with the same JWT. Movers are timed twice in the same run: as
configured (MOVERS_CACHE_SECONDS, default 1 s: a process ranks at most once a second per kind and
market, so a tight loop mostly reuses the ranking, and one request a second pays the MGET) and with
MOVERS_CACHE_SECONDS=0 (every request does the MGET and the ranking). Also timed: `market_movers`
alone, uncached (the MGET and the ranking, without the request around it).
"""

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from throwaway import setup_django, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MYSQL_DB = "stocking_bench_movers"
USERNAME, PASSWORD = "bench", "bench-movers-password-1"


def mean_ms(fn, repeat: int) -> float:
    for _ in range(min(30, repeat)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.fmean(samples)


def store_prices() -> list[str]:
    """A relay-shaped tick for every active stock, written in one pipeline; returns the keys."""
    from kernel.redis import get_redis
    from marketdata.models import Stock
    from marketdata.prices import REALTIME_KEY

    rng = random.Random(7)  # noqa: S311 - benchmark data
    now = datetime.now(UTC).isoformat()
    pipe = get_redis().pipeline(transaction=False)
    keys = []
    for code, base in Stock.objects.filter(is_active=True).values_list("code", "reference_price"):
        base = int(base)
        close = max(1, round(base * (1 + rng.uniform(-0.1, 0.1))))
        tick = {
            "code": code,
            "dt": now,
            "session": "REGULAR",
            "currency": "KRW",
            "base": base,
            "close": close,
            "open": base,
            "high": max(base, close),
            "low": min(base, close),
            "volume": rng.randint(1, 500),
            "tradeType": "BUY",
            "changeType": "UP" if close > base else "DOWN",
            "cumulativeVolume": rng.randint(1, 10_000_000),
            "cumulativeAmount": rng.randint(1, 10**12),
            "received_at": now,
        }
        key = REALTIME_KEY.format(code=code)
        pipe.set(key, json.dumps(tick), ex=3600)
        keys.append(key)
    pipe.execute()
    return keys


def measure(repeat: int) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from kernel.redis import get_redis
    from marketdata.selectors import market_movers
    from stocking.services import user_register

    call_command("load_stocks", verbosity=0)
    keys = store_prices()
    try:
        user_register(username=USERNAME, password=PASSWORD, email="bench@example.com")
        client = Client()
        token = client.post("/api/v1/auth/token", {"username": USERNAME, "password": PASSWORD},
                            content_type="application/json").json()["access"]  # fmt: skip
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

        def get(path, params=None):
            def request():
                response = client.get(path, params or {}, **auth)
                assert response.status_code == 200, response.content[:300]

            return request

        requests = {
            "gainers (10, both markets)": get("/api/v1/market/movers"),
            "volume (100, both markets)": get("/api/v1/market/movers", {"kind": "volume", "limit": 100}),
            "losers (10, KOSDAQ)": get("/api/v1/market/movers", {"kind": "losers", "market": "KOSDAQ"}),
        }
        cache_seconds = settings.MOVERS_CACHE_SECONDS
        results = {"baseline auth/me": mean_ms(get("/api/v1/auth/me"), repeat)}
        for name, request in requests.items():
            results[f"{name}, cache {cache_seconds:g} s"] = mean_ms(request, repeat)
        settings.MOVERS_CACHE_SECONDS = 0
        for name, request in requests.items():
            results[f"{name}, uncached"] = mean_ms(request, repeat)
        results["market_movers() alone, uncached"] = mean_ms(lambda: market_movers(kind="gainers"), repeat)
        settings.MOVERS_CACHE_SECONDS = cache_seconds
        print(f"{len(keys)} active stocks with a stored price; {repeat} requests each")
        baseline = results["baseline auth/me"]
        print(f"{'request':<42} {'ms':>7} {'req/s':>8}  {'÷ auth/me':>9}")
        for name, ms in results.items():
            print(f"{name:<42} {ms:7.2f} {1000 / ms:8.0f}  {baseline / ms:9.2f}")
    finally:
        get_redis().delete(*keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "mysql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    with throwaway_database(args.db, MYSQL_DB) as database_url:
        setup_django(database_url, ALLOWED_HOSTS="testserver", PRICE_STALE_SECONDS="3600")
        measure(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
