"""The relay's Redis writer: everything one loop iteration produced goes out in ONE pipeline.

Per flush:
  SET stock:realtime:{code} <tick + received_at> EX 3600   once per code: the batch's last tick for it
  SET index:realtime:{KOSPI|KOSDAQ} <value + received_at> EX 3600   the latest value of each index
  PUBLISH stock:ticks <JSON array of every tick of the batch, in feed order, then the index values>
  plus queued command results, subscription-set changes and the health record.
Coalescing the SETs per code changes nothing a reader can see (the key holds the latest
tick either way) and keeps the pipeline short when the feed is fast.
"""

import json

import redis

from marketdata.indices import INDEX_REALTIME_KEY, INDEX_REALTIME_TTL_SECONDS
from marketdata.relay.keys import (
    COMMAND_RESULT_KEY,
    COMMAND_RESULT_TTL_SECONDS,
    HEALTH_KEY,
    HEALTH_TTL_SECONDS,
    REALTIME_KEY,
    REALTIME_TTL_SECONDS,
    SUBSCRIPTIONS_KEY,
    TICKS_CHANNEL,
)
from marketdata.relay.ticks import Tick

_REALTIME_PREFIX = REALTIME_KEY.removesuffix("{code}")
_INDEX_PREFIX = INDEX_REALTIME_KEY.removesuffix("{code}")
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class RedisSink:
    def __init__(
        self, client: redis.Redis, *, ticks_channel: str = TICKS_CHANNEL, realtime_ttl: int = REALTIME_TTL_SECONDS
    ) -> None:
        self._client = client
        self._ticks_channel = ticks_channel
        self._realtime_ttl = realtime_ttl
        self._latest: dict[str, str] = {}
        self._indices: dict[str, str] = {}
        self._published: list[str] = []
        self._other: list[tuple] = []

    @property
    def pending(self) -> bool:
        return bool(self._latest or self._indices or self._other)

    def add_ticks(self, ticks: list[Tick], received_at: str) -> None:
        latest, published = self._latest, self._published
        for tick in ticks:
            stored = tick.stored_json(received_at)
            latest[tick.code] = stored
            published.append(stored)

    def add_indices(self, ticks: list[Tick], received_at: str) -> None:
        """Index values (bodies with "kind": "index"): stored under index:realtime:{code}, published with the ticks."""
        for tick in ticks:
            stored = tick.stored_json(received_at)
            self._indices[tick.code] = stored
            self._published.append(stored)

    def add_command_result(self, command_id: str, result: dict) -> None:
        key = COMMAND_RESULT_KEY.format(command_id=command_id)
        self._other.append(("SET", key, _encode(result), "EX", COMMAND_RESULT_TTL_SECONDS))

    def add_subscription(self, topic: str) -> None:
        self._other.append(("SADD", SUBSCRIPTIONS_KEY, topic))

    def remove_subscription(self, topic: str) -> None:
        self._other.append(("SREM", SUBSCRIPTIONS_KEY, topic))

    def add_health(self, record: dict) -> None:
        self._other.append(("SET", HEALTH_KEY, _encode(record), "EX", HEALTH_TTL_SECONDS))

    def discard(self) -> int:
        """Forget what is queued (Redis is unreachable); returns how many ticks were dropped."""
        dropped = len(self._published)
        self._latest, self._indices, self._published, self._other = {}, {}, [], []
        return dropped

    def flush(self) -> int:
        """Send everything queued in one pipeline; returns the number of ticks written."""
        if not (self._latest or self._indices or self._other):
            return 0
        latest, indices, published, other = self._latest, self._indices, self._published, self._other
        self._latest, self._indices, self._published, self._other = {}, {}, [], []
        pipe = self._client.pipeline(transaction=False)
        ttl = self._realtime_ttl
        for code, stored in latest.items():
            pipe.execute_command("SET", _REALTIME_PREFIX + code, stored, "EX", ttl)
        for code, stored in indices.items():
            pipe.execute_command("SET", _INDEX_PREFIX + code, stored, "EX", INDEX_REALTIME_TTL_SECONDS)
        if published:
            pipe.execute_command("PUBLISH", self._ticks_channel, f"[{','.join(published)}]")
        for command in other:
            pipe.execute_command(*command)
        pipe.execute()
        return len(published)
