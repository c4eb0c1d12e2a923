"""The source interface every feed implements, and the relay's structured log helper.

The relay's loop (runner.Relay) pulls from a Source: `connect()` once per
(re)connection, then `read()` repeatedly; each read returns one Batch, which
the loop writes to Redis in one pipeline. Subscribe/unsubscribe commands are
forwarded to the source between reads. Sources never touch Redis, never
sleep past the timeout they are given, and report a lost feed by raising
SourceError (the loop reconnects with backoff) or the end of a finite feed
by raising FeedExhausted.
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal, Protocol

from marketdata.relay.ticks import Tick

Action = Literal["subscribe", "unsubscribe"]


class SourceError(Exception):
    """The feed could not be reached or was lost; the relay reconnects with backoff."""


class FeedExhausted(Exception):
    """A finite feed (a replay file) has delivered everything."""


@dataclass(frozen=True)
class Ack:
    """The feed's answer to a subscribe/unsubscribe that asked for one (a STOMP RECEIPT or ERROR)."""

    token: str
    topic: str
    action: Action
    ok: bool
    message: str = ""


@dataclass
class Batch:
    ticks: list[Tick] = field(default_factory=list)
    indices: list[Tick] = field(default_factory=list)  # index values from the feed (code KOSPI | KOSDAQ)
    malformed: int = 0
    malformed_reason: str = ""  # why the last malformed frame or body was refused (logged, rate-limited)
    acks: list[Ack] = field(default_factory=list)

    def refuse(self, reason: str) -> None:
        self.malformed += 1
        self.malformed_reason = reason


class Source(Protocol):
    name: str

    def connect(self, topics: Collection[str]) -> None:
        """Open the feed and subscribe to `topics`; raises SourceError."""

    def read(self, timeout: float) -> Batch:
        """What arrived within about `timeout` seconds (maybe nothing); raises SourceError or FeedExhausted."""

    def subscribe(self, topic: str) -> str | None:
        """Start delivering `topic`. Returns a token if an Ack will follow in a later Batch, else None."""

    def unsubscribe(self, topic: str) -> str | None:
        """Stop delivering `topic`. Returns a token if an Ack will follow in a later Batch, else None."""

    def close(self, *, graceful: bool) -> None:
        """Release the feed; graceful=True says goodbye properly (STOMP DISCONNECT with receipt)."""


def _field(value: object) -> str:
    text = str(value)
    return repr(text) if (not text or any(c in text for c in ' "=\n')) else text


def log_event(logger: logging.Logger, level: int, event: str, **fields: object) -> None:
    """`event key=value …` as the message, and the same under `extra` for structured handlers.

    Callers pass only what is safe to log: never CONNECT headers, keys or tokens.
    """
    if logger.isEnabledFor(level):
        text = " ".join(f"{key}={_field(value)}" for key, value in fields.items())
        logger.log(level, "%s %s", event, text, extra={"event": event, "fields": fields})
