"""/ws/account/: a user's order updates, fills and balance changes, with resume (DESIGN.md §8)."""

from channels.db import database_sync_to_async

from portfolio.models import Account
from stocking.consumers import AuthenticatedJsonConsumer
from trading.events import account_group, event_message
from trading.selectors import account_events_after

REPLAY_LIMIT = 500


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
    group = None

    async def on_authenticated(self):
        self.group = account_group(self.user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        account_id, last_seq = await _open_account_state(self.user.pk)
        await self.send_json({"type": "hello", "username": self.user.get_username(), "account_id": account_id,
                              "last_seq": last_seq})  # fmt: skip

    async def handle_action(self, action: str, message: dict):
        if action != "resume":
            await super().handle_action(action, message)
            return
        after_seq = message.get("after_seq")
        if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
            await self.send_error("bad_message", '"after_seq" must be a non-negative integer.')
            return
        account_id, _ = await _open_account_state(self.user.pk)
        if account_id is None:
            await self.send_error("account_not_found", "You have no open paper account.")
            return
        missed = await _missed(account_id, after_seq)
        for event in missed:
            await self.send_json(event)
        await self.send_json({"type": "resumed", "account_id": account_id, "count": len(missed),
                              "more": len(missed) == REPLAY_LIMIT})  # fmt: skip

    async def account_events(self, event):
        for message in event["messages"]:
            await self.send_json(message)

    async def account_event(self, event):
        """One event per message, as processes from before the batched push send them (rolling deploys)."""
        await self.send_json(event["message"])

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
