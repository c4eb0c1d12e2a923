import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.db import connection

from kernel.hubs import RetryPolicy, SubscriptionLoop
from marketdata.prices import ticks_from_message, trade_from_tick
from tests.factories import StockFactory, UserFactory, open_account_for
from trading.matcher import HEALTH_KEY, Matcher, parse_ticks
from trading.models import Order
from trading.services import OrderRequest, order_place

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_parse_ticks_takes_one_tick_or_a_batch_and_counts_the_bad_ones():
    assert parse_ticks(json.dumps({"code": "A005930", "close": 70000, "volume": 3})) == (
        [("A005930", Decimal(70000), 3)],
        0,
    )
    batch = [{"code": "A005930", "close": "70000"}, {"code": "5930", "close": 1}, {"close": 5}, {"code": "A000660"},
             {"code": "A000660", "close": -1}, {"code": "A000660", "close": True}, "nope",
             {"code": "A000660", "close": "NaN"}, {"code": "A000660", "close": "Infinity"}]  # fmt: skip
    ticks, malformed = parse_ticks(json.dumps(batch))
    assert ticks == [("A005930", Decimal(70000), None)]
    assert malformed == 8
    assert parse_ticks(b"{not json") == ([], 1)


def test_offer_conflates_to_the_newest_price_per_stock():
    matcher = Matcher(redis_url="redis://127.0.0.1:6379/13")
    for price in (100, 101, 102):
        matcher.offer(json.dumps({"code": "A005930", "close": price}))
    matcher.offer(json.dumps({"code": "A000660", "close": 5}))
    assert matcher._latest == {"A005930": (Decimal(102), None), "A000660": (Decimal(5), None)}
    assert matcher.stats.conflated == 2


@pytest.fixture
def resting_buy(transactional_db, store_price):
    stock = StockFactory(code="A005930", name="삼성전자")
    store_price("A005930", 70_000, base=70_000)
    user = UserFactory()
    open_account_for(user)
    order, _ = order_place(
        user=user, request=OrderRequest("A005930", "BUY", "LIMIT", quantity=3, limit_price=Decimal(69_000))
    )
    return stock, order


def run_matcher_thread(redis_url):
    matcher = Matcher(redis_url=redis_url)

    def run():
        try:
            matcher.run()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert wait_for(lambda: matcher.stats.state == "running")
    return matcher, thread


@pytest.mark.django_db(transaction=True)
def test_the_matcher_fills_a_resting_order_from_a_published_tick_and_skips_bad_messages(resting_buy, settings):
    _, order = resting_buy
    matcher, thread = run_matcher_thread(settings.REDIS_URL)
    publisher = redis.Redis.from_url(settings.REDIS_URL)
    try:
        publisher.publish("stock:ticks", b"garbage")
        publisher.publish("stock:ticks", json.dumps([{"code": "A005930", "close": 69_500}]))  # not crossing
        publisher.publish("stock:ticks", json.dumps({"code": "A005930", "close": 68_900, "volume": 10}))
        assert wait_for(lambda: Order.objects.get(pk=order.pk).status == "FILLED")
        assert Order.objects.get(pk=order.pk).average_fill_price == 68_900
        assert matcher.stats.malformed == 1
    finally:
        matcher.stop.set()
        thread.join(timeout=10)
    health = json.loads(publisher.get(HEALTH_KEY))
    assert health["state"] == "stopped"
    assert health["fills"] == 1


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_the_matcher_survives_a_redis_restart(resting_buy, tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server binary not on PATH: cannot restart a private Redis")
    _, order = resting_buy
    port = _free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp_path)]  # fmt: skip
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    assert wait_for(lambda: _ping(client))
    matcher, thread = run_matcher_thread(url)
    try:
        server.terminate()
        server.wait(timeout=10)
        assert wait_for(lambda: matcher.stats.reconnects >= 1)
        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        assert wait_for(lambda: _ping(client))
        assert wait_for(lambda: matcher.stats.state == "running", timeout=20)
        assert wait_for(lambda: client.publish("stock:ticks", json.dumps({"code": "A005930", "close": 68_000})) > 0)
        assert wait_for(lambda: Order.objects.get(pk=order.pk).status == "FILLED")
    finally:
        matcher.stop.set()
        thread.join(timeout=15)
        server.terminate()
        server.wait(timeout=10)


def _ping(client):
    try:
        return client.ping()
    except redis.RedisError:
        return False


