"""Account events inside one ws process: ONE Redis pattern subscription feeds every /ws/account/ socket.

A committed transaction publishes its events, one JSON list per transaction, to
`account:events:{db}:{user_id}` (trading.events). Each ws process subscribes once to
`account:events:{db}:*` and hands each list to the sockets of that user in the process;
other users' messages are dropped unread. Publishing is one synchronous PUBLISH in
the committing process. A channels_redis group_send cost the placing request ~0.8 ms
more (two Redis commands from a background event loop; bench/order_costs.py).

Pub/sub delivers at most once and, across processes, not necessarily in seq order.
Each socket therefore sends an account's events strictly in seq order, once: an
event that jumps ahead is sent after the ones before it, read from the database
(they are committed: the later transaction waited for the account lock), and one
already sent is dropped. After the subscription was lost (Redis restart), every
socket catches up from the database.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from django.conf import settings

from stocking.hubs import HubPerLoop, SubscriptionHub
from trading.events import account_events_prefix

if TYPE_CHECKING:
    from trading.consumers import AccountConsumer

logger = logging.getLogger(__name__)

_POLL_SECONDS = 5.0  # wake up this often without messages, so the connection's health check runs


class AccountEventHub(SubscriptionHub):
    """The process's subscription to every account's events and the sockets waiting for them, by user."""

    name = "account events"

    def __init__(self, *, redis_url: str):
        super().__init__(aioredis.Redis.from_url(redis_url, health_check_interval=15))
        self.sockets: dict[int, set[AccountConsumer]] = {}
        self.prefix = account_events_prefix()

    async def attach(self, user_id: int, socket: AccountConsumer) -> None:
        self.sockets.setdefault(user_id, set()).add(socket)
        await self.start()

    async def detach(self, user_id: int, socket: AccountConsumer) -> None:
        sockets = self.sockets.get(user_id, set())
        sockets.discard(socket)
        if not sockets:
            self.sockets.pop(user_id, None)
        if not self.sockets:
            _hubs.forget(self)
            await self.stop()

    async def listen(self, pubsub) -> None:
        await pubsub.psubscribe(self.prefix + "*")
        while True:
            message = await pubsub.get_message(timeout=_POLL_SECONDS)
            if message is None:
                continue
            if message["type"] == "psubscribe":
                await self.subscribed()
            elif message["type"] == "pmessage":
                self.deliver(message["channel"], message["data"])

    async def on_resubscribed(self) -> None:
        for sockets in self.sockets.values():
            for socket in sockets:
                socket.offer([])  # "some may be lost": it reads them back from the database

    def deliver(self, channel: bytes, data: bytes) -> None:
        try:
            user_id = int(channel.decode().removeprefix(self.prefix))
        except ValueError:
            logger.warning("account events: unexpected channel %r", channel)
            return
        sockets = self.sockets.get(user_id)
        if not sockets:
            return
        try:
            messages = json.loads(data)
        except ValueError:
            messages = None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            logger.warning("account events: malformed message on %s skipped", channel)
            return
        for socket in sockets:
            socket.offer(messages)


_hubs: HubPerLoop[AccountEventHub] = HubPerLoop(lambda: AccountEventHub(redis_url=settings.REDIS_URL))
account_event_hub = _hubs.get
