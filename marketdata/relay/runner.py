"""The relay's loop: one feed connection → Redis, until told to stop.

Each iteration: (re)connect if due, read one batch from the source, apply
subscribe/unsubscribe commands from Redis, and send everything the iteration
produced — ticks, command results, subscription-set changes, the health
record — in one pipeline. On stop: stop reading, flush, DISCONNECT with a
receipt, write a final health record.
"""

import contextlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import redis
from django.db import close_old_connections

from kernel.leader import Leadership
from marketdata import krx
from marketdata.prices import parse_quote
from marketdata.relay.base import Batch, FeedExhausted, Source, SourceError, log_event
from marketdata.relay.commands import Command, CommandRejected, command_result, parse_command
from marketdata.relay.config import RelayConfig
from marketdata.relay.indices import IndexCalculator, feed_index_topics, load_index_calculator
from marketdata.relay.keys import (
    HEALTH_KEY,
    HEALTH_TTL_SECONDS,
    LEADER_KEY,
    REALTIME_KEY,
    STANDBY_HEALTH_KEY,
    SUBSCRIPTIONS_KEY,
)
from marketdata.relay.replay import ReplaySource
from marketdata.relay.simulator import SimulatorSource, StartingPrice, load_active_stocks, utc_dt
from marketdata.relay.sink import RedisSink
from marketdata.relay.toss import TossSource, credentials_for
from marketdata.topics import is_trade_topic, trade_topic

logger = logging.getLogger(__name__)

_COMMANDS_PER_ITERATION = 100
_STABLE_CONNECTION_SECONDS = 30.0  # a connection that lived this long resets the backoff
_REDIS_RETRY_SECONDS = 1.0
_MALFORMED_LOG_INTERVAL_SECONDS = 5.0


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class RelayStats:
    source: str
    state: str = "starting"
    started_at: str | None = None
    connected_since: str | None = None
    last_message_at: str | None = None
    messages_total: int = 0
    malformed_total: int = 0
    reconnects: int = 0  # connections established after the first one
    connect_failures: int = 0
    commands_total: int = 0
    commands_rejected: int = 0  # answered success=false, or unanswerable

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Pending:
    command: Command
    deadline: float


def stored_starting_prices(client: redis.Redis, codes: list[str]) -> dict[str, StartingPrice]:
    """The simulator's starting point: the last tick stored for each code (base = its previous close)."""
    if not codes:
        return {}
    starts = {}
    for code, payload in zip(codes, client.mget([REALTIME_KEY.format(code=c) for c in codes]), strict=True):
        quote = parse_quote(code, payload)
        if quote is None:
            continue
        try:
            base = krx.round_to_tick(quote.base if quote.base and quote.base >= 1 else quote.price)
            starts[code] = StartingPrice(base=base, price=krx.round_to_tick(quote.price))
        except ValueError:
            continue
    return starts


def build_source(config: RelayConfig, client: redis.Redis) -> Source:
    kind = config.source_kind
    if kind == "simulator":
        seed = config.simulator_seed
        if seed is None:
            seed = random.SystemRandom().randrange(2**32)
        return SimulatorSource(
            seed=seed,
            ticks_per_second=config.simulator_ticks_per_second,
            day_seconds=config.simulator_day_seconds,
            batch_max=config.batch_max,
            starting_prices=lambda codes: stored_starting_prices(client, codes),
        )
    if kind == "replay":
        return ReplaySource(config.replay_path, speed=config.replay_speed, batch_max=config.batch_max)
    return TossSource(
        url=config.toss_url,
        origin=config.toss_origin or None,
        credentials=credentials_for(
            headers=config.toss_headers,
            guest_key_url=config.toss_guest_key_url,
            origin=config.toss_origin,
            timeout=config.toss_connect_timeout,
        ),
        destination_encoding=config.toss_destination_encoding,
        heartbeats=config.toss_heartbeats,
        connect_timeout=config.toss_connect_timeout,
        batch_max=config.batch_max,
        disconnect_timeout=config.disconnect_timeout,
        index_topics=feed_index_topics() if config.indices else {},
    )


