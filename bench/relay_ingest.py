"""Relay ingest at maximum replay speed into Redis, against a raw pipelined SET loop measured in the same run.

Run from the repository root:
    .venv/bin/python bench/relay_ingest.py [--ticks 200000] [--codes 200] [--rounds 3] [--redis-url URL] [--candles]
    .venv/bin/python bench/relay_ingest.py --indices        # KOSPI/KOSDAQ computed ÷ not, 2,700 constituents

Both sides use one Python process pinned to one core (Redis runs elsewhere) and
the same batch size. The baseline sends one `SET key value EX 3600` per tick from
ready-made strings and does nothing else. The relay does its whole job: read the
JSONL file, parse and validate every body, stamp received_at, SET the latest tick
per code, PUBLISH the batch on stock:ticks and write its health record; with --candles
also fold every batch into 1-minute candles in a throwaway SQLite database, as
RELAY_RECORD_CANDLES (on by default) does in production.
With --indices it compares the relay with live KOSPI/KOSDAQ computed from every tick (RELAY_INDICES,
2,700 constituents by default, half of each market) against the same relay without them, alternating
rounds in one run (target: on ÷ off >= 0.9).
Use a Redis database nobody else uses (default 13); the bench deletes the keys it wrote.
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_TICKS_PER_SECOND = 50_000
TARGET_INDEX_RATIO = 0.9


def pin_to_one_core() -> str:
    try:
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[-1]})
    except (AttributeError, OSError):
        return "not pinned"
    return f"core {cores[-1]} of {len(cores)}"


def make_ticks(path: Path, count: int, codes: int) -> list[str]:
    from marketdata.relay.simulator import ListedStock, TickGenerator

    stocks = [ListedStock(f"A{100_000 + index:06d}", index + 1) for index in range(codes)]
    generator = TickGenerator(stocks, seed=2026)
    lines = [json.dumps(generator.next_tick("2026-11-25T01:00:00.000Z"), ensure_ascii=False) for _ in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


class Rate:
    """Ticks per wall-clock second, and per CPU-second of this process (less sensitive to a busy machine)."""

    def __init__(self, ticks: int, wall: float, cpu: float) -> None:
        self.wall = ticks / wall
        self.cpu = ticks / cpu if cpu else float("inf")


def timed(work, ticks: int) -> Rate:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return Rate(ticks, time.perf_counter() - wall, time.process_time() - cpu)


def raw_set_loop(client, lines: list[str], keys: list[str], batch: int) -> Rate:
    def work():
        for start in range(0, len(lines), batch):
            pipe = client.pipeline(transaction=False)
            for key, line in zip(keys[start : start + batch], lines[start : start + batch], strict=True):
                pipe.set(key, line, ex=3600)
            pipe.execute()

    return timed(work, len(lines))


def relay_run(config, count: int, *, indices: bool = False) -> Rate:
    from marketdata.relay.runner import Relay

    relay = Relay(config)
    if indices and relay._indices is None:
        raise SystemExit("the relay computes no index: constituents or index history missing")
    outcome = {}
    rate = timed(lambda: outcome.update(stats=relay.run(threading.Event())), count)
    stats = outcome["stats"]
    if stats.messages_total != count or stats.state != "finished":
        raise SystemExit(f"relay did not ingest everything: {stats}")
    return rate


def listed_stocks(lines: list[str]) -> None:
    """The stock master the candles refer to, in the throwaway database."""
    from django.core.management import call_command

    from marketdata.models import Stock

    call_command("migrate", verbosity=0)
    codes = sorted({json.loads(line)["code"] for line in lines})
    if Stock.objects.exists():
        return
    first_prices = {}
    for line in lines:
        tick = json.loads(line)
        first_prices.setdefault(tick["code"], tick["base"])
    Stock.objects.bulk_create(
        [
            Stock(
                code=code,
                name=code,
                market="KOSPI" if position % 2 else "KOSDAQ",
                shares_outstanding=1_000_000 * (1 + position % 97),
                reference_price=first_prices[code],
                market_cap_rank=position + 1,
            )
            for position, code in enumerate(codes)
        ]
    )


def index_history() -> None:
    """Both indices with a last daily close to chain from."""
    from datetime import date

    from marketdata.models import MarketIndex, MarketIndexDay

    for code, close in (("KOSPI", 2647), ("KOSDAQ", 841)):
        index = MarketIndex.objects.create(code=code, name=code, name_en=code)
        MarketIndexDay.objects.create(
            index=index, date=date(2026, 3, 20), open=close, high=close, low=close, close=close
        )


def index_rounds(config, args, client, keys: list[str]) -> None:
    """The relay with indices on ÷ off, alternating rounds in one run."""
    from dataclasses import replace as with_changes

    from marketdata.indices import INDEX_REALTIME_KEY
    from marketdata.relay.keys import HEALTH_KEY

    on_config = with_changes(config, indices=True)
    off_rates, on_rates = [], []
    try:
        for _ in range(args.rounds):
            off_rates.append(relay_run(config, args.ticks))
            on_rates.append(relay_run(on_config, args.ticks, indices=True))
        stored = [client.get(INDEX_REALTIME_KEY.format(code=code)) for code in ("KOSPI", "KOSDAQ")]
    finally:
        client.delete(*set(keys), HEALTH_KEY, *(INDEX_REALTIME_KEY.format(code=c) for c in ("KOSPI", "KOSDAQ")))
    if not all(stored):
        raise SystemExit("the relay with indices stored no index value")
    ratios = sorted(on.wall / off.wall for off, on in zip(off_rates, on_rates, strict=True))
    median_ratio = ratios[len(ratios) // 2]

    def rounds(rates: list[Rate]) -> str:
        return ", ".join(f"{rate.wall:,.0f}" for rate in rates)

    print(f"relay ingest with indices: {args.ticks:,} ticks over {args.codes:,} constituents, batches of {args.batch}")
    print(f"  indices off : {max(r.wall for r in off_rates):>9,.0f} ticks/s best   (rounds: {rounds(off_rates)})")
    print(f"  indices on  : {max(r.wall for r in on_rates):>9,.0f} ticks/s best   (rounds: {rounds(on_rates)})")
    print(
        f"  ratio on/off: {median_ratio:>9.3f}  (median of per-round ratios; "
        f"all: {', '.join(f'{r:.3f}' for r in ratios)})"
    )
    cpu_ratios = sorted(on.cpu / off.cpu for off, on in zip(off_rates, on_rates, strict=True))
    cpu_ratio = cpu_ratios[len(cpu_ratios) // 2]
    print(f"  per CPU-s   : {cpu_ratio:>9.3f}  (median on/off of ticks per CPU-second of the relay process)")
    print(f"  last value  : {stored[0]}")
    wall_verdict = "meets" if median_ratio >= TARGET_INDEX_RATIO else "misses"
    cpu_verdict = "meets" if cpu_ratio >= TARGET_INDEX_RATIO else "misses"
    print(f"  target {TARGET_INDEX_RATIO}  : {wall_verdict} (wall clock); {cpu_verdict} (CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=200_000)
    parser.add_argument("--codes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500, help="ticks per pipeline (RELAY_BATCH_MAX)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--candles", action="store_true", help="the relay also records 1-minute candles")
    parser.add_argument("--indices", action="store_true", help="relay with computed KOSPI/KOSDAQ ÷ without")
    args = parser.parse_args()
    if args.indices and args.codes == parser.get_default("codes"):
        args.codes = 2_700

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stocking.settings.development")
    database_dir = tempfile.TemporaryDirectory(prefix="stocking-relay-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{database_dir.name}/bench.sqlite3"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["REDIS_URL"] = args.redis_url
    import django

    django.setup()
    import redis

    from marketdata.relay.config import RelayConfig
    from marketdata.relay.keys import HEALTH_KEY, REALTIME_KEY

    pinned = pin_to_one_core()
    client = redis.Redis.from_url(args.redis_url, decode_responses=True)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "ticks.jsonl"
        lines = make_ticks(path, args.ticks, args.codes)
        keys = [REALTIME_KEY.format(code=json.loads(line)["code"]) for line in lines]
        if args.candles or args.indices:
            listed_stocks(lines)
        if args.indices:
            index_history()
        config = replace(
            RelayConfig(),
            source=f"replay:{path}",
            redis_url=args.redis_url,
            replay_speed=None,
            batch_max=args.batch,
            record_candles=args.candles,
            indices=False,
        )
        if args.indices:
            try:
                index_rounds(config, args, client, keys)
            finally:
                client.close()
            return
        raw_rates, relay_rates = [], []
        try:
            for _ in range(args.rounds):
                raw_rates.append(raw_set_loop(client, lines, keys, args.batch))
                relay_rates.append(relay_run(config, args.ticks))
        finally:
            client.delete(*set(keys), HEALTH_KEY)
            client.close()

    ratios = sorted(relay.wall / raw.wall for raw, relay in zip(raw_rates, relay_rates, strict=True))
    median_ratio = ratios[len(ratios) // 2]
    best_raw = max(rate.wall for rate in raw_rates)
    best_relay = max(rate.wall for rate in relay_rates)

    def rounds(rates: list[Rate]) -> str:
        return ", ".join(f"{rate.wall:,.0f}" for rate in rates)

    candles = ", recording 1-minute candles" if args.candles else ""
    print(f"relay ingest: {args.ticks:,} ticks over {args.codes} codes, batches of {args.batch}{candles}, {pinned}")
    print(f"  raw pipelined SET loop : {best_raw:>9,.0f} ticks/s best   (rounds: {rounds(raw_rates)})")
    print(f"  relay (replay, max)    : {best_relay:>9,.0f} ticks/s best   (rounds: {rounds(relay_rates)})")
    print(f"  ratio relay / raw      : {median_ratio:>9.2f}  (median of per-round ratios)")
    print(
        f"  per CPU-second         : raw {max(r.cpu for r in raw_rates):,.0f}, "
        f"relay {max(r.cpu for r in relay_rates):,.0f} ticks"
    )
    verdict = "meets" if best_relay >= TARGET_TICKS_PER_SECOND else "misses"
    print(f"  target {TARGET_TICKS_PER_SECOND:,} ticks/s  : {verdict} (best round, wall clock)")


if __name__ == "__main__":
    main()
