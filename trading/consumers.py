"""/ws/account/: a user's order updates, fills and balance changes, with resume (DESIGN.md §8)."""

import asyncio
import logging

from channels.db import database_sync_to_async

from portfolio.models import Account
from stocking.consumers import AuthenticatedJsonConsumer
from stocking.hubs import cancel_and_wait
from trading.events import event_message
from trading.live import AccountEventHub, account_event_hub
from trading.selectors import account_events_after

logger = logging.getLogger(__name__)

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


class AccountConsumer(AuthenticatedJsonConsumer):
    """Sends the open account's events in seq order, each once (see trading.live)."""

    hub: AccountEventHub | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_id: int | None = None
        self.sent_seq = 0  # the client has (or was told of, in hello) every event up to here
        self._inbox: asyncio.Queue[list[dict]] = asyncio.Queue(maxsize=INBOX_LIMIT)
        self._behind = False
        self._sending = asyncio.Lock()
        self._sender: asyncio.Task | None = None

    async def on_authenticated(self):  # once per socket (AuthenticatedJsonConsumer)
        self.hub = account_event_hub()
        await self.hub.attach(self.user.pk, self)  # before reading the state: no event falls in between
        try:
            self.account_id, self.sent_seq = await _open_account_state(self.user.pk)
            await self.send_json({"type": "hello", "username": self.user.get_username(),
                                  "account_id": self.account_id, "last_seq": self.sent_seq})  # fmt: skip
        except BaseException:  # the socket dies without a disconnect: leave the hub now
            await self.hub.detach(self.user.pk, self)
            self.hub = None
            raise
        self._sender = asyncio.get_running_loop().create_task(self._send_published(), name="account-socket")

    def offer(self, messages: list[dict]) -> None:
        """Published events (or [] = "some may be lost"), from the hub; never blocks it."""
        try:
            self._inbox.put_nowait(messages)
        except asyncio.QueueFull:
            self._behind = True

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
                    logger.exception("account events of user %s: sending failed", self.user.pk)
                    self._behind = True

    async def _send_in_order(self, messages: list[dict]):
        account_id = messages[0].get("account_id")
        if not isinstance(account_id, int):
            return
        if self.account_id is None or account_id > self.account_id:  # a reset opened a newer account?
            open_account_id, _ = await _open_account_state(self.user.pk)
            if open_account_id != account_id:
                return
            self.account_id, self.sent_seq = account_id, 0  # the events before this one follow from the database
        elif account_id < self.account_id:  # a closed account's late news
            return
        seqs = [m.get("seq") for m in messages]
        if seqs == list(range(self.sent_seq + 1, self.sent_seq + 1 + len(seqs))):
            for message in messages:
                await self.send_json(message)
                self.sent_seq += 1
        elif any(isinstance(seq, int) and seq > self.sent_seq for seq in seqs):
            await self._catch_up()  # ahead of what was sent: the events before it come from the database
        # else: all sent already

    async def _catch_up(self):
        while self.account_id is not None:
            missed = await _missed(self.account_id, self.sent_seq)
            for message in missed:
                await self.send_json(message)
                self.sent_seq = message["seq"]
            if len(missed) < REPLAY_LIMIT:
                return

    async def handle_action(self, action: str, message: dict):
        if action != "resume":
            await super().handle_action(action, message)
            return
        after_seq = message.get("after_seq")
        if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
            await self.send_error("bad_message", '"after_seq" must be a non-negative integer.')
            return
        async with self._sending:  # no live event slips in between the replayed ones
            account_id, _ = await _open_account_state(self.user.pk)
            if account_id is None:
                await self.send_error("account_not_found", "You have no open paper account.")
                return
            if account_id != self.account_id:
                # A reset opened this account since the socket last spoke of one: the client's
                # after_seq counts the old account's events, so the new one's replay from its start.
                self.account_id, self.sent_seq, after_seq = account_id, 0, 0
            missed = await _missed(account_id, after_seq)
            for event in missed:
                await self.send_json(event)
            if missed:
                self.sent_seq = max(self.sent_seq, missed[-1]["seq"])
            await self.send_json({"type": "resumed", "account_id": account_id, "count": len(missed),
                                  "more": len(missed) == REPLAY_LIMIT})  # fmt: skip

    async def disconnect(self, code):
        try:
            await cancel_and_wait(self._sender)
        finally:
            if self.hub is not None:
                await self.hub.detach(self.user.pk, self)
