"""/ws/account/: a user's order updates, fills and balance changes, with resume (docs/architecture.md §8)."""

from django.utils.translation import gettext

from kernel.consumers import AuthenticatedJsonConsumer
from portfolio.errors import AccountNotFound
from portfolio.live import AccountStream


class AccountConsumer(AuthenticatedJsonConsumer):
    """Says hello, then forwards the user's AccountStream (portfolio.live); answers resume."""

    stream: AccountStream | None = None

    async def on_authenticated(self):  # once per socket (AuthenticatedJsonConsumer)
        self.stream = AccountStream(self.user.pk, self.send_json)
        account_id, last_seq = await self.stream.open()
        await self.send_json({"type": "hello", "username": self.user.get_username(), "account_id": account_id,
                              "last_seq": last_seq})  # fmt: skip
        self.stream.start()

    async def handle_action(self, action: str, message: dict):
        if action != "resume":
            await super().handle_action(action, message)
            return
        after_seq = message.get("after_seq")
        if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
            await self.send_error("bad_message", gettext('"after_seq" must be a non-negative integer.'))
            return
        if not await self.stream.resume(after_seq):
            await self.send_error("account_not_found", str(AccountNotFound.default_message))

    async def disconnect(self, code):
        if self.stream is not None:
            await self.stream.close()
        await super().disconnect(code)
