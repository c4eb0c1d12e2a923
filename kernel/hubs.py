"""A ws process's ONE Redis subscription for many sockets: the frame that live prices
(marketdata.fanout) and account events (portfolio.live) share.

The first socket starts the subscription and waits (bounded) until it is live; the
subscription survives Redis restarts (resubscribe with backoff, then `on_resubscribed`
for what was published meanwhile and is lost); the last socket stops it. One hub per
event loop: daphne has one; each async test has its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

import redis
import redis.asyncio as aioredis

logger = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 5.0
_BACKOFF_START, _BACKOFF_CAP = 0.5, 10.0


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
        self._backoff = _BACKOFF_START
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
        self._backoff = _BACKOFF_START

    async def _run(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await self.listen(pubsub)
            except (redis.RedisError, OSError) as exc:
                logger.warning("%s: %s; resubscribing in %.1f s", self.name, exc, self._backoff)
            except Exception:
                logger.exception("%s: unexpected error; resubscribing in %.1f s", self.name, self._backoff)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, _BACKOFF_CAP)

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
