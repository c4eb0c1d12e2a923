"""A standby `run_relay` / `run_matcher` takes over within seconds when the active one dies, and never acts while
it waits (docs/deploy.md). Real processes, real Redis, the test database; the leader is killed with SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.db import connection

from kernel.leader import LOCK_TTL_SECONDS, Leadership
from marketdata.relay import keys as relay_keys
from marketdata.topics import trade_topic
from tests.factories import StockFactory, UserFactory, open_account_for
from tests.relay.stomp_server import FakeStompServer
from trading.matcher import HEALTH_KEY, LEADER_KEY, STANDBY_HEALTH_KEY
from trading.models import Execution, Order
from trading.services import OrderRequest, order_place

ROOT = Path(__file__).resolve().parent.parent
# A code no other suite publishes: pub/sub channels are server-wide, other runs publish on stock:ticks too.
CODE = "AQ7X9Z1"
RELAY_CODES = ["AQ7X9Z2", "AQ7X9Z3", "AQ7X9Z4"]


def wait_for(predicate, timeout=20.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"mysql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


@pytest.fixture
def start_matcher(settings, tmp_path):
    processes = []

    def start() -> tuple[subprocess.Popen, Path]:
        log_path = tmp_path / f"matcher-{len(processes)}.log"
        env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
               "DJANGO_SETTINGS_MODULE": "stocking.settings.development", "MATCHER_HEALTH_INTERVAL_SECONDS": "0.2",
               "PYTHONUNBUFFERED": "1"}  # fmt: skip
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "run_matcher"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        processes.append(process)
        return process, log_path

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.fixture
def resting_buy(transactional_db, store_price):
    StockFactory(code=CODE, name="대기 테스트")
    store_price(CODE, 70_000, base=70_000)
    user = UserFactory()
    open_account_for(user)
    order, _ = order_place(
        user=user, request=OrderRequest(CODE, "BUY", "LIMIT", quantity=3, limit_price=Decimal(69_000))
    )
    return order


def _record(client, key) -> dict:
    payload = client.get(key)
    return json.loads(payload) if payload else {}


def _subscriptions(client, pid) -> int:
    """Channels the matcher process `pid` is subscribed to (its subscription names itself in CLIENT LIST)."""
    return sum(int(c["sub"]) for c in client.client_list(_type="pubsub") if c["name"] == f"matcher:{pid}")


def _leading(client, pid) -> bool:
    record = _record(client, HEALTH_KEY)
    return record.get("pid") == pid and record.get("state") == "running"


@pytest.mark.django_db(transaction=True)
def test_a_standby_matcher_takes_over_after_sigkill_once_the_lock_lapses_and_fills_exactly_once(
    resting_buy, start_matcher, redis_client
):
    first, first_log = start_matcher()
    assert wait_for(lambda: _leading(redis_client, first.pid)), first_log.read_text()
    second, second_log = start_matcher()
    assert wait_for(lambda: _record(redis_client, STANDBY_HEALTH_KEY).get("pid") == second.pid), second_log.read_text()
    standby = _record(redis_client, STANDBY_HEALTH_KEY)
    assert standby["state"] == "standby"
    assert standby["leader"] == redis_client.get(LEADER_KEY)
    assert standby["leader"].startswith(f"{first.pid}:")
    time.sleep(1.5)  # several renewals: the standby keeps waiting while the leader lives
    assert _leading(redis_client, first.pid)
    assert _subscriptions(redis_client, first.pid) == 1
    assert _subscriptions(redis_client, second.pid) == 0  # a standby does not even listen

    killed_at = time.monotonic()
    first.send_signal(signal.SIGKILL)
    assert wait_for(lambda: _leading(redis_client, second.pid), timeout=10), second_log.read_text()
    takeover = time.monotonic() - killed_at
    print(f"matcher takeover after SIGKILL: {takeover:.2f} s")
    assert takeover < 5.0
    # Renewed every second, the dead leader's lease had about TTL-1 s to TTL left (a slack half second for
    # a loaded machine): a standby that took over sooner would have risked two matchers at once.
    assert takeover >= LOCK_TTL_SECONDS - 1.5

    assert _subscriptions(redis_client, second.pid) == 1
    redis_client.publish("stock:ticks", json.dumps([{"code": CODE, "close": 68_000, "volume": 5}]))
    assert wait_for(lambda: Order.objects.get(pk=resting_buy.pk).status == "FILLED"), second_log.read_text()
    time.sleep(0.5)
    assert Execution.objects.filter(order=resting_buy).count() == 1
    assert Order.objects.get(pk=resting_buy.pk).filled_quantity == 3

    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0
    assert redis_client.get(LEADER_KEY) is None  # released on a clean stop


@pytest.mark.django_db(transaction=True)
def test_a_clean_stop_releases_the_lock_and_the_standby_takes_over_at_once(start_matcher, redis_client):
    first, first_log = start_matcher()
    assert wait_for(lambda: _leading(redis_client, first.pid)), first_log.read_text()
    second, second_log = start_matcher()
    assert wait_for(lambda: _record(redis_client, STANDBY_HEALTH_KEY).get("pid") == second.pid)

    first.send_signal(signal.SIGTERM)
    # Watch the lock change hands: a released lock goes while its lease still has most of its TTL left,
    # a lapsed one only when its PTTL reaches 0.
    last_pttl_of_first, deadline = None, time.monotonic() + 20
    while time.monotonic() < deadline:
        holder, pttl = redis_client.pipeline().get(LEADER_KEY).pttl(LEADER_KEY).execute()
        if holder and holder.startswith(f"{first.pid}:"):
            last_pttl_of_first = pttl
        elif holder and holder.startswith(f"{second.pid}:"):
            break
        time.sleep(0.01)
    else:
        pytest.fail("the standby never took the lock:\n" + second_log.read_text())
    assert first.wait(timeout=20) == 0, first_log.read_text()
    assert last_pttl_of_first > 1000  # released by compare-and-delete, not left to lapse
    assert wait_for(lambda: _leading(redis_client, second.pid), timeout=10), second_log.read_text()


def test_only_one_of_two_contenders_leads_and_a_lapsed_lock_is_never_released_by_its_old_holder(settings):
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    stop = threading.Event()
    first = Leadership(client, "test:leader", stop=stop, ttl_seconds=1.0, renew_seconds=0.2)
    second = Leadership(client, "test:leader", stop=stop, ttl_seconds=1.0, renew_seconds=0.2)
    assert first.wait()
    won = threading.Event()
    waiter = threading.Thread(target=lambda: second.wait() and won.set(), daemon=True)
    waiter.start()
    try:
        assert not won.wait(1.5)  # renewed every 0.2 s: the second keeps waiting
        assert first.held()
        client.set("test:leader", "someone-else", xx=True)  # as if our lease had lapsed and another took it
        assert wait_for(lambda: first.term.is_set(), timeout=3)
        assert first.lost
        assert not first.held()
        first.end()
        assert client.get("test:leader") == "someone-else"  # compare-and-delete left the other's lock alone
        client.delete("test:leader")
        assert won.wait(3)
        assert second.held()
    finally:
        stop.set()
        waiter.join(5)
        second.end()
        client.close()


# --- relay ---------------------------------------------------------------------------------------


@pytest.fixture
def stomp_server():
    server = FakeStompServer(heartbeat=(200, 200)).start()
    yield server
    server.stop()


@pytest.fixture
def start_relay(settings, tmp_path, stomp_server):
    processes = []

    def start(**overrides) -> tuple[subprocess.Popen, Path]:
        log_path = tmp_path / f"relay-{len(processes)}.log"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "stocking.settings.test", "REDIS_URL": settings.REDIS_URL,
               "MARKETDATA_SOURCE": "toss", "TOSS_WS_URL": stomp_server.url,
               "TOSS_WS_HEADERS": json.dumps({"authorization": "standby-test"}),
               "TOSS_SUBSCRIBE_ACTIVE_STOCKS": "false", "TOSS_HEARTBEAT_MS": "200,200",
               "RELAY_RECORD_CANDLES": "false", "RELAY_HEALTH_INTERVAL_SECONDS": "0.3",
               "RELAY_POLL_SECONDS": "0.05", "RELAY_BACKOFF_BASE_SECONDS": "0.1", "PYTHONUNBUFFERED": "1",
               # no database here: live indices read the stock master, which these relays do not need
               "RELAY_INDICES": "false", **overrides}  # fmt: skip
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "run_relay"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        processes.append(process)
        return process, log_path

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def _sessions_subscribed_to_all(server, topics) -> list[int]:
    sessions = {frame.session for frame in server.frames("SUBSCRIBE")}
    return sorted(session for session in sessions if server.subscribed_destinations(session) >= set(topics))


class TickCollector:
    """Every tick of our codes published on stock:ticks, as (code, close)."""

    def __init__(self, url):
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(relay_keys.TICKS_CHANNEL)
        self.seen: list[tuple[str, int]] = []

    def drain(self, seconds: float) -> list[tuple[str, int]]:
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            message = self.pubsub.get_message(timeout=remaining)
            if message is not None:
                batch = json.loads(message["data"])
                for tick in batch if isinstance(batch, list) else [batch]:
                    if tick.get("code") in RELAY_CODES:
                        self.seen.append((tick["code"], tick["close"]))
        return self.seen

    def close(self):
        self.pubsub.close()
        self.client.close()


def test_a_standby_relay_stays_off_the_feed_and_takes_over_every_subscription_after_sigkill(
    start_relay, stomp_server, redis_client, settings
):
    topics = [trade_topic(code) for code in RELAY_CODES]
    redis_client.sadd(relay_keys.SUBSCRIPTIONS_KEY, *topics)
    first, first_log = start_relay()
    assert wait_for(lambda: _sessions_subscribed_to_all(stomp_server, topics)), first_log.read_text()
    assert wait_for(lambda: _record(redis_client, relay_keys.HEALTH_KEY).get("state") == "connected")
    second, second_log = start_relay()
    assert wait_for(lambda: _record(redis_client, relay_keys.STANDBY_HEALTH_KEY).get("pid") == second.pid), (
        second_log.read_text()
    )
    standby = _record(redis_client, relay_keys.STANDBY_HEALTH_KEY)
    assert standby["state"] == "standby"
    assert standby["leader"].startswith(f"{first.pid}:")
    assert standby["subscriptions"] == 3
    collector = TickCollector(settings.REDIS_URL)
    try:
        time.sleep(1.5)  # the standby keeps waiting while the leader renews
        leader = _record(redis_client, relay_keys.HEALTH_KEY)
        assert leader["pid"] == first.pid
        # the standby never connected to the feed: every session is the leader's (a busy machine may reconnect)
        assert stomp_server.sessions_started() == 1 + leader["reconnects"]
        for i, code in enumerate(RELAY_CODES):
            assert stomp_server.publish(trade_topic(code), json.dumps({"code": code, "close": 10_000 + i})) == 1
        assert wait_for(lambda: len(collector.drain(0.1)) >= 3, timeout=10)

        sessions_before_kill = stomp_server.sessions_started()
        killed_at = time.monotonic()
        first.send_signal(signal.SIGKILL)
        assert wait_for(lambda: len(_sessions_subscribed_to_all(stomp_server, topics)) == 2, timeout=10), (
            second_log.read_text()
        )
        takeover = time.monotonic() - killed_at
        print(f"relay takeover after SIGKILL, every topic resubscribed: {takeover:.2f} s")
        assert takeover < 5.0
        assert stomp_server.sessions_started() == sessions_before_kill + 1
        assert wait_for(lambda: _record(redis_client, relay_keys.HEALTH_KEY).get("pid") == second.pid)
        assert _record(redis_client, relay_keys.HEALTH_KEY)["state"] == "connected"

        for i, code in enumerate(RELAY_CODES):
            assert stomp_server.publish(trade_topic(code), json.dumps({"code": code, "close": 20_000 + i})) == 1
        assert wait_for(lambda: len(collector.drain(0.1)) >= 6, timeout=10)
        seen = collector.drain(0.5)
    finally:
        collector.close()
    # Each tick reached stock:ticks once: never two relays on the feed.
    assert sorted(seen) == sorted([(code, 10_000 + i) for i, code in enumerate(RELAY_CODES)] +
                                  [(code, 20_000 + i) for i, code in enumerate(RELAY_CODES)])  # fmt: skip
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0, second_log.read_text()
    assert redis_client.get(relay_keys.LEADER_KEY) is None
    assert set(redis_client.smembers(relay_keys.SUBSCRIPTIONS_KEY)) == set(topics)


def test_two_replaying_relays_publish_each_tick_once_and_the_standby_replays_after_sigkill(
    start_relay, redis_client, settings, tmp_path
):
    code = RELAY_CODES[0]
    path = tmp_path / "ticks.jsonl"
    path.write_text(
        "".join(
            json.dumps({"code": code, "close": 50_000 + i, "received_at": 1_770_000_000 + i / 10}) + "\n"
            for i in range(600)
        )
    )
    collector = TickCollector(settings.REDIS_URL)
    try:
        first, first_log = start_relay(MARKETDATA_SOURCE=f"replay:{path}", REPLAY_SPEED="1")  # 10 ticks a second
        assert wait_for(lambda: _record(redis_client, relay_keys.HEALTH_KEY).get("pid") == first.pid), (
            first_log.read_text()
        )
        second, second_log = start_relay(MARKETDATA_SOURCE=f"replay:{path}", REPLAY_SPEED="1")
        assert wait_for(lambda: _record(redis_client, relay_keys.STANDBY_HEALTH_KEY).get("pid") == second.pid), (
            second_log.read_text()
        )
        before = collector.drain(2.0)
        assert len(before) >= 10, first_log.read_text()
        assert len(set(before)) == len(before)  # two relays replaying would publish every tick twice

        killed_at = time.monotonic()
        first.send_signal(signal.SIGKILL)
        assert wait_for(lambda: _record(redis_client, relay_keys.HEALTH_KEY).get("pid") == second.pid, timeout=10)
        assert time.monotonic() - killed_at < 5.0
        collector.seen.clear()
        after = collector.drain(1.0)
        assert len(after) >= 5, second_log.read_text()
        assert len(set(after)) == len(after)
    finally:
        collector.close()
