"""Scale-out on one machine (docs/deploy.md): nginx (deploy/nginx.conf) in front of two web and two ws processes,
the relay replaying a tick file, the matcher, all on the MariaDB test database and one Redis database.

Every process runs its Procfile line unchanged (only the port variables differ). The client talks to nginx only;
`/pin/web2/...` and `/pin/ws1/...` are extra locations of the test's copy of the config, so it can say which
process a request reaches: an order placed through web 2 fills on the account socket held by ws 1.
"""

import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from kernel.consumers import SOCKET_SLOTS_PREFIX
from portfolio.models import Account
from tests.factories import StockFactory, UserFactory, open_account_for
from tests.test_standby import database_url
from trading.matcher import HEALTH_KEY as MATCHER_HEALTH_KEY

ROOT = Path(__file__).resolve().parent.parent
CODE = "AS8C1X1"  # a code no other suite publishes: pub/sub channels are server-wide
FIRST_PRICE, PRICE_STEP, TICKS_PER_SECOND = 50_000, 100, 10  # the replay climbs one KRX tick every 0.1 s
ORIGIN = "http://127.0.0.1"
# The test's nginx talks to the upstreams from this address, so a ws process that ignored X-Forwarded-For
# would see every client as 127.0.0.2 (the client itself connects from 127.0.0.1).
PROXY_ADDRESS = "127.0.0.2"

