import json
import threading
import time
import uuid
from dataclasses import replace

import pytest
import redis as redis_lib
from django.conf import settings

from marketdata.relay.config import RelayConfig
from marketdata.relay.keys import COMMAND_RESULT_KEY, HEALTH_KEY
from marketdata.relay.runner import Relay, RelayStats
from tests.relay.stomp_server import FakeStompServer


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.01, message: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class RelayThread:
    """A Relay running its loop in a background thread, as `manage.py run_relay` runs it in the foreground."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.stop_event = threading.Event()
        self.stats: RelayStats | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="relay-under-test", daemon=True)

    def _run(self) -> None:
        try:
            self.stats = self.relay.run(self.stop_event)
        except BaseException as exc:  # reported by stop(), not lost in the thread
            self.error = exc

    def start(self) -> "RelayThread":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> RelayStats:
        self.stop_event.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "relay did not stop"
        if self.error is not None:
            raise self.error
        return self.stats

    def join(self, timeout: float = 10.0) -> RelayStats:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "relay did not finish"
        if self.error is not None:
            raise self.error
        return self.stats


@pytest.fixture
def relay_config() -> RelayConfig:
    """Fast knobs so faults and backoff play out in milliseconds.

    Channels of its own: pub/sub is server-wide, and other suites may be publishing on stock:ticks.
    """
    run = uuid.uuid4().hex[:12]
    return RelayConfig(
        ticks_channel=f"test-{run}:stock:ticks",
        commands_channel=f"test-{run}:toss_ws_relayer:commands",
        source="toss",
        redis_url=settings.REDIS_URL,
        backoff_base=0.05,
        backoff_cap=0.4,
        health_interval=0.2,
        batch_max=500,
        poll_interval=0.05,
        receipt_timeout=2.0,
        disconnect_timeout=2.0,
        toss_url="ws://127.0.0.1:1/ws",
        toss_headers={"authorization": "test-secret-authorization", "device-id": "WTS-test"},
        toss_heartbeats=(100, 100),
        toss_connect_timeout=3.0,
        toss_subscribe_active_stocks=False,
        simulator_seed=1234,
        indices=False,  # tests that want KOSPI/KOSDAQ turn it on (it reads the stock master)
        replay_speed=None,
    )


@pytest.fixture
def stomp_server():
    server = FakeStompServer(heartbeat=(200, 200)).start()
    yield server
    server.stop()


@pytest.fixture
def toss_config(relay_config, stomp_server) -> RelayConfig:
    return replace(relay_config, toss_url=stomp_server.url)


@pytest.fixture
def start_relay():
    """start_relay(config, source=None) -> RelayThread; every relay is stopped at teardown."""
    started: list[RelayThread] = []

    def start(config: RelayConfig, source=None) -> RelayThread:
        relay_thread = RelayThread(Relay(config, source=source)).start()
        started.append(relay_thread)
        return relay_thread

    yield start
    for relay_thread in started:
        relay_thread.stop_event.set()
    for relay_thread in started:
        relay_thread.stop()


@pytest.fixture
def health(redis_client):
    def read() -> dict | None:
        payload = redis_client.get(HEALTH_KEY)
        return json.loads(payload) if payload else None

    return read


@pytest.fixture
def relay_command(relay_config, redis_client):
    """Publish a command the way the admin API does and wait for its result."""

    def send(kind: str, topic: str | None, command_id: str | None = None) -> dict:
        command_id = command_id or str(uuid.uuid4())
        payload = json.dumps({"type": kind, "topic": topic, "command_id": command_id})
        redis_client.publish(relay_config.commands_channel, payload)
        key = COMMAND_RESULT_KEY.format(command_id=command_id)
        return json.loads(wait_until(lambda: redis_client.get(key), message=f"result of {kind} {topic}"))

    return send


@pytest.fixture
def tick_messages(relay_config):
    """Collects what the relay publishes on its ticks channel (subscribed before the relay starts)."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(relay_config.ticks_channel)
    wait_until(lambda: pubsub.get_message(timeout=0.05) is None and pubsub.subscribed, message="pubsub ready")
    received: list = []

    def collect() -> list:
        while (message := pubsub.get_message(timeout=0.01)) is not None:
            received.append(json.loads(message["data"]))
        return received

    yield collect
    pubsub.close()
    client.close()
