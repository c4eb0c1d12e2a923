"""`manage.py run_relay` as a real process: SIGTERM/SIGINT stop it cleanly with exit code 0."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from marketdata.relay.keys import HEALTH_KEY, SUBSCRIPTIONS_KEY
from marketdata.topics import trade_topic
from tests.relay.conftest import wait_until

SECRET = "process-secret-authorization"


@pytest.fixture
def run_relay_process(tmp_path):
    processes = []

    def start(**env) -> tuple[subprocess.Popen, object]:
        log_path = tmp_path / f"relay-{len(processes)}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "stocking.settings.test",
            "REDIS_URL": settings.REDIS_URL,
            "RELAY_HEALTH_INTERVAL_SECONDS": "0.3",
            "RELAY_POLL_SECONDS": "0.05",
            "RELAY_INDICES": "false",  # they read the stock master, which this process's database lacks
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "run_relay"],
                cwd=settings.BASE_DIR,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        return process, log_path

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _health(redis_client) -> dict:
    payload = redis_client.get(HEALTH_KEY)
    return json.loads(payload) if payload else {}


def test_sigterm_disconnects_from_toss_with_a_receipt_and_exits_zero(stomp_server, run_relay_process, redis_client):
    redis_client.sadd(SUBSCRIPTIONS_KEY, trade_topic("A005930"))
    process, log_path = run_relay_process(
        MARKETDATA_SOURCE="toss",
        TOSS_WS_URL=stomp_server.url,
        TOSS_WS_HEADERS=json.dumps({"authorization": SECRET}),
        TOSS_SUBSCRIBE_ACTIVE_STOCKS="false",
        TOSS_HEARTBEAT_MS="200,200",
    )
    assert stomp_server.wait_for(lambda: stomp_server.frames("SUBSCRIBE"), timeout=30), log_path.read_text()
    stomp_server.publish(trade_topic("A005930"), json.dumps({"code": "A005930", "close": 70_000}))
    wait_until(lambda: redis_client.get("stock:realtime:A005930"), message="tick from the process")

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=20) == 0, log_path.read_text()
    (disconnect,) = stomp_server.frames("DISCONNECT")
    assert disconnect.headers["receipt"]
    log = log_path.read_text()
    assert "relay.toss.disconnected receipt=True" in log
    assert "relay stopped: 1 ticks" in log
    assert SECRET not in log
    assert _health(redis_client)["state"] == "stopped"


def test_sigint_stops_a_replay_midway_and_exits_zero(tmp_path, run_relay_process, redis_client):
    start = datetime(2026, 3, 3, tzinfo=UTC)
    path = tmp_path / "slow.jsonl"
    lines = [
        json.dumps(
            {"code": "A000660", "close": 180_000 + 100 * i, "received_at": (start + timedelta(seconds=i)).isoformat()}
        )
        for i in range(120)
    ]
    path.write_text("\n".join(lines) + "\n")
    process, log_path = run_relay_process(MARKETDATA_SOURCE=f"replay:{path}", REPLAY_SPEED="1.0")
    wait_until(lambda: redis_client.get("stock:realtime:A000660"), timeout=30, message="first replayed tick")
    wait_until(lambda: _health(redis_client).get("state") == "connected", message="health connected")
    time.sleep(0.2)

    process.send_signal(signal.SIGINT)

    assert process.wait(timeout=20) == 0, log_path.read_text()
    health = _health(redis_client)
    assert health["state"] == "stopped"
    assert 1 <= health["messages_total"] < 120