pytestmark = [pytest.mark.slow, pytest.mark.mariadb, pytest.mark.django_db(transaction=True), pytest.mark.timeout(150)]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def render_nginx_conf(*, port: int, web_ports: list[int], ws_ports: list[int], prefix: Path) -> str:
    """deploy/nginx.conf with local upstreams, plain HTTP on `port`, paths in `prefix` and the pinned locations."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()

    def sub(pattern, replacement, flags=0):
        nonlocal text
        text, count = re.subn(pattern, replacement, text, flags=flags)
        assert count >= 1, f"deploy/nginx.conf no longer has {pattern!r}"

    def servers(ports):
        return "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in ports)

    sub(r"(upstream stocking_web \{\n)(?:\s*server [^\n]*\n)+", lambda m: m[1] + servers(web_ports))
    sub(r"(upstream stocking_ws \{\n)(?:\s*server [^\n]*\n)+", lambda m: m[1] + servers(ws_ports))
    sub(r"\n\s*server \{[^{}]*return 301[^{}]*\}\n", "\n")  # no TLS here: the HTTPS redirect goes
    sub(r"listen 443 ssl;", f"listen 127.0.0.1:{port};")
    sub(r"\n\s*ssl_[a-z_]+ [^\n]*;", "")
    temp = "".join(
        f"    {kind}_temp_path {prefix / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    sub(r"http \{\n", lambda m: m[0] + temp + f"    proxy_bind {PROXY_ADDRESS};\n")

    # Pinned locations: the shipped location bodies, each with one upstream process.
    ws_body = re.search(r"location /ws/ \{(.*?)\n        \}", text, re.S)[1]
    web_body = re.search(r"location / \{(.*?)\n        \}", text, re.S)[1]
    pins = []
    for i, p in enumerate(ws_ports, 1):
        body = re.sub(r"proxy_pass [^;]+;", f"proxy_pass http://127.0.0.1:{p}/ws/;", ws_body)
        pins.append(f"        location /pin/ws{i}/ws/ {{{body}\n        }}\n")
    for i, p in enumerate(web_ports, 1):
        body = re.sub(r"proxy_pass [^;]+;", f"proxy_pass http://127.0.0.1:{p}/;", web_body)
        pins.append(f"        location /pin/web{i}/ {{{body}\n        }}\n")
    sub(rf"listen 127.0.0.1:{port};\n", lambda m: m[0] + "".join(pins))
    return text


class Cluster:
    def __init__(self, tmp_path: Path, redis_url: str):
        self.tmp_path, self.redis_url = tmp_path, redis_url
        self.processes: dict[str, subprocess.Popen] = {}
        self.sockets: list = []  # client sockets the test opened, closed however it ends
        self.port = free_port()

    def env(self, **extra) -> dict:
        venv_bin = str(Path(sys.executable).parent)
        return {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "DATABASE_URL": database_url(),
                "REDIS_URL": self.redis_url, "DJANGO_SETTINGS_MODULE": "stocking.settings.test",
                "PYTHONUNBUFFERED": "1", **extra}  # fmt: skip

    def start(self, name: str, command: list[str], **env) -> subprocess.Popen:
        with open(self.tmp_path / f"{name}.log", "w") as log:
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=self.env(**env), stdout=log, stderr=subprocess.STDOUT
            )
        return self.processes[name]

    def start_procfile(self, name: str, role: str, **env) -> subprocess.Popen:
        # `exec`: the Procfile's process itself is the child, so SIGKILL reaches it and not a shell.
        return self.start(name, ["sh", "-c", "exec " + procfile()[role]], **env)

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text()

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in self.processes)

    def url(self, path: str, scheme="http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def cluster(transactional_db, tmp_path, settings):
    if connection.vendor != "mysql":
        pytest.skip("the scale-out runs on MariaDB: processes share the database, which SQLite serialises on a file")
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("needs Debian's nginx (`apt-get install nginx`, as .ci/run does)")
    StockFactory(code=CODE, name="스케일 테스트")
    ticks = tmp_path / "ticks.jsonl"
    ticks.write_text("".join(
        json.dumps({"code": CODE, "close": FIRST_PRICE + PRICE_STEP * i, "base": FIRST_PRICE, "volume": 10,
                    "received_at": 1_770_000_000 + i / TICKS_PER_SECOND}) + "\n"
        for i in range(1500)
    ))  # fmt: skip
    c = Cluster(tmp_path, settings.REDIS_URL)
    web_ports, ws_ports = [free_port(), free_port()], [free_port(), free_port()]
    try:
        for i, p in enumerate(web_ports, 1):
            c.start_procfile(f"web{i}", "web", PORT=str(p), WEB_CONCURRENCY="1")
        for i, p in enumerate(ws_ports, 1):
            c.start_procfile(f"ws{i}", "ws", WS_PORT=str(p))
        c.start_procfile("relay", "relay", MARKETDATA_SOURCE=f"replay:{ticks}", REPLAY_SPEED="1",
                         RELAY_RECORD_CANDLES="false", RELAY_HEALTH_INTERVAL_SECONDS="0.3")  # fmt: skip
        c.start_procfile("matcher", "matcher", MATCHER_HEALTH_INTERVAL_SECONDS="0.3")
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx_conf(port=c.port, web_ports=web_ports, ws_ports=ws_ports, prefix=prefix))
        # As root, nginx's workers would drop to `nobody`, who cannot write the temporary folders here.
        user = "user root; " if os.geteuid() == 0 else ""
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        c.start("nginx", [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
                          "-g", f"{user}daemon off; pid {prefix / 'nginx.pid'};"])  # fmt: skip
        c.ports = {"web": web_ports, "ws": ws_ports}
        everything = [c.port, *web_ports, *ws_ports]
        assert wait_for(
            lambda: all(map(listening, everything)) or any(p.poll() is not None for p in c.processes.values()),
            timeout=60,
        ), c.logs()
        assert all(p.poll() is None for p in c.processes.values()), c.logs()
        yield c
    finally:
        c.stop()


# --- helpers -----------------------------------------------------------------------------------


def request(cluster, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=15)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept-Language": "en"}
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def market_buy(cluster, token: str, via: str = "") -> dict:
    status, body = request(cluster, "POST", f"{via}/api/v1/trading/orders", token,
                           {"stock_code": CODE, "side": "BUY", "type": "MARKET", "quantity": 1})  # fmt: skip
    assert status == 201, (status, body)
    return body


class AccountSocket:
    """An /ws/account/ client that keeps every event it receives, in arrival order."""

    def __init__(self, ws):
        self.ws = ws
        self.events: list[dict] = []

    @classmethod
    async def open(cls, cluster, path: str, token: str) -> tuple["AccountSocket", dict]:
        ws = await connect(cluster.url(path, "ws"), origin=ORIGIN, open_timeout=10)
        cluster.sockets.append(ws)
        await ws.send(json.dumps({"action": "authenticate", "token": token}))
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello", hello
        return cls(ws), hello

    async def next_message(self, timeout=10.0) -> dict:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if message.get("type") == "event":
            self.events.append(message)
        return message

    async def until(self, predicate, timeout=10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = await self.next_message(max(0.01, deadline - time.monotonic()))
            if predicate(message):
                return message


def filled(order_id: int):
    return lambda m: m.get("event") == "order.filled" and m["data"]["order_id"] == order_id


async def price_ticks(cluster, path: str, seconds: float) -> list[int]:
    async with connect(cluster.url(path, "ws"), origin=ORIGIN, open_timeout=10) as ws:
        await ws.send(json.dumps({"action": "subscribe", "codes": [CODE]}))
        prices: list[int] = []
        deadline = time.monotonic() + seconds
        with contextlib.suppress(TimeoutError):
            while (remaining := deadline - time.monotonic()) > 0:
                message = json.loads(await asyncio.wait_for(ws.recv(), remaining))
                is_ours = message.get("type") == "tick" and message["code"] == CODE
                # the stored price sent on subscribe may repeat the next live tick
                if is_ours and (not prices or prices[-1] != message["price"]):
                    prices.append(message["price"])
        return prices


def requests_per_second(port: int, path: str, token: str, *, seconds=2.0, clients=4) -> float:
    """GET `path` over keep-alive connections from `clients` threads for `seconds`; completed requests per second."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def run(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


