"""The matcher: fills resting orders when prices cross (DESIGN.md §3, §6).

A reader thread subscribes to `stock:ticks` and keeps only the newest price
per stock (conflation); the main loop drains that map and matches each price
with indexed queries. Survives Redis restarts (reconnects with backoff) and
bad messages (counted, logged, skipped).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import redis
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from marketdata.models import Stock
from marketdata.prices import parse_decimal, ticks_from_message
from marketdata.topics import is_stock_code
from trading.services import orders_match_tick

logger = logging.getLogger(__name__)

TICKS_CHANNEL = "stock:ticks"
HEALTH_KEY = "matcher:health"
HEALTH_TTL_SECONDS = 30


@dataclass
class MatcherStats:
    state: str = "starting"
    started_at: str = field(default_factory=lambda: timezone.now().isoformat())
    last_tick_at: str | None = None
    ticks_received: int = 0
    prices_matched: int = 0
    conflated: int = 0
    malformed: int = 0
    fills: int = 0
    triggered: int = 0
    reconnects: int = 0


def parse_ticks(data) -> tuple[list[tuple[str, Decimal, int | None]], int]:
    """A `stock:ticks` message (one tick or a list) -> ([(code, price, volume)], malformed count)."""
    ticks, malformed = ticks_from_message(data)
    parsed = []
    for tick in ticks:
        code, price = tick.get("code"), parse_decimal(tick.get("close"))
        if not is_stock_code(code) or price is None or price <= 0:
            malformed += 1
            continue
        volume = tick.get("volume")
        parsed.append((code, price, volume if isinstance(volume, int) and not isinstance(volume, bool) else None))
    return parsed, malformed


class Matcher:
    def __init__(self, *, redis_url: str | None = None, stop: threading.Event | None = None):
        self.redis_url = redis_url or settings.REDIS_URL
        self.stop = stop or threading.Event()
        self.stats = MatcherStats()
        self._latest: dict[str, tuple[Decimal, int | None]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stocks: dict[str, Stock | None] = {}

    # --- reading ------------------------------------------------------------
    def read_forever(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            client = redis.Redis.from_url(self.redis_url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(TICKS_CHANNEL)
                backoff = 0.5
                self.stats.state = "running"
                while not self.stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self.offer(message["data"])
            except redis.RedisError as exc:
                self.stats.reconnects += 1
                self.stats.state = "reconnecting"
                logger.warning("matcher: Redis unavailable (%s); retrying in %.1fs", exc, backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                try:
                    pubsub.close()
                    client.close()
                except redis.RedisError:
                    pass

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

    def match_pending(self) -> int:
        with self._lock:
            batch, self._latest = self._latest, {}
            self._wake.clear()
        for code, (price, volume) in batch.items():
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

    def run(self) -> None:
        reader = threading.Thread(target=self.read_forever, name="matcher-reader", daemon=True)
        reader.start()
        last_health = 0.0
        while not self.stop.is_set():
            self._wake.wait(timeout=1.0)
            close_old_connections()
            self.match_pending()
            if time.monotonic() - last_health >= settings.MATCHER_HEALTH_INTERVAL_SECONDS:
                self.write_health()
                last_health = time.monotonic()
        self.match_pending()  # what arrived before the stop
        self.stats.state = "stopped"
        self.write_health()
        reader.join(timeout=5)
