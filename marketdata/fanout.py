"""Live prices inside one ws process: ONE Redis subscription to `stock:ticks` feeds every /ws/prices/ socket.

The hub is started by the first socket of the process (one per event loop) and stopped
when the last one leaves. Each socket owns a Mailbox: the newest message per code, sent
by the socket's own task, so a socket that falls behind gets the latest price per code
and never an unbounded queue (conflation). A mailbox holds at most one message per code
the socket subscribed to.

Delivery, `settings.PRICES_FANOUT` (measured side by side by bench/ws_fanout.py):
  "local" (default)   the hub hands each tick straight to the mailboxes of the sockets in
                      the group prices.{code}: no Redis round trip per tick and per socket.
  "channel_layer"     each tick is group_sent through the channel layer and reaches the
                      sockets through it. Kept as the measured alternative: every ws process
                      would send every tick once more, so it needs a single sender to scale out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

import redis
import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings

from kernel.hubs import HubPerLoop, SubscriptionHub, cancel_and_wait
from marketdata import broadcast
from marketdata.indices import INDEX_REALTIME_KEY, is_index_code
from marketdata.prices import REALTIME_KEY
from marketdata.relay.keys import TICKS_CHANNEL

logger = logging.getLogger(__name__)

LOCAL = "local"
CHANNEL_LAYER = "channel_layer"
MODES = (LOCAL, CHANNEL_LAYER)
_POLL_SECONDS = 5.0  # wake up this often without messages, so the connection's health check runs
_MESSAGES_PER_ROUND = 1000
_REDIS_CONNECTIONS = 16  # one holds the subscription; the others serve snapshot MGETs
_REDIS_WAIT_SECONDS = 10.0


def fanout_mode() -> str:
    mode = settings.PRICES_FANOUT
    if mode not in MODES:
        raise ValueError(f"PRICES_FANOUT must be one of {MODES}, not {mode!r}")
    return mode


class Mailbox:
    """The newest message per code for one socket, drained by the socket's own task."""

    def __init__(self, send: Callable[[str], Awaitable[None]], *, channel_name: str | None = None):
        self._send = send
        self.channel_name = channel_name
        self.codes: set[str] = set()
        self._pending: dict[str, str] = {}
        self._seen_live: set[str] = set()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        # Batching socket (it asked for it): everything pending goes out as ONE frame,
        # {"type": "ticks", "ticks": [...]}, and at most one frame per batch_interval: frames,
        # not bytes, are what a ws process pays for. A tick after a quiet spell goes out at once.
        self.batch = False
        self.batch_interval = 0.0
        self.sent = 0
        self.conflated = 0  # messages replaced by a newer one before they were sent

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drain(), name="prices-mailbox")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self._pending.clear()

    def offer(self, code: str, text: str) -> None:
        """A live tick: replaces whatever is still waiting for this code."""
        if code not in self.codes:
            return
        self._seen_live.add(code)
        if self._pending.pop(code, None) is not None:
            self.conflated += 1
        self._pending[code] = text
        self._wakeup.set()

    def offer_snapshot(self, code: str, text: str) -> None:
        """A stored price: only if no live tick came for the code since it was (re)subscribed."""
        if code in self.codes and code not in self._seen_live and code not in self._pending:
            self._pending[code] = text
            self._wakeup.set()

    def subscribe(self, codes: Iterable[str]) -> None:
        for code in codes:
            self.codes.add(code)
            self._seen_live.discard(code)

    def unsubscribe(self, codes: Iterable[str]) -> None:
        for code in codes:
            self.codes.discard(code)
            self._seen_live.discard(code)
            self._pending.pop(code, None)

    async def _drain(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                pending, self._pending = self._pending, {}
                if self.batch:
                    await self._send(broadcast.ticks_frame(pending.values()))
                    self.sent += len(pending)
                    if self.batch_interval:
                        await asyncio.sleep(self.batch_interval)
                    continue
                for text in pending.values():
                    await self._send(text)
                    self.sent += 1


class PriceHub(SubscriptionHub):
    """The process's subscription to `stock:ticks` and its groups prices.{code} of mailboxes."""

    name = "prices feed"

    def __init__(self, *, redis_url: str, mode: str):
        self.mode = mode
        self.groups: dict[str, set[Mailbox]] = {}
        self.members: set[Mailbox] = set()
        self.messages_received = 0
        # Blocking pool: a burst of subscribes (page loads after a deploy) queues for a connection instead of
        # failing: redis-py 8's default pool raises MaxConnectionsError past 100 connections in use.
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_url,
            max_connections=_REDIS_CONNECTIONS,
            timeout=_REDIS_WAIT_SECONDS,
            decode_responses=True,
            health_check_interval=15,
        )
        super().__init__(aioredis.Redis.from_pool(pool))

    # --- membership ------------------------------------------------------------------

    async def attach(self, mailbox: Mailbox) -> None:
        """Count a socket in; the first one starts the subscription. Waits (bounded) until it is live."""
        self.members.add(mailbox)
        await self.start()

    async def detach(self, mailbox: Mailbox) -> None:
        await self.leave(mailbox, list(mailbox.codes))
        self.members.discard(mailbox)
        if not self.members:
            _hubs.forget(self)
            await self.stop()

    async def join(self, mailbox: Mailbox, codes: Iterable[str]) -> None:
        codes = list(codes)
        mailbox.subscribe(codes)
        if self.mode == CHANNEL_LAYER:
            layer = get_channel_layer()
            for code in codes:
                await layer.group_add(broadcast.group_name(code), mailbox.channel_name)
        else:
            for code in codes:
                self.groups.setdefault(broadcast.group_name(code), set()).add(mailbox)

    async def leave(self, mailbox: Mailbox, codes: Iterable[str]) -> None:
        codes = [code for code in codes if code in mailbox.codes]
        mailbox.unsubscribe(codes)
        if self.mode == CHANNEL_LAYER:
            layer = get_channel_layer()
            for code in codes:
                await layer.group_discard(broadcast.group_name(code), mailbox.channel_name)
        else:
            for code in codes:
                group = self.groups.get(broadcast.group_name(code))
                if group is not None:
                    group.discard(mailbox)
                    if not group:
                        del self.groups[broadcast.group_name(code)]

    # --- ticks -------------------------------------------------------------------------

    def deliver(self, texts: dict[str, str]) -> None:
        """Local delivery: each encoded tick into the mailboxes of its group."""
        groups = self.groups
        for code, text in texts.items():
            for mailbox in groups.get(broadcast.GROUP_PREFIX + code, ()):
                mailbox.offer(code, text)

    async def snapshot(self, codes: list[str]) -> dict[str, str]:
        """The stored price of each code (or value of each index) as a tick message, in one MGET."""
        if not codes:
            return {}
        keys = [(INDEX_REALTIME_KEY if is_index_code(code) else REALTIME_KEY).format(code=code) for code in codes]
        stored = await self._redis.mget(keys)
        texts = {code: broadcast.snapshot_text(code, value) for code, value in zip(codes, stored, strict=True)}
        return {code: text for code, text in texts.items() if text is not None}

    async def listen(self, pubsub) -> None:
        await pubsub.subscribe(TICKS_CHANNEL)
        while True:
            message = await pubsub.get_message(timeout=_POLL_SECONDS)
            # Then whatever else has arrived meanwhile: when sending falls behind, the batches
            # merge here (newest tick per code) instead of queueing in Redis for this client.
            texts: dict[str, str] = {}
            handled = 0
            while message is not None:
                if message["type"] == "subscribe":
                    await self.subscribed()
                elif message["type"] == "message":
                    self.messages_received += 1
                    for code, text in broadcast.tick_texts(message["data"]).items():
                        texts.pop(code, None)
                        texts[code] = text
                handled += 1
                message = await pubsub.get_message(timeout=0) if handled < _MESSAGES_PER_ROUND else None
            await broadcast.send_ticks(self, texts)

    async def on_resubscribed(self) -> None:
        await self._resend_stored_prices()  # ticks published while away are lost

    async def _resend_stored_prices(self) -> None:
        codes = sorted({code for mailbox in self.members for code in mailbox.codes})
        try:
            texts = await self.snapshot(codes)
        except redis.RedisError as exc:
            logger.warning("prices feed: could not reload stored prices: %s", exc)
            return
        for mailbox in self.members:
            for code in mailbox.codes & texts.keys():
                mailbox.offer(code, texts[code])


_hubs: HubPerLoop[PriceHub] = HubPerLoop(lambda: PriceHub(redis_url=settings.REDIS_URL, mode=fanout_mode()))
price_hub = _hubs.get
