"""The relay's settings, read once into a typed value (tests build their own with dataclasses.replace)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from marketdata.relay.keys import COMMANDS_CHANNEL, TICKS_CHANNEL
from marketdata.topics import DestinationEncoding


@dataclass(frozen=True)
class RelayConfig:
    source: str = "simulator"  # simulator | toss | replay:<file>
    redis_url: str = "redis://127.0.0.1:6379/0"
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    health_interval: float = 3.0
    batch_max: int = 500
    poll_interval: float = 0.2
    receipt_timeout: float = 5.0
    disconnect_timeout: float = 2.0
    # fold each batch into 1-minute candles in the database (off for bare Redis ingest)
    record_candles: bool = False
    candles_interval: float = 1.0  # seconds between candle writes (bars fold in memory meanwhile)
    # Pub/sub channels belong to the whole Redis server, not to one database: tests pick their own.
    ticks_channel: str = TICKS_CHANNEL
    commands_channel: str = COMMANDS_CHANNEL
    # toss
    toss_url: str = ""
    toss_origin: str = "https://www.tossinvest.com"
    toss_headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # secret
    toss_guest_key_url: str = field(default="", repr=False)
    toss_destination_encoding: DestinationEncoding = DestinationEncoding.PLAIN
    toss_heartbeats: tuple[int, int] = (5000, 5000)
    toss_connect_timeout: float = 10.0
    toss_subscribe_active_stocks: bool = True
    # simulator
    simulator_seed: int | None = None
    simulator_ticks_per_second: float = 300.0
    simulator_day_seconds: float = 23_400.0  # one simulated trading day (its volume profile, its volatility)
    # KOSPI/KOSDAQ: computed from the constituents (simulator, replay) or read from the feed's index topics (toss)
    indices: bool = True
    index_interval: float = 0.5  # seconds between computed index values, per index
    # replay: None = as fast as possible, else a multiple of the recorded speed
    replay_speed: float | None = 1.0

    @property
    def source_kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def replay_path(self) -> Path:
        return Path(self.source.split(":", 1)[1])

    @classmethod
    def from_settings(cls, *, source: str | None = None) -> "RelayConfig":
        config = cls(
            source=(source or settings.MARKETDATA_SOURCE).strip(),
            redis_url=settings.REDIS_URL,
            backoff_base=settings.RELAY_BACKOFF_BASE_SECONDS,
            backoff_cap=settings.RELAY_BACKOFF_CAP_SECONDS,
            health_interval=settings.RELAY_HEALTH_INTERVAL_SECONDS,
            batch_max=settings.RELAY_BATCH_MAX,
            poll_interval=settings.RELAY_POLL_SECONDS,
            receipt_timeout=settings.RELAY_RECEIPT_TIMEOUT_SECONDS,
            disconnect_timeout=settings.RELAY_DISCONNECT_TIMEOUT_SECONDS,
            record_candles=settings.RELAY_RECORD_CANDLES,
            candles_interval=settings.RELAY_CANDLES_INTERVAL_SECONDS,
            toss_url=settings.TOSS_WS_URL,
            toss_origin=settings.TOSS_WS_ORIGIN,
            toss_headers=settings.TOSS_WS_HEADERS,
            toss_guest_key_url=settings.TOSS_GUEST_KEY_URL,
            toss_destination_encoding=_encoding(settings.TOSS_DESTINATION_ENCODING),
            toss_heartbeats=parse_heartbeats(settings.TOSS_HEARTBEAT_MS),
            toss_connect_timeout=settings.TOSS_CONNECT_TIMEOUT_SECONDS,
            toss_subscribe_active_stocks=settings.TOSS_SUBSCRIBE_ACTIVE_STOCKS,
            simulator_seed=settings.SIMULATOR_SEED,
            simulator_ticks_per_second=settings.SIMULATOR_TICKS_PER_SECOND,
            simulator_day_seconds=settings.SIMULATOR_DAY_SECONDS,
            indices=settings.RELAY_INDICES,
            index_interval=settings.RELAY_INDEX_INTERVAL_SECONDS,
            replay_speed=parse_replay_speed(settings.REPLAY_SPEED),
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Fail at startup, with a message that says what to set, rather than in the loop."""
        kind = self.source_kind
        if kind not in ("simulator", "toss", "replay"):
            raise ImproperlyConfigured(
                f"MARKETDATA_SOURCE must be simulator, toss or replay:<file>, got {self.source!r}"
            )
        if kind == "replay" and not self.replay_path.is_file():
            raise ImproperlyConfigured(f"MARKETDATA_SOURCE replay file not found: {self.replay_path}")
        if kind == "toss":
            if not self.toss_url.startswith(("ws://", "wss://")):
                raise ImproperlyConfigured("MARKETDATA_SOURCE=toss needs TOSS_WS_URL (ws:// or wss://)")
            if not isinstance(self.toss_headers, Mapping):
                raise ImproperlyConfigured("TOSS_WS_HEADERS must be a JSON object of CONNECT headers")
            if self.toss_guest_key_url and not self.toss_guest_key_url.startswith(("https://", "http://")):
                raise ImproperlyConfigured("TOSS_GUEST_KEY_URL must be an http(s) URL")
            for name, value in self.toss_headers.items():
                # A line break or NUL would end the STOMP header block early; the value itself is not shown.
                if any(c in f"{name}{value}" for c in "\r\n\0") or ":" in str(name):
                    raise ImproperlyConfigured(f"TOSS_WS_HEADERS: header {name!r} has a forbidden character")
        if self.batch_max < 1 or self.poll_interval <= 0 or self.backoff_base <= 0:
            raise ImproperlyConfigured("RELAY_BATCH_MAX, RELAY_POLL_SECONDS and RELAY_BACKOFF_BASE_SECONDS must be > 0")
        if self.simulator_ticks_per_second <= 0:
            raise ImproperlyConfigured("SIMULATOR_TICKS_PER_SECOND must be > 0")
        if self.simulator_day_seconds <= 0:
            raise ImproperlyConfigured("SIMULATOR_DAY_SECONDS must be > 0")
        if self.index_interval <= 0:
            raise ImproperlyConfigured("RELAY_INDEX_INTERVAL_SECONDS must be > 0")


def _encoding(value: str) -> DestinationEncoding:
    try:
        return DestinationEncoding(value)
    except ValueError as exc:
        raise ImproperlyConfigured("TOSS_DESTINATION_ENCODING must be plain or percent-slashes") from exc


def parse_heartbeats(value: str | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, tuple):
        return value
    try:
        send_ms, receive_ms = (int(part) for part in value.split(","))
    except ValueError as exc:
        raise ImproperlyConfigured("TOSS_HEARTBEAT_MS must look like 5000,5000 (send,receive in ms)") from exc
    if send_ms < 0 or receive_ms < 0:
        raise ImproperlyConfigured("TOSS_HEARTBEAT_MS values must be >= 0")
    return send_ms, receive_ms


def parse_replay_speed(value: str | float | None) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "max"):
        return None
    try:
        speed = float(value)
    except ValueError as exc:
        raise ImproperlyConfigured("REPLAY_SPEED must be max or a positive number such as 1.0") from exc
    if not speed > 0:
        raise ImproperlyConfigured("REPLAY_SPEED must be max or a positive number such as 1.0")
    return speed