@pytest.mark.django_db(transaction=True)
def test_run_matcher_exits_0_on_sigterm(resting_buy, settings):
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = f"mysql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL,
           "DJANGO_SETTINGS_MODULE": "stocking.settings.development",
           "MATCHER_HEALTH_INTERVAL_SECONDS": "0.2"}  # fmt: skip
    process = subprocess.Popen([sys.executable, "manage.py", "run_matcher"], cwd=ROOT, env=env)
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        assert wait_for(lambda: client.get(HEALTH_KEY) is not None, timeout=20)
        assert wait_for(lambda: client.publish("stock:ticks", json.dumps({"code": "A005930", "close": 68_000})) > 0)
        _, order = resting_buy
        assert wait_for(lambda: Order.objects.get(pk=order.pk).status == "FILLED")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert json.loads(client.get(HEALTH_KEY))["state"] == "stopped"


# --- the one retry policy every Redis subscription uses (kernel.hubs) -------------------------


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_retry_policy_doubles_up_to_its_cap_with_jitter_and_resets_only_after_a_healthy_period():
    clock = _Clock()
    policy = RetryPolicy("test", start=1.0, cap=8.0, healthy_seconds=30.0, clock=clock)
    delays = [policy.failed(OSError("down")) for _ in range(6)]
    for delay, ceiling in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    policy.succeeded()
    clock.now += 5  # back, but only briefly: a flapping server keeps the backoff high
    assert policy.failed(OSError("down again")) >= 4.0
    policy.succeeded()
    clock.now += 31  # healthy long enough: the next outage starts from the bottom
    assert policy.failed(OSError("down once more")) <= 1.0


def test_the_retry_policy_logs_once_per_outage(caplog):
    policy = RetryPolicy("prices feed", start=0.01, cap=0.02)
    with caplog.at_level(logging.INFO, logger="kernel.hubs"):
        for _ in range(20):
            policy.failed(redis.ConnectionError("refused"))
        policy.succeeded()
        policy.succeeded()
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "prices feed: subscription lost (refused); retrying with backoff",
        lines[1],
    ]
    assert lines[1].startswith("prices feed: subscribed again after ")
    assert lines[1].endswith("(20 attempts)")
    assert policy.outages == 1


def test_a_sync_subscription_backs_off_while_redis_is_unreachable_and_recovers_when_it_opens(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server binary not on PATH")
    port = _free_port()  # nothing listens there yet
    url = f"redis://127.0.0.1:{port}/0"
    delays, received, subscribed = [], [], threading.Event()
    policy = RetryPolicy("test subscription", start=0.05, cap=0.4)
    failed = policy.failed

    def record_failure(exc):
        delays.append(failed(exc))
        return delays[-1]

    policy.failed = record_failure
    stop = threading.Event()
    loop = SubscriptionLoop(
        redis_url=url,
        channels=["test:retry"],
        handle=received.append,
        stop=stop,
        name="test subscription",
        poll_seconds=0.1,
        on_subscribed=subscribed.set,
        retry=policy,
    )
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    server = None
    try:
        assert wait_for(lambda: len(delays) >= 5, timeout=10)
        assert not subscribed.is_set()
        assert delays[4] > delays[0]  # backing off, not hammering
        assert max(delays) <= 0.4
        server = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        assert subscribed.wait(10)
        assert not policy.in_outage
        client = redis.Redis.from_url(url)
        assert client.publish("test:retry", b"after the outage") == 1
        assert wait_for(lambda: received == [b"after the outage"])
        client.close()
    finally:
        stop.set()
        thread.join(5)
        if server is not None:
            server.terminate()
            server.wait(10)
    assert policy.outages == 1


INDEX_VALUE = {"code": "KOSPI", "kind": "index", "source": "simulator", "close": 2650.12, "base": 2647.33, "dt": "t"}


def test_the_matcher_ignores_index_values_without_counting_them_as_malformed():
    matcher = Matcher(redis_url="redis://127.0.0.1:6379/13")
    matcher.offer(json.dumps([INDEX_VALUE, {"code": "A005930", "close": 70000}, {**INDEX_VALUE, "code": "KOSDAQ"}]))
    assert matcher._latest == {"A005930": (Decimal(70000), None)}
    assert (matcher.stats.ticks_received, matcher.stats.malformed) == (1, 0)
    matcher.offer(json.dumps(INDEX_VALUE))
    assert (matcher.stats.ticks_received, matcher.stats.malformed) == (1, 0)


def test_an_index_value_is_never_a_trade_even_with_a_stock_like_code():
    # Candles and matching both read trades through trade_from_tick.
    assert trade_from_tick({**INDEX_VALUE, "code": "A005930"}) is None
    assert ticks_from_message(json.dumps([INDEX_VALUE])) == ([], 0)
    assert ticks_from_message(json.dumps([INDEX_VALUE]), indices=True) == ([INDEX_VALUE], 0)
