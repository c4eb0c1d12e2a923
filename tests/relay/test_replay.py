import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from marketdata.relay.base import FeedExhausted
from marketdata.relay.replay import ReplaySource
from marketdata.relay.simulator import ListedStock, TickGenerator
from marketdata.tasks import run_relay
from tests.relay.conftest import wait_until

RECORDED = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


def recorded_ticks(count: int) -> list[dict]:
    generator = TickGenerator([ListedStock("A005930", 1), ListedStock("A000660", 2), ListedStock("A0126Z0", 3)], seed=8)
    ticks = []
    for index in range(count):
        stamp = RECORDED + timedelta(milliseconds=10 * index)
        tick = generator.next_tick(stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        ticks.append({**tick, "received_at": stamp.isoformat()})
    return ticks


def write_jsonl(path, rows) -> None:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))


def test_replay_at_maximum_speed_writes_every_tick_into_redis(
    relay_config, tmp_path, start_relay, redis_client, tick_messages, health
):
    ticks = recorded_ticks(1_200)
    path = tmp_path / "ticks.jsonl"
    write_jsonl(path, [*ticks[:600], "", "{broken", json.dumps({"code": "A005930"}), *ticks[600:]])

    stats = start_relay(replace(relay_config, source=f"replay:{path}", replay_speed=None)).join()

    assert (stats.state, stats.messages_total, stats.malformed_total) == ("finished", 1_200, 2)
    started = datetime.now(UTC) - timedelta(minutes=1)
    for code in ("A005930", "A000660", "A0126Z0"):
        last = next(tick for tick in reversed(ticks) if tick["code"] == code)
        stored = json.loads(redis_client.get(f"stock:realtime:{code}"))
        received_at = datetime.fromisoformat(stored.pop("received_at"))
        assert received_at > started  # the relay's clock, not the recorded one
        assert stored == {key: value for key, value in last.items() if key != "received_at"}
    published = [
        tick
        for batch in wait_until(lambda: len(sum(tick_messages(), [])) == 1_200 and tick_messages())
        for tick in batch
    ]
    assert [tick["close"] for tick in published] == [tick["close"] for tick in ticks]
    assert health()["state"] == "finished"


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_recorded_speed_keeps_the_gaps_between_ticks(tmp_path):
    epoch = RECORDED.timestamp()
    rows = [
        {"code": "A005930", "close": 70_000, "received_at": epoch},
        {"code": "A005930", "close": 70_100, "dt": "2026-03-03T00:00:00.500Z"},  # dt when there is no received_at
        {"code": "A005930", "close": 70_200, "received_at": (RECORDED + timedelta(seconds=2)).isoformat()},
        {"code": "A005930", "close": 70_300},  # no time: right after the previous one
    ]
    path = tmp_path / "paced.jsonl"
    write_jsonl(path, rows)
    time = FakeTime()
    source = ReplaySource(path, speed=2.0, clock=time.clock, sleep=time.sleep)
    source.connect([])
    delivered = []

    def replay_all():
        for _ in range(100):
            delivered.extend((tick.body["close"], round(time.now - 100, 3)) for tick in source.read(0.2).ticks)

    with pytest.raises(FeedExhausted):
        replay_all()
    source.close(graceful=True)
    assert delivered == [(70_000, 0.0), (70_100, 0.25), (70_200, 1.0), (70_300, 1.0)]


def test_the_celery_task_runs_the_same_loop(tmp_path, settings, redis_client):
    settings.REPLAY_SPEED = "max"
    settings.RELAY_INDICES = False  # computing them reads the stock master; this test has no database
    path = tmp_path / "ticks.jsonl"
    write_jsonl(path, recorded_ticks(50))
    outcome: dict = {}
    # In a thread of its own, as in a worker: the loop's close_old_connections() then never
    # touches the test thread's (database-blocked) connection.
    worker = threading.Thread(target=lambda: outcome.update(run_relay.delay(source=f"replay:{path}").get(timeout=30)))
    worker.start()
    worker.join(30)
    stats = outcome
    assert stats["state"] == "finished"
    assert stats["messages_total"] == 50
    assert redis_client.exists("stock:realtime:A005930")
