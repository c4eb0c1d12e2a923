"""Recorded ticks from a JSONL file: one tick body per line.

A line may carry `received_at` (ISO 8601 or epoch seconds) or else `dt`; at
recorded speed (REPLAY_SPEED=1.0, or 2.0 for twice as fast) the gaps between
those times are kept, lines without a time follow the previous one at once.
REPLAY_SPEED=max ignores the times. The stored tick keeps the line's fields
(`dt` included) but gets the relay's own `received_at`. The file is replayed
once; subscriptions do not filter it. Bad lines are counted as malformed.
"""

import logging
import time
from collections.abc import Callable, Collection
from datetime import datetime
from io import TextIOWrapper
from itertools import islice
from pathlib import Path
from typing import NoReturn

from marketdata.relay.base import Batch, FeedExhausted, SourceError, log_event
from marketdata.relay.ticks import MalformedTick, Tick, parse_tick

logger = logging.getLogger(__name__)


def recorded_time(body: dict) -> float | None:
    """Seconds since the epoch at which the tick was recorded, from received_at or dt."""
    for field in ("received_at", "dt"):
        value = body.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if stamp.tzinfo is not None:
                return stamp.timestamp()
    return None


class ReplaySource:
    name = "replay"

    def __init__(
        self,
        path: Path,
        *,
        speed: float | None = 1.0,
        batch_max: int = 500,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.speed = speed
        self.batch_max = batch_max
        self._clock = clock
        self._sleep = sleep
        self._file: TextIOWrapper | None = None
        self._held: Tick | None = None  # read, not yet due
        self._held_at = 0.0
        self._first_recorded: float | None = None
        self._started_at = 0.0
        self._last_recorded: float | None = None
        self.lines_read = 0
        self._done = False

    def connect(self, topics: Collection[str]) -> None:
        if self._file is not None or self._done:
            return  # a reconnect continues where the file was
        try:
            self._file = self.path.open(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SourceError(f"cannot open replay file: {exc.strerror}") from None
        self._started_at = self._clock()
        log_event(logger, logging.INFO, "relay.replay.started", file=str(self.path), speed=self.speed or "max")

    def subscribe(self, topic: str) -> str | None:
        return None

    def unsubscribe(self, topic: str) -> str | None:
        return None

    def read(self, timeout: float) -> Batch:
        if self._done:
            raise FeedExhausted(str(self.path))
        if self._file is None:
            raise SourceError("replay file is not open")
        return self._read_max() if self.speed is None else self._read_paced(timeout)

    def _read_max(self) -> Batch:
        lines = list(islice(self._file, self.batch_max))
        if not lines:
            self._exhausted()
        first_line = self.lines_read + 1
        self.lines_read += len(lines)
        batch = Batch()
        ticks = batch.ticks
        for number, line in enumerate(lines, start=first_line):
            try:
                ticks.append(parse_tick(line))
            except MalformedTick as exc:
                if line.strip():  # blank lines are not ticks, nor malformed ones
                    batch.refuse(f"line {number}: {exc}")
        return batch

    def _next(self, batch: Batch) -> Tick | None:
        """The next good line as a tick (bad ones counted in `batch`); None at the end of the file."""
        for line in self._file:
            self.lines_read += 1
            if not line.strip():
                continue
            try:
                return parse_tick(line)
            except MalformedTick as exc:
                batch.refuse(f"line {self.lines_read}: {exc}")
        return None

    def _due_at(self, tick: Tick) -> float:
        recorded = recorded_time(tick.body)
        if recorded is None:
            recorded = self._last_recorded
        if recorded is None:
            return self._clock()
        self._last_recorded = recorded
        if self._first_recorded is None:
            self._first_recorded = recorded
        return self._started_at + max(0.0, recorded - self._first_recorded) / self.speed

    def _read_paced(self, timeout: float) -> Batch:
        batch = Batch()
        deadline = self._clock() + timeout
        while len(batch.ticks) < self.batch_max:
            if self._held is None:
                tick = self._next(batch)
                if tick is None:
                    if batch.ticks or batch.malformed:
                        return batch
                    self._exhausted()
                self._held, self._held_at = tick, self._due_at(tick)
            now = self._clock()
            if self._held_at > now:
                if batch.ticks or now >= deadline:
                    return batch
                self._sleep(min(self._held_at, deadline) - now)
                continue
            batch.ticks.append(self._held)
            self._held = None
        return batch

    def _exhausted(self) -> NoReturn:
        self.close(graceful=True)
        self._done = True
        raise FeedExhausted(str(self.path))

    def close(self, *, graceful: bool) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
