"""Build 1-minute candles from `stock:ticks` in a process of its own (the relay normally does it).

Like the relay, it folds ticks in memory and writes the touched candles about once a second.
The subscription survives Redis restarts with the shared retry policy (kernel.hubs); the
candles already folded are still written while Redis is away.
"""

import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from kernel.hubs import SubscriptionLoop
from marketdata.candles import MinuteBars
from marketdata.prices import ticks_from_message
from marketdata.relay.keys import TICKS_CHANNEL

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.5
_WRITE_SECONDS = 1.0


class CandleWriter:
    """Folds each `stock:ticks` message into minute bars and writes them about once a second."""

    def __init__(self, stop: threading.Event, deadline: float | None) -> None:
        self.stop = stop
        self.deadline = deadline
        self.bars = MinuteBars()
        self.batches = self.candles = 0
        self._write_at = time.monotonic() + _WRITE_SECONDS

    def handle(self, data: bytes) -> None:
        ticks, _ = ticks_from_message(data)
        if ticks:
            self.bars.add(ticks)
            self.batches += 1

    def after_poll(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stop.set()
        if time.monotonic() >= self._write_at:
            self._write_at = time.monotonic() + _WRITE_SECONDS
            self.write()

    def write(self) -> None:
        close_old_connections()
        try:
            self.candles += self.bars.write()
        except Exception:  # the bars wait for the next write
            logger.exception("run_candles: could not write candles")


class Command(BaseCommand):
    help = "Subscribe to stock:ticks and fold every batch into 1-minute candles until SIGTERM/SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--max-seconds", type=float, default=None, help="stop after this long")

    def handle(self, *args, max_seconds: float | None, **options):
        stop = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        writer = CandleWriter(stop, None if max_seconds is None else time.monotonic() + max_seconds)
        try:
            SubscriptionLoop(
                redis_url=settings.REDIS_URL,
                channels=[TICKS_CHANNEL],
                handle=writer.handle,
                stop=stop,
                name="run_candles",
                poll_seconds=_POLL_SECONDS,
                after_poll=writer.after_poll,
            ).run()
            writer.write()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"run_candles stopped: {writer.batches} batches, {writer.candles} candle writes")
