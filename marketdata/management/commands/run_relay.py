import signal
import threading

import redis
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from marketdata.relay.config import RelayConfig
from marketdata.relay.runner import run_relay


class Command(BaseCommand):
    help = "Relay market data (MARKETDATA_SOURCE: simulator, toss or replay:<file>) into Redis until SIGTERM/SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--source", help="override MARKETDATA_SOURCE, e.g. replay:ticks.jsonl")
        parser.add_argument("--max-seconds", type=float, default=None, help="stop after this long")

    def handle(self, *args, source: str | None, max_seconds: float | None, **options):
        try:
            config = RelayConfig.from_settings(source=source)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            stats = run_relay(config=config, stop=stop, max_seconds=max_seconds)
        except redis.ConnectionError as exc:
            # The URL may carry a password: name the setting, not its value.
            raise CommandError(f"cannot reach Redis at REDIS_URL: {type(exc).__name__}") from exc
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(
            f"relay {stats.state}: {stats.messages_total} ticks, {stats.malformed_total} malformed, "
            f"{stats.reconnects} reconnects"
        )
