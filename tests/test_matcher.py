import json
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
