"""Throughput of the API under gunicorn, as ratios to GET /api/v1/auth/me measured in the same run.

Run from the repository root: `.venv/bin/python bench/run.py [--db sqlite|mysql|both]`.
Each database gets a throwaway copy, a fresh migrate, one bench user and its own
gunicorn (2 workers); load comes from wrk when installed, else from Python threads.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from throwaway import throwaway_database

HOST = "127.0.0.1"  # load only ever goes to this machine
ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
MYSQL_DB = "stocking_bench"
USERNAME = "bencher"
PASSWORD = secrets.token_urlsafe(16)  # a fresh one per run, for the throwaway bench user
WARMUP_SECONDS = 2


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    body: dict | None = None


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx responses plus socket errors


BASELINE = "auth_me"
SCENARIOS = [
    Scenario("auth_me", "GET", "/api/v1/auth/me"),
    # issue 4: one locked read-modify-write of the account plus one ledger row per request
    Scenario("deposit", "POST", "/api/v1/portfolio/deposit", body={"amount": 1000}),
    # issue 6: auth, validation, price read, locks, reservation, fill, ledger row, events
    Scenario(
        "market_buy",
        "POST",
        "/api/v1/trading/orders",
        body={"stock_code": "A005930", "side": "BUY", "type": "MARKET", "quantity": 1},
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def call(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stocking.settings.development",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "LOG_LEVEL": "WARNING",
        "THROTTLE_AUTH": "100000/min",
        "THROTTLE_ORDERS": "100000/min",
        "JWT_ACCESS_MINUTES": "600",  # outlives any run with many scenarios
        "STARTING_CASH": "100000000000000",  # market_buy must never run out of cash
        "PRICE_STALE_SECONDS": "3600",  # the bench writes its price once
    }


def prepare(env: dict[str, str]) -> None:
    manage = [PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    create_user = (
        "from stocking.services import user_register; "
        f"user_register(username={USERNAME!r}, password={PASSWORD!r}, email='bench@example.com'); "
        "from marketdata.models import Stock; from marketdata.prices import store_tick; "
        "Stock.objects.create(code='A005930', name='삼성전자', name_en='Samsung Electronics', market='KOSPI'); "
        "store_tick({'code': 'A005930', 'close': 70000, 'base': 70000, 'volume': 100})"
    )
    subprocess.run([*manage, "shell", "-v0", "-c", create_user], cwd=ROOT, env=env, check=True)


@contextmanager
def gunicorn(env: dict[str, str], log_dir: str, *options: str):
    """Yield the port of a 2-worker gunicorn that answers; stop it (and its workers) afterwards."""
    port = free_port()
    log_path = Path(log_dir) / "gunicorn.log"
    with open(log_path, "wb") as log:
        # Own session: Ctrl-C reaches only us, and we stop gunicorn in order.
        proc = subprocess.Popen(
            [GUNICORN, "stocking.wsgi", "--workers", "2", "--bind", f"{HOST}:{port}", *options],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
            try:
                call(port, "GET", "/api/v1/auth/me")  # any answer (a 401 here) will do
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group we started: master and workers
            proc.wait()


def obtain_access_token(port: int) -> str:
    status, body = call(port, "POST", "/api/v1/auth/token", {"username": USERNAME, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"POST /api/v1/auth/token answered {status}: {body[:500]!r}")
    return json.loads(body)["access"]


def measure(scenario: Scenario, port: int, token: str, duration: float, connections: int, loadgen: str) -> Result:
    headers = {"Authorization": f"Bearer {token}"}
    if scenario.body is not None:
        headers["Content-Type"] = "application/json"
    run = measure_with_wrk if loadgen == "wrk" else measure_with_threads
    return run(scenario, port, headers, duration, connections)


def measure_with_wrk(scenario, port, headers, duration, connections) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(f"wrk.method = {json.dumps(scenario.method)}\n")
        if scenario.body is not None:
            script.write(f"wrk.body = [==[{json.dumps(scenario.body)}]==]\n")
        script.flush()
        cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration:g}s", "--latency"]
        cmd += [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
        cmd += ["-s", script.name, f"http://{HOST}:{port}{scenario.path}"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    def latency_ms(percentile: str) -> float:
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\b", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return Result(rps, latency_ms("50"), latency_ms("99"), errors)


def measure_with_threads(scenario, port, headers, duration, connections) -> Result:
    """Fallback: one keep-alive connection per thread, fixed duration."""
    body = json.dumps(scenario.body).encode() if scenario.body is not None else None
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client() -> None:
        mine, failed = [], 0
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        while (started := time.monotonic()) < deadline:
            try:
                conn.request(scenario.method, scenario.path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                failed += not 200 <= response.status < 300
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()  # reconnects on the next request
                continue
            mine.append(time.monotonic() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()

    def latency_ms(fraction: float) -> float:
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000 if latencies else 0.0

    return Result(len(latencies) / duration, latency_ms(0.50), latency_ms(0.99), errors[0])


def bench_database(kind: str, scenarios: list[Scenario], args: argparse.Namespace) -> list[dict]:
    with ExitStack() as stack:
        env = server_env(stack.enter_context(throwaway_database(kind, MYSQL_DB)))
        prepare(env)
        rows = bench_server(kind, scenarios, args, env)
        if args.sql_ceiling:
            market_buy = [scenario for scenario in scenarios if scenario.name in (BASELINE, "market_buy")]
            ceiling = {**env, "SQL_CEILING_USER": USERNAME}
            rows += bench_server(kind, market_buy, args, ceiling, "--config", str(ROOT / "bench" / "sql_ceiling.py"))
    return rows


def bench_server(kind: str, scenarios: list[Scenario], args: argparse.Namespace, env, *options: str) -> list[dict]:
    """Measure the scenarios against one gunicorn; ratios are to its own baseline."""
    with tempfile.TemporaryDirectory() as log_dir, gunicorn(env, log_dir, *options) as port:
        token = obtain_access_token(port)
        results = {}
        for scenario in scenarios:
            measure(scenario, port, token, WARMUP_SECONDS, args.connections, args.loadgen)
            results[scenario.name] = measure(scenario, port, token, args.duration, args.connections, args.loadgen)
        if any(result.errors for result in results.values()):
            print((Path(log_dir) / "gunicorn.log").read_text()[-3000:], file=sys.stderr)
    baseline_rps = results[BASELINE].rps
    suffix = " [sql ceiling]" if options else ""
    rows = []
    for name, result in results.items():
        figures = {key: round(value, 2) for key, value in asdict(result).items()}
        ratio = round(result.rps / baseline_rps, 3) if baseline_rps else 0.0
        rows.append({"db": kind, "scenario": name + suffix, **figures, "ratio": ratio})
    return rows


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C, so every cleanup runs


def main() -> int:
    by_name = {scenario.name: scenario for scenario in SCENARIOS}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per scenario (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections (default 16)")
    parser.add_argument("--db", choices=["sqlite", "mysql", "both"], default="sqlite")
    parser.add_argument("--scenario", action="append", choices=list(by_name), help="repeatable; default all")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--sql-ceiling",
        action="store_true",
        help="also measure market buy with placement replayed as raw SQL (bench/sql_ceiling.py) on a second gunicorn",
    )
    args = parser.parse_args()
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    names = args.scenario or list(by_name)
    scenarios = [by_name[BASELINE]] + [by_name[name] for name in dict.fromkeys(names) if name != BASELINE]
    signal.signal(signal.SIGTERM, interrupt)

    rows = []
    for kind in ["sqlite", "mysql"] if args.db == "both" else [args.db]:
        rows += bench_database(kind, scenarios, args)

    print(f"{'db':<8}{'scenario':<30}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}  vs {BASELINE}")
    for row in rows:
        print(
            f"{row['db']:<8}{row['scenario']:<30}{row['rps']:>10.1f}{row['p50_ms']:>9.2f}"
            f"{row['p99_ms']:>9.2f}{row['errors']:>8}  {row['ratio']:.2f}"
        )
    summary = {"loadgen": args.loadgen, "duration": args.duration, "connections": args.connections, "results": rows}
    print(json.dumps(summary))
    if any(row["errors"] for row in rows):
        print("FAILED: some requests were not 2xx (see errors above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; gunicorn stopped and the bench database removed")