# --- the test ----------------------------------------------------------------------------------


async def test_two_web_and_two_ws_processes_behind_nginx_share_fills_and_ticks_and_survive_a_ws_sigkill(
    cluster, redis_client
):
    user = await sync_to_async(UserFactory)()
    await sync_to_async(open_account_for)(user)
    token = str(AccessToken.for_user(user))
    assert await asyncio.to_thread(wait_for, lambda: redis_client.get(f"stock:realtime:{CODE}")), cluster.logs()
    assert await asyncio.to_thread(wait_for, lambda: redis_client.get(MATCHER_HEALTH_KEY)), cluster.log("matcher")

    # Ticks: a /ws/prices/ client on each ws process sees the same ticks, none missing.
    on_ws1, on_ws2 = await asyncio.gather(
        price_ticks(cluster, "/pin/ws1/ws/prices/", 3.0), price_ticks(cluster, "/pin/ws2/ws/prices/", 3.0)
    )
    low, high = max(on_ws1[0], on_ws2[0]), min(on_ws1[-1], on_ws2[-1])
    common = list(range(low, high + PRICE_STEP, PRICE_STEP))
    assert len(common) >= 5, (on_ws1, on_ws2)  # 10 ticks/s; connecting may take a loaded machine a while
    assert [p for p in on_ws1 if low <= p <= high] == common
    assert [p for p in on_ws2 if low <= p <= high] == common

    try:
        # Fills: placed through web 2, received on an account socket held by ws 1.
        account, hello = await AccountSocket.open(cluster, "/pin/ws1/ws/account/", token)
        assert hello["last_seq"] == 0
        slots = redis_client.keys(f"{SOCKET_SLOTS_PREFIX}addr:*")
        assert slots == [f"{SOCKET_SLOTS_PREFIX}addr:127.0.0.1"], slots  # ws saw the client, not the proxy
        latencies, placing = [], []
        for _ in range(15):
            started = time.perf_counter()
            order = await asyncio.to_thread(market_buy, cluster, token, "/pin/web2")
            placing.append(time.perf_counter() - started)
            await account.until(filled(order["id"]))
            latencies.append(time.perf_counter() - started)

        # The matcher (its own process) fills a resting limit sell once the replayed price climbs to it.
        price = int(json.loads(redis_client.get(f"stock:realtime:{CODE}"))["close"])
        ahead = 30 * PRICE_STEP  # 3 s of replay: still resting when placed, even on a loaded machine
        status, resting = await asyncio.to_thread(
            request, cluster, "POST", "/pin/web1/api/v1/trading/orders", token,
            {"stock_code": CODE, "side": "SELL", "type": "LIMIT", "quantity": 1, "limit_price": price + ahead},
        )  # fmt: skip
        assert status == 201, resting
        assert resting["status"] == "OPEN", resting
        matched = await account.until(filled(resting["id"]), timeout=15)
        assert matched["data"]["execution"]["price"] >= price + ahead

        # SIGKILL ws 1: its sockets drop; orders placed meanwhile are caught up by resume through nginx, on ws 2.
        cluster.processes["ws1"].send_signal(signal.SIGKILL)
        cluster.processes["ws1"].wait(10)
        with pytest.raises(ConnectionClosed):
            await account.until(lambda m: False)  # whatever was in flight, then the close
        last_seen = account.events[-1]["seq"]
        for _ in range(5):
            await asyncio.to_thread(market_buy, cluster, token)  # through nginx's pool of web processes
        killed_at = time.perf_counter()
        resumed, hello = await AccountSocket.open(cluster, "/ws/account/", token)  # nginx's pool: ws 2 is what is left
        reconnect = time.perf_counter() - killed_at
        assert hello["last_seq"] == last_seen + 10
        resumed.events = account.events
        await resumed.ws.send(json.dumps({"action": "resume", "after_seq": last_seen}))
        done = await resumed.until(lambda m: m.get("type") == "resumed")
        assert (done["count"], done["more"]) == (10, False)
        for _ in range(3):  # and live again
            order = await asyncio.to_thread(market_buy, cluster, token)
            await resumed.until(filled(order["id"]))
        await resumed.ws.close()
        on_survivor = await price_ticks(cluster, "/ws/prices/", 1.0)
        assert len(on_survivor) >= 5

        final_seq = (await sync_to_async(Account.objects.get)(user=user, is_open=True)).last_event_seq
        seqs = [event["seq"] for event in resumed.events]
        assert seqs == list(range(1, final_seq + 1))  # every account event exactly once, in order
        assert final_seq == 2 * (15 + 5 + 3) + 2  # accepted + filled per market buy, and for the limit sell
        assert cluster.processes["ws1"].poll() is not None
        assert all(p.poll() is None for n, p in cluster.processes.items() if n != "ws1"), cluster.logs()

    finally:
        for ws in cluster.sockets:
            await ws.close()

    # What a deployment would want to know (docs/deploy.md): delivery latency and proxy overhead.
    me = "/api/v1/auth/me"
    direct = await asyncio.to_thread(requests_per_second, cluster.ports["web"][0], me, token)
    proxied_one = await asyncio.to_thread(requests_per_second, cluster.port, "/pin/web1" + me, token)
    proxied = await asyncio.to_thread(requests_per_second, cluster.port, me, token)
    print(
        f"\nscale-out: fill on the other ws process, POST→order.filled median "
        f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
        f"(POST alone median {statistics.median(placing) * 1000:.1f} ms); reconnect+hello after SIGKILL "
        f"{reconnect * 1000:.0f} ms; GET auth/me, 4 clients, 1 gunicorn worker per web: direct to one web "
        f"{direct:.0f}/s, through nginx to that one {proxied_one:.0f}/s, through nginx to both {proxied:.0f}/s"
    )
