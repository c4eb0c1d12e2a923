"""Build 1-minute candles from `stock:ticks` in a process of its own (the relay normally does it).

Like the relay, it folds ticks in memory and writes the touched candles about once a second.
"""

import logging
import signal
import threading
import time

import redis
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from marketdata.candles import MinuteBars
from marketdata.prices import ticks_from_message
from marketdata.relay.keys import TICKS_CHANNEL

logger = logging.getLogger(__name__)

_RETRY_SECONDS = 1.0
_WRITE_SECONDS = 1.0


class Command(BaseCommand):
    help = "Subscribe to stock:ticks and fold every batch into 1-minute candles until SIGTERM/SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--max-seconds", type=float, default=None, help="stop after this long")

    def handle(self, *args, max_seconds: float | None, **options):
        stop = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        client = redis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        bars = MinuteBars()
        batches = candles = 0
        write_at = time.monotonic() + _WRITE_SECONDS
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                close_old_connections()
                try:
                    if not pubsub.subscribed:
                        pubsub.subscribe(TICKS_CHANNEL)
                    message = pubsub.get_message(timeout=0.5)
                except redis.RedisError as exc:
                    logger.warning("run_candles: redis error %s; retrying", exc)
                    pubsub.close()
                    pubsub = client.pubsub(ignore_subscribe_messages=True)
                    stop.wait(_RETRY_SECONDS)
                    continue
                if message is not None and message["type"] == "message":
                    ticks, _ = ticks_from_message(message["data"])
                    if ticks:
                        bars.add(ticks)
                        batches += 1
                if time.monotonic() >= write_at:
                    write_at = time.monotonic() + _WRITE_SECONDS
                    candles += self._write(bars)
            candles += self._write(bars)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            pubsub.close()
            client.close()
        self.stdout.write(f"run_candles stopped: {batches} batches, {candles} candle writes")

    @staticmethod
    def _write(bars: MinuteBars) -> int:
        try:
            return bars.write()
        except Exception:  # the bars wait for the next write
            logger.exception("run_candles: could not write candles")
            return 0