# Sources whose indices the relay computes from the constituents; the Toss feed sends its own.
COMPUTED_INDEX_SOURCES = ("simulator", "replay")


class Relay:
    def __init__(
        self,
        config: RelayConfig,
        *,
        source: Source | None = None,
        client: redis.Redis | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._own_client = client is None
        self.client = client or redis.Redis.from_url(config.redis_url, decode_responses=True)
        self.source = source or build_source(config, self.client)
        self.sink = RedisSink(self.client, ticks_channel=config.ticks_channel)
        self.stats = RelayStats(source=self.source.name)
        self.topics: set[str] = set()
        self._clock = clock
        self._jitter = random.Random()  # noqa: S311 - backoff jitter, not security
        self._connected = False
        self._connected_at = 0.0
        self._ever_connected = False
        self._failures = 0
        self._next_attempt_at = 0.0
        self._next_health_at = 0.0
        self._pending: dict[str, _Pending] = {}
        self._pubsub: redis.client.PubSub | None = None
        self._redis_failing = False
        self._malformed_unlogged = 0
        self._malformed_log_at = 0.0
        self._candles = None
        if config.record_candles:
            from marketdata.candles import MinuteBars  # models: only once Django is set up

            self._candles = MinuteBars()
        self._next_candles_at = 0.0
        self._indices: IndexCalculator | None = None
        if config.indices and self.source.name in COMPUTED_INDEX_SOURCES:
            self._indices = load_index_calculator(source=self.source.name, interval=config.index_interval)

    # --- lifecycle ---------------------------------------------------------------------

    def run(self, stop: threading.Event, *, max_seconds: float | None = None) -> RelayStats:
        """Relay until `stop` is set (or `max_seconds` pass, or a finite feed ends); returns the counters."""
        deadline = None if max_seconds is None else self._clock() + max_seconds
        self.stats.started_at = utc_now_iso()
        exhausted = False
        try:
            self._start()
            while not stop.is_set():
                if deadline is not None and self._clock() >= deadline:
                    break
                close_old_connections()  # a long-running loop drops connections the server timed out
                if not self._iterate(stop):
                    exhausted = True
                    break
        finally:
            self._shutdown(exhausted=exhausted)
        return self.stats

    def _start(self) -> None:
        self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(self.config.commands_channel)  # before connecting: no command is missed
        self.topics = self._load_topics()
        self.stats.state = "connecting"
        log_event(
            logger,
            logging.INFO,
            "relay.starting",
            source=self.config.source,
            subscriptions=len(self.topics),
            pid=os.getpid(),
        )
        self._queue_health()
        self._flush()

    def _load_topics(self) -> set[str]:
        stored = self.client.smembers(SUBSCRIPTIONS_KEY)
        topics = {topic for topic in stored if is_trade_topic(topic)}
        for topic in stored - topics:
            log_event(logger, logging.WARNING, "relay.subscriptions.invalid_removed", topic=topic)
            self.sink.remove_subscription(topic)
        if not topics and self.source.name == "toss" and self.config.toss_subscribe_active_stocks:
            topics = {trade_topic(stock.code) for stock in load_active_stocks()}
            for topic in sorted(topics):
                self.sink.add_subscription(topic)
            log_event(logger, logging.INFO, "relay.subscriptions.seeded", topics=len(topics))
        return topics

    def _shutdown(self, *, exhausted: bool) -> None:
        self.stats.state = "stopping"
        self._flush()  # what was read goes out before we say goodbye
        self._write_candles(now=True)
        self._resolve_all_pending("the relay stopped before the feed confirmed")
        try:
            self.source.close(graceful=True)
        except SourceError as exc:
            log_event(logger, logging.WARNING, "relay.close_failed", reason=str(exc))
        self._connected = False
        self.stats.state = "finished" if exhausted else "stopped"
        self.stats.connected_since = None
        self._queue_health()
        self._flush()
        if self._pubsub is not None:
            self._pubsub.close()
        if self._own_client:
            self.client.close()
        log_event(logger, logging.INFO, "relay.stopped", **self.stats.as_dict())

    # --- one iteration ----------------------------------------------------------------

    def _iterate(self, stop: threading.Event) -> bool:
        """One loop turn; False when a finite feed has ended."""
        more = True
        if self._connected:
            try:
                batch = self.source.read(self.config.poll_interval)
            except SourceError as exc:
                self._lost(str(exc))
            except FeedExhausted:
                more = False
            else:
                self._apply(batch)
            if self._indices is not None:
                self._publish_indices()
        elif self._clock() >= self._next_attempt_at:
            self._connect()
        else:
            stop.wait(min(self._next_attempt_at - self._clock(), self.config.poll_interval))
        self._drain_commands()
        self._expire_pending()
        if self._clock() >= self._next_health_at:
            self._queue_health()
        if not self._flush():
            stop.wait(_REDIS_RETRY_SECONDS)
        self._write_candles()  # after the prices went out: the database never delays them
        return more

    def _connect(self) -> None:
        try:
            self.source.connect(sorted(self.topics))
        except SourceError as exc:
            self.stats.connect_failures += 1
            self._schedule_reconnect(f"connect failed: {exc}")
            return
        self._connected = True
        self._connected_at = self._clock()
        if self._ever_connected:
            self.stats.reconnects += 1
        self._ever_connected = True
        self.stats.state = "connected"
        self.stats.connected_since = utc_now_iso()
        log_event(
            logger,
            logging.INFO,
            "relay.connected",
            source=self.source.name,
            subscriptions=len(self.topics),
            reconnects=self.stats.reconnects,
        )
        self._queue_health()

    def _lost(self, reason: str) -> None:
        self._connected = False
        self.stats.connected_since = None
        if self._clock() - self._connected_at >= _STABLE_CONNECTION_SECONDS:
            self._failures = 0
        self._resolve_all_pending("the feed connection was lost before it confirmed; it is resubscribed on reconnect")
        with contextlib.suppress(SourceError):
            self.source.close(graceful=False)
        self._schedule_reconnect(reason)

    def _schedule_reconnect(self, reason: str) -> None:
        self._failures += 1
        delay = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (self._failures - 1))
        delay *= self._jitter.uniform(0.5, 1.0)  # spread reconnect storms
        self._next_attempt_at = self._clock() + delay
        self.stats.state = "reconnecting"
        log_event(
            logger,
            logging.WARNING,
            "relay.reconnect_scheduled",
            reason=reason,
            delay_s=round(delay, 3),
            attempt=self._failures,
        )
        self._queue_health()

    def _apply(self, batch: Batch) -> None:
        if batch.ticks or batch.indices:
            received_at = utc_now_iso()
            if batch.ticks:
                self.sink.add_ticks(batch.ticks, received_at)
                if self._indices is not None:
                    self._indices.add(batch.ticks)
                if self._candles is not None:
                    self._candles.add([{**tick.body, "received_at": received_at} for tick in batch.ticks])
            if batch.indices:
                self.sink.add_indices(batch.indices, received_at)
            self.stats.messages_total += len(batch.ticks) + len(batch.indices)
            self.stats.last_message_at = received_at
            self._failures = 0  # the feed works: the next loss starts the backoff from the bottom
        if batch.malformed:
            self.stats.malformed_total += batch.malformed
            self._log_malformed(batch)
        for ack in batch.acks:
            pending = self._pending.pop(ack.token, None)
            if not ack.ok and ack.action == "subscribe" and ack.topic in self.topics:
                # Left in the set, a refused topic would be refused again after every reconnect.
                self.topics.discard(ack.topic)
                self.sink.remove_subscription(ack.topic)
                log_event(logger, logging.WARNING, "relay.subscription_refused", topic=ack.topic, reason=ack.message)
            if pending is not None:
                if ack.ok:
                    message = f"{ack.action}d {ack.topic}"
                else:
                    message = f"the feed refused to {ack.action} {ack.topic}: {ack.message or 'no reason given'}"
                self._answer(pending.command, ack.ok, message)

    def _publish_indices(self) -> None:
        """The computed indices that moved, at most once per RELAY_INDEX_INTERVAL_SECONDS."""
        ticks = self._indices.due(utc_dt)
        if ticks:
            self.sink.add_indices(ticks, utc_now_iso())

    def _write_candles(self, *, now: bool = False) -> None:
        """Candles are a by-product: written about once a second; a database hiccup is logged and the
        bars wait for the next write, but it never stops the prices."""
        if self._candles is None or not len(self._candles):
            return
        if not now and self._clock() < self._next_candles_at:
            return
        self._next_candles_at = self._clock() + self.config.candles_interval
        try:
            self._candles.write()
        except Exception:
            logger.exception("relay: recording candles failed; prices go on")

    def _log_malformed(self, batch: Batch) -> None:
        # A feed sending garbage must not flood the log: one line per interval, with the count.
        self._malformed_unlogged += batch.malformed
        now = self._clock()
        if now >= self._malformed_log_at:
            log_event(
                logger,
                logging.WARNING,
                "relay.malformed",
                count=self._malformed_unlogged,
                total=self.stats.malformed_total,
                last_reason=batch.malformed_reason,
            )
            self._malformed_unlogged = 0
            self._malformed_log_at = now + _MALFORMED_LOG_INTERVAL_SECONDS

    # --- commands ---------------------------------------------------------------------

    def _drain_commands(self) -> None:
        if self._pubsub is None:
            return
        for _ in range(_COMMANDS_PER_ITERATION):
            try:
                message = self._pubsub.get_message(timeout=0.0)
            except redis.RedisError as exc:
                self._redis_error("commands", exc)
                return
            if message is None:
                return
            if message.get("type") == "message":
                self.handle_command(message["data"])

    def handle_command(self, payload: str | bytes) -> None:
        self.stats.commands_total += 1
        try:
            command = parse_command(payload)
        except CommandRejected as exc:
            if exc.command_id is None:
                self.stats.commands_rejected += 1
                log_event(logger, logging.WARNING, "relay.command_unanswerable", reason=exc.message)
            else:
                log_event(
                    logger, logging.WARNING, "relay.command_rejected", command_id=exc.command_id, reason=exc.message
                )
                self._reply(exc.command_id, exc.topic, False, exc.message)
            return
        log_event(logger, logging.INFO, "relay.command", type=command.type, topic=command.topic, id=command.command_id)
        if command.type == "subscribe":
            self._subscribe(command)
        else:
            self._unsubscribe(command)

    def _subscribe(self, command: Command) -> None:
        topic = command.topic
        if topic in self.topics:
            self._answer(command, False, f"already subscribed to {topic}")
            return
        self.topics.add(topic)
        self.sink.add_subscription(topic)
        if not self._connected:
            self._answer(command, True, f"added {topic}; it is subscribed when the feed reconnects")
            return
        try:
            token = self.source.subscribe(topic)
        except SourceError as exc:
            self._answer(command, True, f"added {topic}; it is subscribed when the feed reconnects")
            self._lost(str(exc))
            return
        if token is None:
            self._answer(command, True, f"subscribed {topic}")
        else:
            self._pending[token] = _Pending(command, self._clock() + self.config.receipt_timeout)

    def _unsubscribe(self, command: Command) -> None:
        topic = command.topic
        if topic not in self.topics:
            self._answer(command, False, f"not subscribed to {topic}")
            return
        self.topics.discard(topic)
        self.sink.remove_subscription(topic)
        if not self._connected:
            self._answer(command, True, f"unsubscribed {topic}")
            return
        try:
            token = self.source.unsubscribe(topic)
        except SourceError as exc:
            self._answer(command, True, f"unsubscribed {topic}")
            self._lost(str(exc))
            return
        if token is None:
            self._answer(command, True, f"unsubscribed {topic}")
        else:
            self._pending[token] = _Pending(command, self._clock() + self.config.receipt_timeout)

    def _answer(self, command: Command, success: bool, message: str) -> None:
        self._reply(command.command_id, command.topic, success, message)

    def _reply(self, command_id: str, topic: str | None, success: bool, message: str) -> None:
        if not success:
            self.stats.commands_rejected += 1
        result = command_result(success=success, message=message, command_id=command_id, topic=topic)
        self.sink.add_command_result(command_id, result)

    def _expire_pending(self) -> None:
        if not self._pending:
            return
        now = self._clock()
        for token, pending in list(self._pending.items()):
            if now >= pending.deadline:
                del self._pending[token]
                command = pending.command
                self._answer(command, True, f"{command.type} {command.topic} sent; the feed has not confirmed it yet")

    def _resolve_all_pending(self, note: str) -> None:
        pending, self._pending = self._pending, {}
        for item in pending.values():
            self._answer(item.command, True, f"{item.command.type} {item.command.topic} sent; {note}")

    # --- health and Redis -------------------------------------------------------------

    def health_record(self) -> dict:
        return {
            "state": self.stats.state,
            "source": self.source.name,
            "pid": os.getpid(),
            "started_at": self.stats.started_at,
            "connected_since": self.stats.connected_since,
            "last_message_at": self.stats.last_message_at,
            "messages_total": self.stats.messages_total,
            "malformed_total": self.stats.malformed_total,
            "reconnects": self.stats.reconnects,
            "connect_failures": self.stats.connect_failures,
            "subscriptions": len(self.topics),
            "updated_at": utc_now_iso(),
        }

    def _queue_health(self) -> None:
        self.sink.add_health(self.health_record())
        self._next_health_at = self._clock() + self.config.health_interval

    def _flush(self) -> bool:
        try:
            self.sink.flush()
        except redis.RedisError as exc:
            self._redis_error("write", exc)
            return False
        if self._redis_failing:
            self._redis_failing = False
            log_event(logger, logging.INFO, "relay.redis_recovered")
        return True

    def _redis_error(self, what: str, exc: redis.RedisError) -> None:
        if not self._redis_failing:
            log_event(logger, logging.ERROR, "relay.redis_error", during=what, error=type(exc).__name__)
        self._redis_failing = True


