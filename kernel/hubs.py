"""Redis pub/sub subscriptions that survive Redis restarts, with ONE retry policy (`RetryPolicy`):
exponential backoff with jitter, capped, reset only after a healthy period, logged once per outage.

`SubscriptionHub` (async): a ws process's ONE subscription for many sockets, the frame that live
prices (marketdata.fanout) and account events (portfolio.live) share.
`SubscriptionLoop` (sync): a thread's subscription in the long-running commands (the matcher,
run_candles).

The first socket starts the subscription and waits (bounded) until it is live; the
subscription survives Redis restarts (resubscribe with backoff, then `on_resubscribed`
for what was published meanwhile and is lost); the last socket stops it. One hub per
event loop: daphne has one; each async test has its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import redis
import redis.asyncio as aioredis

logger = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 5.0
BACKOFF_START_SECONDS, BACKOFF_CAP_SECONDS = 0.5, 10.0
HEALTHY_SECONDS = 30.0  # a subscription that lived this long starts the next outage's backoff from the bottom


class RetryPolicy:
    """When to retry a lost subscription, and what to log: one warning when an outage starts, one line
    when it ends, nothing per attempt in between (a Redis restart must not flood the log).

    Delays double from `start` up to `cap`, each scaled by a random 0.5–1.0 so that many processes
    do not reconnect in step. A subscription that comes back and drops again within `healthy_seconds`
    keeps climbing: a flapping server is not hammered every `start` seconds.
    """

    def __init__(
        self,
        name: str,
        *,
        start: float = BACKOFF_START_SECONDS,
        cap: float = BACKOFF_CAP_SECONDS,
        healthy_seconds: float = HEALTHY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.start, self.cap, self.healthy_seconds = start, cap, healthy_seconds
        self._clock = clock
        self._jitter = random.Random()  # noqa: S311 - backoff jitter, not security
        self.attempts = 0  # failures since the last healthy period
        self.outages = 0
        self._outage_started_at: float | None = None
        self._up_since: float | None = None

    @property
    def in_outage(self) -> bool:
        return self._outage_started_at is not None

    def failed(self, exc: BaseException) -> float:
        """The subscription failed (or could not be made): how long to wait before the next attempt."""
        now = self._clock()
        if self._up_since is not None and now - self._up_since >= self.healthy_seconds:
            self.attempts = 0
        self._up_since = None
        delay = min(self.cap, self.start * 2**self.attempts) * self._jitter.uniform(0.5, 1.0)
        self.attempts += 1
        if self._outage_started_at is None:
            self._outage_started_at = now
            self.outages += 1
            logger.warning("%s: subscription lost (%s); retrying with backoff", self.name, exc)
        else:
            logger.debug("%s: attempt %d failed (%s); next in %.2f s", self.name, self.attempts, exc, delay)
        return delay

    def succeeded(self) -> None:
        """The subscription is confirmed."""
        now = self._clock()
        self._up_since = now
        if self._outage_started_at is not None:
            logger.warning(
                "%s: subscribed again after %.1f s (%d attempts)",
                self.name,
                now - self._outage_started_at,
                self.attempts,
            )
            self._outage_started_at = None


class SubscriptionLoop:
    """A blocking subscription to `channels` (sync side): each message's data goes to `handle` until
    `stop` is set; a lost connection is retried per `RetryPolicy`. `after_poll` runs after every poll
    (about every `poll_seconds`, message or not): periodic work, such as writing what was folded."""

    def __init__(
        self,
        *,
        redis_url: str,
        channels: Iterable[str],
        handle: Callable[[bytes], None],
        stop: threading.Event,
        name: str,
        poll_seconds: float = 1.0,
        after_poll: Callable[[], None] | None = None,
        on_subscribed: Callable[[], None] | None = None,
        on_lost: Callable[[BaseException], None] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.channels = list(channels)
        self.handle = handle
        self.stop = stop
        self.name = name
        self.poll_seconds = poll_seconds
        self.after_poll = after_poll
        self.on_subscribed = on_subscribed
        self.on_lost = on_lost
        self.retry = retry or RetryPolicy(name)
        self.reconnects = 0  # subscriptions lost
        # Named in CLIENT LIST, so an operator (or a test) sees which process holds which subscription.
        self.client_name = f"{name.replace(' ', '_')}:{os.getpid()}"

    def run(self) -> None:
        while not self.stop.is_set():
            client = redis.Redis.from_url(self.redis_url, health_check_interval=30, client_name=self.client_name)
            pubsub = client.pubsub()
            try:
                self._listen(pubsub)
            except (redis.RedisError, OSError) as exc:
                self.reconnects += 1
                delay = self.retry.failed(exc)
                if self.on_lost is not None:
                    self.on_lost(exc)
                self._wait(delay)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
                    client.close()

    def _listen(self, pubsub) -> None:
        pubsub.subscribe(*self.channels)
        waiting = len(self.channels)
        while not self.stop.is_set():
            message = pubsub.get_message(timeout=self.poll_seconds)
            if message is not None:
                if message["type"] == "subscribe":
                    waiting -= 1
                    if waiting == 0:
                        self.retry.succeeded()
                        if self.on_subscribed is not None:
                            self.on_subscribed()
                elif message["type"] == "message":
                    self.handle(message["data"])
            if self.after_poll is not None:
                self.after_poll()

    def _wait(self, delay: float) -> None:
        """Sleep `delay` (or until stop), still running `after_poll` on time: its work must not stall with Redis."""
        deadline = time.monotonic() + delay
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.stop.wait(min(remaining, self.poll_seconds))
            if self.after_poll is not None:
                self.after_poll()


async def cancel_and_wait(task: asyncio.Task | None) -> None:
    """Stop a background task and wait until it has (its CancelledError is the expected end)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class SubscriptionHub:
    name = "subscription"

    def __init__(self, redis_client: aioredis.Redis):
        self._redis = redis_client
        self._ready = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.retry = RetryPolicy(self.name)
        self._late = False  # a socket stopped waiting for the subscription and went on without it

    async def listen(self, pubsub: aioredis.client.PubSub) -> None:
        """Subscribe, then handle messages until the connection fails; call `subscribed` on each confirmation."""
        raise NotImplementedError

    async def on_resubscribed(self) -> None:
        """The subscription is back after a loss: make up for what was published meanwhile."""

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)
        if not self._ready.is_set():
            try:
                await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT_SECONDS)
            except TimeoutError:
                self._late = True

    async def subscribed(self) -> None:
        if self._ready.is_set() or self._late:
            await self.on_resubscribed()
        self._ready.set()
        self._late = False
        self.retry.succeeded()

    async def _run(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            delay = self.retry.start  # listen() only returns by an error; should it ever not
            try:
                await self.listen(pubsub)
            except (redis.RedisError, OSError) as exc:
                delay = self.retry.failed(exc)
            except Exception as exc:
                logger.exception("%s: unexpected error; resubscribing", self.name)
                delay = self.retry.failed(exc)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(delay)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._redis.aclose()


Hub = TypeVar("Hub", bound=SubscriptionHub)


class HubPerLoop(Generic[Hub]):
    """The hub of the running event loop, made on first use and forgotten when its last socket leaves."""

    def __init__(self, make: Callable[[], Hub]):
        self._make = make
        self._hubs: dict[asyncio.AbstractEventLoop, Hub] = {}

    def get(self) -> Hub:
        loop = asyncio.get_running_loop()
        hub = self._hubs.get(loop)
        if hub is None:
            for stale in [other for other in self._hubs if other.is_closed()]:
                del self._hubs[stale]
            hub = self._hubs[loop] = self._make()
        return hub

    def forget(self, hub: Hub) -> None:
        for loop, known in list(self._hubs.items()):
            if known is hub:
                del self._hubs[loop]
