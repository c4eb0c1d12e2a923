"""The matcher: fills resting orders when prices cross (docs/architecture.md §5, §6, §16).

Only the process holding the Redis lock `matcher:leader` matches; a second
`run_matcher` waits as a standby (health "standby", no subscription) and takes
over when the lock lapses, never while the old leader may still act. The leader
has a reader thread that subscribes to `stock:ticks` and keeps only the newest
price per stock (conflation); the main loop drains that map and matches each
price with indexed queries. Survives Redis restarts (the shared retry policy of
kernel.hubs) and bad messages (counted, logged, skipped).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import redis
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from kernel.hubs import SubscriptionLoop
from kernel.leader import Leadership
from marketdata.models import Stock
from marketdata.prices import ticks_from_message, trade_from_tick
from marketdata.relay.keys import TICKS_CHANNEL
from trading.services import orders_match_tick

logger = logging.getLogger(__name__)

HEALTH_KEY = "matcher:health"
HEALTH_TTL_SECONDS = 30
LEADER_KEY = "matcher:leader"
STANDBY_HEALTH_KEY = "matcher:standby"  # a standby's own record: it never overwrites the leader's


@dataclass
class MatcherStats:
    state: str = "starting"
    pid: int = field(default_factory=os.getpid)
    started_at: str = field(default_factory=lambda: timezone.now().isoformat())
    last_tick_at: str | None = None
    ticks_received: int = 0
    prices_matched: int = 0
    conflated: int = 0
    malformed: int = 0
    fills: int = 0
    triggered: int = 0
    reconnects: int = 0
    leader_since: str | None = None


def parse_ticks(data) -> tuple[list[tuple[str, Decimal, int | None]], int]:
    """A `stock:ticks` message (one tick or a list) -> ([(code, price, volume)], malformed count)."""
    ticks, malformed = ticks_from_message(data)
    parsed = []
    for trade in map(trade_from_tick, ticks):
        if trade is None:
            malformed += 1
        else:
            parsed.append((trade.code, trade.price, trade.volume))
    return parsed, malformed


class Matcher:
    def __init__(self, *, redis_url: str | None = None, stop: threading.Event | None = None):
        self.redis_url = redis_url or settings.REDIS_URL
        self.stop = stop or threading.Event()
        self.stats = MatcherStats()
        self._latest: dict[str, tuple[Decimal, int | None]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._health_due = False
        self._stocks: dict[str, Stock | None] = {}

    # --- reading ------------------------------------------------------------
    def read_until(self, term: threading.Event) -> None:
        """Subscribe to the ticks and offer each message until `term` is set (stop, or leadership lost)."""

        def subscribed() -> None:
            self.stats.state = "running"
            self._health_due = True  # say so now, not at the next interval
            self._wake.set()

        def lost(exc: BaseException) -> None:
            self.stats.reconnects += 1
            self.stats.state = "reconnecting"

        SubscriptionLoop(
            redis_url=self.redis_url,
            channels=[TICKS_CHANNEL],
            handle=self.offer,
            stop=term,
            name="matcher",
            on_subscribed=subscribed,
            on_lost=lost,
        ).run()

    def offer(self, data) -> None:
        ticks, malformed = parse_ticks(data)
        if malformed:
            self.stats.malformed += malformed
            logger.warning("matcher: skipped %d malformed tick(s)", malformed)
        with self._lock:
            for code, price, volume in ticks:
                if code in self._latest:
                    self.stats.conflated += 1
                self._latest[code] = (price, volume)
            self.stats.ticks_received += len(ticks)
        if ticks:
            self._wake.set()

    # --- matching -----------------------------------------------------------
    def _stock(self, code: str) -> Stock | None:
        if code not in self._stocks:
            self._stocks[code] = Stock.objects.filter(code=code).first()
        return self._stocks[code]

    def match_pending(self, may_act=lambda: True) -> int:
        """Match the newest price of each stock; `may_act` is asked before each, so a matcher that lost
        its leadership never fills after a standby could have taken over."""
        with self._lock:
            batch, self._latest = self._latest, {}
            self._wake.clear()
        for code, (price, volume) in batch.items():
            if not may_act():
                logger.warning("matcher: leadership ended; %d price(s) left to the new leader", len(batch))
                break
            stock = self._stock(code)
            if stock is None:
                continue
            try:
                result = orders_match_tick(stock=stock, price=price, volume=volume)
            except Exception:  # one bad price must not stop the matcher; the next tick retries
                logger.exception("matcher: matching %s at %s failed", code, price)
                continue
            self.stats.fills += result.fills
            self.stats.triggered += result.triggered
            self.stats.prices_matched += 1
            self.stats.last_tick_at = timezone.now().isoformat()
        return len(batch)

    def write_health(self) -> None:
        try:
            client = redis.Redis.from_url(self.redis_url)
            client.set(HEALTH_KEY, json.dumps(asdict(self.stats)), ex=HEALTH_TTL_SECONDS)
            client.close()
        except redis.RedisError:
            pass  # the reader reports the outage

    def write_standby_health(self, client: redis.Redis, leader: str | None) -> None:
        record = {"state": "standby", "pid": os.getpid(), "leader": leader, "updated_at": timezone.now().isoformat()}
        client.set(STANDBY_HEALTH_KEY, json.dumps(record), ex=HEALTH_TTL_SECONDS)
        client.set(HEALTH_KEY, json.dumps(record), ex=HEALTH_TTL_SECONDS, nx=True)  # nobody leads: say so

    def run(self) -> None:
        """Stand by until this process holds the matcher lock, match while it does; until `stop`."""
        client = redis.Redis.from_url(self.redis_url)
        self.stats.state = "standby"
        leadership = Leadership(
            client,
            LEADER_KEY,
            stop=self.stop,
            on_standby=lambda leader: self.write_standby_health(client, leader),
            name="matcher",
        )
        try:
            while leadership.wait():
                try:
                    self._lead(leadership)
                finally:
                    leadership.end()
                if leadership.lost:
                    self.stats.state = "standby"
        finally:
            client.close()
            self.stats.state = "stopped"
            self.write_health()

    def _lead(self, leadership: Leadership) -> None:
        with self._lock:
            self._latest = {}  # prices from before this term are another leader's business
        self.stats.state = "starting"
        self.stats.leader_since = timezone.now().isoformat()
        reader = threading.Thread(target=self.read_until, args=(leadership.term,), name="matcher-reader", daemon=True)
        reader.start()
        last_health = 0.0
        while leadership.held():
            self._wake.wait(timeout=1.0)
            close_old_connections()
            self.match_pending(leadership.held)
            if self._health_due or time.monotonic() - last_health >= settings.MATCHER_HEALTH_INTERVAL_SECONDS:
                self._health_due = False
                self.write_health()
                last_health = time.monotonic()
        reader.join(timeout=5)
        if not leadership.lost:
            self.match_pending(leadership.lock.held)  # what arrived before the stop, while the lock is ours