def standby_health_record(config: RelayConfig, leader: str | None, subscriptions: int) -> dict:
    return {
        "state": "standby",
        "source": config.source_kind,
        "pid": os.getpid(),
        "leader": leader,
        "subscriptions": subscriptions,
        "updated_at": utc_now_iso(),
    }


def _write_standby_health(client: redis.Redis, config: RelayConfig, leader: str | None) -> None:
    record = json.dumps(standby_health_record(config, leader, client.scard(SUBSCRIPTIONS_KEY)))
    client.set(STANDBY_HEALTH_KEY, record, ex=HEALTH_TTL_SECONDS)
    client.set(HEALTH_KEY, record, ex=HEALTH_TTL_SECONDS, nx=True)  # nobody relays: the health says so


def run_relay(
    *,
    config: RelayConfig | None = None,
    stop: threading.Event | None = None,
    max_seconds: float | None = None,
) -> RelayStats:
    """Build the relay from settings and run it while this process holds the lock `relay:leader`
    (the management command and the Celery task call this).

    Until then it stands by: no feed connection, no ticks, no candles, only its standby health record.
    A relay that loses the lock (it could not renew it in time) stops and stands by again; a new
    term builds a fresh relay that resubscribes every stored topic.
    """
    config = config or RelayConfig.from_settings()
    stop = stop or threading.Event()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    timer = None
    if max_seconds is not None:
        timer = threading.Timer(max_seconds, stop.set)
        timer.daemon = True
        timer.start()
    client = redis.Redis.from_url(config.redis_url, decode_responses=True)
    leadership = Leadership(
        client,
        LEADER_KEY,
        stop=stop,
        on_standby=lambda leader: _write_standby_health(client, config, leader),
        name="relay",
    )
    stats = RelayStats(source=config.source_kind, state="stopped")
    try:
        while leadership.wait():
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                stats = Relay(config).run(leadership.term, max_seconds=remaining)
            finally:
                leadership.end()
            if not leadership.lost:
                break  # stopped, out of time, or a finite feed ended
    finally:
        if timer is not None:
            timer.cancel()
        client.close()
    return stats
