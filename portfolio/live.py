"""Account events inside one ws process: ONE Redis pattern subscription feeds every /ws/account/ socket.

A committed transaction publishes its events, one JSON list per transaction, to
`account:events:{db}:{user_id}` (portfolio.events). Each ws process subscribes once to
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

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings

from kernel.hubs import HubPerLoop, SubscriptionHub, cancel_and_wait
from portfolio.events import account_events_prefix, event_message
from portfolio.models import Account
from portfolio.selectors import account_events_after

logger = logging.getLogger(__name__)

_POLL_SECONDS = 5.0  # wake up this often without messages, so the connection's health check runs
REPLAY_LIMIT = 500
INBOX_LIMIT = 1000  # published lists waiting for a slow socket; past it, it catches up from the database


@database_sync_to_async
def _open_account_state(user_id: int) -> tuple[int | None, int]:
    account = Account.objects.filter(user_id=user_id, is_open=True).first()
    if account is None:
        return None, 0
    return account.pk, account.last_event_seq


@database_sync_to_async
def _missed(account_id: int, after_seq: int) -> list[dict]:
    return [
        event_message(e) for e in account_events_after(account_id=account_id, after_seq=after_seq, limit=REPLAY_LIMIT)
    ]


class AccountStream:
    """One socket's view of its user's events: the open account's, in seq order, each once."""

    def __init__(self, user_id: int, send: Callable[[dict], Awaitable[None]]):
        self.user_id = user_id
        self._send = send
        self.account_id: int | None = None
        self.sent_seq = 0  # the client has (or was told of, in hello) every event up to here
        self._inbox: asyncio.Queue[list[dict]] = asyncio.Queue(maxsize=INBOX_LIMIT)
        self._behind = False
        self._sending = asyncio.Lock()
        self._sender: asyncio.Task | None = None
        self._hub: AccountEventHub | None = None

    async def open(self) -> tuple[int | None, int]:
        """Join the hub, then read the open account and its last seq (what hello says): no event falls in
        between. Published events are sent from `start` on."""
        self._hub = account_event_hub()
        await self._hub.attach(self.user_id, self)
        try:
            self.account_id, self.sent_seq = await _open_account_state(self.user_id)
        except BaseException:  # the socket dies without a disconnect: leave the hub now
            await self.close()
            raise
        return self.account_id, self.sent_seq

    def start(self) -> None:
        self._sender = asyncio.get_running_loop().create_task(self._send_published(), name="account-socket")

    async def close(self) -> None:
        try:
            await cancel_and_wait(self._sender)
        finally:
            if self._hub is not None:
                await self._hub.detach(self.user_id, self)
                self._hub = None

    def offer(self, messages: list[dict]) -> None:
        """Published events (or [] = "some may be lost"), from the hub; never blocks it."""
        try:
            self._inbox.put_nowait(messages)
        except asyncio.QueueFull:
            self._behind = True

    async def resume(self, after_seq: int) -> bool:
        """Send the open account's events after `after_seq`, then {"type": "resumed"}; False without an account."""
        async with self._sending:  # no live event slips in between the replayed ones
            account_id, _ = await _open_account_state(self.user_id)
            if account_id is None:
                return False
            if account_id != self.account_id:
                # A reset opened this account since the socket last spoke of one: the client's
                # after_seq counts the old account's events, so the new one's replay from its start.
                self.account_id, self.sent_seq, after_seq = account_id, 0, 0
            missed = await _missed(account_id, after_seq)
            for event in missed:
                await self._send(event)
            if missed:
                self.sent_seq = max(self.sent_seq, missed[-1]["seq"])
            await self._send({"type": "resumed", "account_id": account_id, "count": len(missed),
                              "more": len(missed) == REPLAY_LIMIT})  # fmt: skip
            return True

    async def _send_published(self):
        while True:
            messages = await self._inbox.get()
            async with self._sending:
                try:
                    if self._behind or not messages:
                        self._behind = False
                        await self._catch_up()
                    if messages:  # may name a newer account (a reset) that the catch-up did not know
                        await self._send_in_order(messages)
                except Exception:  # e.g. the database away: the next message catches up, the stream goes on
                    logger.exception("account events of user %s: sending failed", self.user_id)
                    self._behind = True

    async def _send_in_order(self, messages: list[dict]):
        account_id = messages[0].get("account_id")
        if not isinstance(account_id, int):
            return
        if self.account_id is None or account_id > self.account_id:  # a reset opened a newer account?
            open_account_id, _ = await _open_account_state(self.user_id)
            if open_account_id != account_id:
                return
            self.account_id, self.sent_seq = account_id, 0  # the events before this one follow from the database
        elif account_id < self.account_id:  # a closed account's late news
            return
        seqs = [m.get("seq") for m in messages]
        if seqs == list(range(self.sent_seq + 1, self.sent_seq + 1 + len(seqs))):
            for message in messages:
                await self._send(message)
                self.sent_seq += 1
        elif any(isinstance(seq, int) and seq > self.sent_seq for seq in seqs):
            await self._catch_up()  # ahead of what was sent: the events before it come from the database
        # else: all sent already

    async def _catch_up(self):
        while self.account_id is not None:
            missed = await _missed(self.account_id, self.sent_seq)
            for message in missed:
                await self._send(message)
                self.sent_seq = message["seq"]
            if len(missed) < REPLAY_LIMIT:
                return


class AccountEventHub(SubscriptionHub):
    """The process's subscription to every account's events and the sockets' streams waiting for them, by user."""

    name = "account events"

    def __init__(self, *, redis_url: str):
        super().__init__(aioredis.Redis.from_url(redis_url, health_check_interval=15))
        self.streams: dict[int, set[AccountStream]] = {}
        self.prefix = account_events_prefix()

    async def attach(self, user_id: int, stream: AccountStream) -> None:
        self.streams.setdefault(user_id, set()).add(stream)
        await self.start()

    async def detach(self, user_id: int, stream: AccountStream) -> None:
        streams = self.streams.get(user_id, set())
        streams.discard(stream)
        if not streams:
            self.streams.pop(user_id, None)
        if not self.streams:
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
        for streams in self.streams.values():
            for stream in streams:
                stream.offer([])  # "some may be lost": it reads them back from the database

    def deliver(self, channel: bytes, data: bytes) -> None:
        try:
            user_id = int(channel.decode().removeprefix(self.prefix))
        except ValueError:
            logger.warning("account events: unexpected channel %r", channel)
            return
        streams = self.streams.get(user_id)
        if not streams:
            return
        try:
            messages = json.loads(data)
        except ValueError:
            messages = None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            logger.warning("account events: malformed message on %s skipped", channel)
            return
        for stream in streams:
            stream.offer(messages)


_hubs: HubPerLoop[AccountEventHub] = HubPerLoop(lambda: AccountEventHub(redis_url=settings.REDIS_URL))
account_event_hub = _hubs.get
