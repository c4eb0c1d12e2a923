"""Tick → browser latency of /ws/prices/ under daphne: in-process fan-out vs the channel layer, side by side.

Run from the repository root:  .venv/bin/python bench/ws_fanout.py [--clients 100,500,1000] [--duration 10]

One run starts a private redis-server (so the bench's ticks reach no one else's
`stock:ticks` listeners), a throwaway SQLite database, and one daphne per fan-out mode,
all on 127.0.0.1:
  local               PRICES_FANOUT=local: the process's one Redis subscription hands ticks to the
                      sockets' mailboxes (marketdata/fanout.py), what production runs
  layer_core          PRICES_FANOUT=channel_layer over channels_redis.core.RedisChannelLayer
  layer_pubsub        PRICES_FANOUT=channel_layer over channels_redis.pubsub.RedisPubSubChannelLayer
For each client count, each variant in turn (a mode, or a mode whose sockets subscribe with
"batch": true, as the browser pages do): N WebSocket clients (`websockets`, spread over
--client-procs processes) subscribe to --codes-per-client random codes out of --universe;
a publisher sends --rate ticks/s on `stock:ticks` in relay-like batches every --batch-ms,
stamping its send time into each tick's `dt`. Every --probe-every-th client is a probe that
parses every frame and records receive time − dt; the others read their bytes without
parsing them (the server cannot tell the difference, and a Python client parsing 50,000
frames/s would eat the CPU the server needs). The first --warmup seconds are thrown away.
Everything shares this machine's CPUs: server and client CPU use are printed with the results.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HOST = "127.0.0.1"  # load only ever goes to this machine
ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MODES = {
    "local": ("local", "channels_redis.core.RedisChannelLayer"),
    "layer_core": ("channel_layer", "channels_redis.core.RedisChannelLayer"),
    "layer_pubsub": ("channel_layer", "channels_redis.pubsub.RedisPubSubChannelLayer"),
}
# A variant is a mode, optionally with sockets that subscribe with "batch": true (as the browser pages do).
DEFAULT_VARIANTS = "local,local+batch,layer_core,layer_pubsub"
MAX_CLIENTS = 2000
LAYER_CONNECTIONS = 4000
BATCH_SECONDS = float(os.environ.get("WS_PRICES_BATCH_SECONDS", "0.05"))
CONNECT_CONCURRENCY = 50


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def universe(size: int) -> list[str]:
    return [f"A9B{n:04d}" for n in range(size)]  # valid codes no real listing uses


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args[:3]} did not start:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- client role ---------------------------------------------------------------------------


class _Sink(asyncio.Protocol):
    """A socket past its subscription that only drains what arrives (no frame parsing)."""

    def __init__(self) -> None:
        self.bytes = 0

    def data_received(self, data: bytes) -> None:
        self.bytes += len(data)


async def client_role(url: str, clients: list[dict], batch: bool) -> None:
    """Connect, subscribe; probes time every tick, the other sockets just read (the harness shares the CPUs)."""
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    ready = asyncio.Event()
    pending = [len(clients)]
    sockets, sinks = [], []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    origin = url.replace("ws://", "http://").split("/ws/")[0]

    def subscribed() -> None:
        pending[0] -= 1
        if not pending[0]:
            ready.set()

    async def run(client: dict) -> None:
        async with gate:
            ws = await connect(url, origin=origin, compression=None, ping_interval=None, max_queue=None)
        sockets.append(ws)
        await ws.send(json.dumps({"action": "subscribe", "codes": client["codes"], "batch": batch}))
        if not client["probe"]:
            while json.loads(await ws.recv())["type"] != "subscribed":
                pass
            sink = _Sink()
            ws.transport.set_protocol(sink)
            sinks.append(sink)
            subscribed()
            return
        loads, parse, now = json.loads, datetime.fromisoformat, time.time
        async for raw in ws:
            message = loads(raw)
            kind = message["type"]
            if kind in ("tick", "ticks"):
                received = now()
                for tick in message["ticks"] if kind == "ticks" else (message,):
                    if tick["trade_volume"] == 1:  # measured ticks; warm-up ticks carry 0
                        latencies.append(received - parse(tick["dt"]).timestamp())
            elif kind == "subscribed":
                subscribed()
            elif kind == "error":
                raise RuntimeError(message)

    loop = asyncio.get_running_loop()
    tasks = [asyncio.create_task(run(client)) for client in clients]
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if not waiter.done():
        for task in tasks:
            if task.done():
                task.result()  # raise what went wrong
    await waiter
    print("READY", flush=True)
    cpu_start = time.process_time()
    await loop.run_in_executor(None, sys.stdin.readline)  # the parent says STOP
    cpu = time.process_time() - cpu_start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ws in sockets:
        ws.transport.abort()
    result = {"latencies": latencies, "sink_bytes": sum(sink.bytes for sink in sinks), "cpu": cpu}
    print(json.dumps(result), flush=True)


# --- orchestration ---------------------------------------------------------------------------


def write_settings(directory: Path, mode: str) -> str:
    fanout, layer = MODES[mode]
    module = f"ws_bench_settings_{mode}"
    (directory / f"{module}.py").write_text(
        "from stocking.settings.development import *  # noqa: F403\n"
        "from stocking.settings.development import REDIS_URL\n\n"
        f"PRICES_FANOUT = {fanout!r}\n"
        f"WS_PRICES_BATCH_SECONDS = {BATCH_SECONDS!r}\n"
        # redis-py 8's pool refuses a 101st concurrent connection; 1,000 sockets subscribing at once need more.
        f'HOSTS = [{{"address": REDIS_URL, "max_connections": {LAYER_CONNECTIONS}}}]\n'
        f'CHANNEL_LAYERS = {{"default": {{"BACKEND": {layer!r}, "CONFIG": {{"hosts": HOSTS, "prefix": "bench"}}}}}}\n'
    )
    return module


def publisher(redis_url: str, codes: list[str], rate: float, batch_ms: float, warmup: float, duration: float):
    """Publish relay-like batches at `rate` ticks/s; returns the codes of the measured ticks."""
    import redis

    client = redis.Redis.from_url(redis_url)
    rng = random.Random(7)
    per_batch = max(1, round(rate * batch_ms / 1000))
    interval = per_batch / rate
    measured: list[str] = []
    start = time.monotonic()
    next_at = start
    while (elapsed := time.monotonic() - start) < warmup + duration:
        measuring = elapsed >= warmup
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        batch = []
        for _ in range(per_batch):
            code = rng.choice(codes)
            price = rng.randrange(10000, 20000, 10)
            batch.append(
                {
                    "code": code,
                    "close": price,
                    "base": 15000,
                    "volume": int(measuring),
                    "cumulativeVolume": 1,
                    "dt": stamp,
                }
            )
            if measuring:
                measured.append(code)
        client.publish("stock:ticks", json.dumps(batch))
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    client.close()
    return measured


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))] * 1000 if values else float("nan")


def measure(variant, port, daphne_pid, redis_url, n_clients, args, tmp: Path) -> dict:
    codes = universe(args.universe)
    rng = random.Random(n_clients)
    subscriptions = [
        {"codes": rng.sample(codes, args.codes_per_client), "probe": index % args.probe_every == 0}
        for index in range(n_clients)
    ]
    probe_subscribers: dict[str, int] = {}  # per code: how many probes follow it
    for client in subscriptions:
        for code in client["codes"] if client["probe"] else ():
            probe_subscribers[code] = probe_subscribers.get(code, 0) + 1
    procs = []
    share = -(-n_clients // args.client_procs)
    for index in range(0, n_clients, share):
        spec = tmp / f"clients-{variant}-{n_clients}-{index}.json"
        spec.write_text(json.dumps(subscriptions[index : index + share]))
        procs.append(
            subprocess.Popen(
                [PYTHON, __file__, "--role", "client", "--url", f"ws://{HOST}:{port}/ws/prices/", "--spec", str(spec)]
                + (["--batch"] if variant.endswith("+batch") else []),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for proc in procs:
            line = proc.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError(f"a client process failed before subscribing ({line!r})")
        time.sleep(0.5)
        server_cpu = cpu_seconds(daphne_pid)
        started = time.monotonic()
        measured = publisher(redis_url, codes, args.rate, args.batch_ms, args.warmup, args.duration)
        time.sleep(1.0)  # let the last ticks drain
        server_cpu = (cpu_seconds(daphne_pid) - server_cpu) / (time.monotonic() - started)
        latencies: list[float] = []
        client_cpu = 0.0
        sink_bytes = 0
        for proc in procs:
            proc.stdin.write("STOP\n")
            proc.stdin.flush()
        for proc in procs:
            result = json.loads(proc.stdout.readline())
            latencies.extend(result["latencies"])
            client_cpu += result["cpu"]
            sink_bytes += result["sink_bytes"]
            proc.wait(timeout=30)
    finally:
        for proc in procs:
            stop(proc)
    latencies.sort()
    expected = sum(probe_subscribers.get(code, 0) for code in measured)
    return {
        "variant": variant,
        "clients": n_clients,
        "probes": sum(client["probe"] for client in subscriptions),
        "p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,  # None: nothing arrived in time
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "delivered_pct": round(100 * len(latencies) / expected, 1) if expected else 0.0,
        "probe_msgs_per_s": round(len(latencies) / args.duration),
        "sink_mb_per_s": round(sink_bytes / (args.warmup + args.duration + 1.0) / 1e6, 2),
        "server_cpu_pct": round(100 * server_cpu),
        "clients_cpu_pct": round(100 * client_cpu / (args.warmup + args.duration + 1.0)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="100,500,1000", help="comma-separated client counts")
    parser.add_argument(
        "--variants", default=DEFAULT_VARIANTS, help="comma-separated modes, +batch for batching sockets"
    )
    parser.add_argument("--codes-per-client", type=int, default=20)
    parser.add_argument("--universe", type=int, default=200, help="distinct codes ticks are spread over")
    parser.add_argument("--rate", type=float, default=500, help="ticks per second")
    parser.add_argument("--batch-ms", type=float, default=10, help="one stock:ticks message per this many ms")
    parser.add_argument("--duration", type=float, default=10, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--probe-every", type=int, default=10, help="every n-th client times its ticks")
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--batch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "client":
        asyncio.run(client_role(args.url, json.loads(Path(args.spec).read_text()), args.batch))
        return 0

    counts = [int(n) for n in args.clients.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    modes = list(dict.fromkeys(v.removesuffix("+batch") for v in variants))
    if any(n > MAX_CLIENTS or n < 1 for n in counts) or any(m not in MODES for m in modes):
        parser.error(f"client counts are 1..{MAX_CLIENTS}; modes are {', '.join(MODES)} (+batch)")
    if args.codes_per_client > min(args.universe, 200):
        parser.error("--codes-per-client must not exceed --universe or the server's 200 per socket")
    if not shutil.which("redis-server"):
        parser.error("needs redis-server on PATH (apt-get install redis-server)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # finally-blocks stop what we started
    procs: list[subprocess.Popen] = []
    tmp = Path(tempfile.mkdtemp(prefix="stocking-wsbench-"))
    try:
        redis_port = free_port()
        redis_log = tmp / "redis.log"
        with open(redis_log, "wb") as log:
            redis_proc = subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--bind", HOST, "--save", "", "--appendonly", "no"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(redis_proc)
        wait_for_port(redis_port, redis_proc, redis_log)
        redis_url = f"redis://{HOST}:{redis_port}/0"
        base_env = {
            **os.environ,
            "DEBUG": "false",
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
        }
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env={**base_env, "DJANGO_SETTINGS_MODULE": "stocking.settings.development"},
            check=True,
        )
        servers = {}
        for mode in modes:
            port = free_port()
            log_path = tmp / f"daphne-{mode}.log"
            env = {**base_env, "DJANGO_SETTINGS_MODULE": write_settings(tmp, mode)}
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [PYTHON, "-m", "daphne", "-v", "0", "-b", HOST, "-p", str(port), "stocking.asgi:application"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            procs.append(proc)
            wait_for_port(port, proc, log_path)
            servers[mode] = (port, proc.pid)

        print(
            f"{args.rate:g} ticks/s in batches every {args.batch_ms:g} ms over {args.universe} codes; "
            f"{args.codes_per_client} codes per client; {args.duration:g} s measured after {args.warmup:g} s warm-up; "
            f"{os.cpu_count()} CPUs shared by server, clients ({args.client_procs} processes), publisher and Redis",
            flush=True,
        )
        header = (
            f"{'clients':>7}  {'variant':<13}{'p50 ms':>8}{'p99 ms':>9}{'max ms':>9}{'delivered':>10}"
            f"{'sink MB/s':>10}{'server CPU':>11}{'clients CPU':>12}"
        )
        print(header, flush=True)
        results = []
        for n_clients in counts:
            for variant in variants:
                port, pid = servers[variant.removesuffix("+batch")]
                row = measure(variant, port, pid, redis_url, n_clients, args, tmp)
                results.append(row)
                shown = {key: "-" if value is None else value for key, value in row.items()}
                print(
                    f"{shown['clients']:>7}  {shown['variant']:<13}{shown['p50_ms']:>8}{shown['p99_ms']:>9}"
                    f"{shown['max_ms']:>9}{shown['delivered_pct']:>9}%{shown['sink_mb_per_s']:>10}"
                    f"{shown['server_cpu_pct']:>10}%{shown['clients_cpu_pct']:>11}%",
                    flush=True,
                )
        print(json.dumps({"rate": args.rate, "universe": args.universe, "results": results}))
    except BaseException:
        for log_path in sorted(tmp.glob("daphne-*.log")):
            print(f"--- {log_path.name} (last lines)\n{log_path.read_text()[-2000:]}", file=sys.stderr)
        raise
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
