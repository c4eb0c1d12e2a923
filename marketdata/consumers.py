"""/ws/prices/: public live prices (docs/architecture.md §8).

Client → server:
    {"action": "subscribe", "codes": ["A005930", "A000660"]}
    {"action": "subscribe", "codes": ["KOSPI", "KOSDAQ"]}   an index is followed like a code
    {"action": "subscribe", "codes": [...], "batch": true}   the same, and from now on this socket
        gets {"type": "ticks", "ticks": [...]} frames: everything pending at once (browsers ask for it)
    {"action": "unsubscribe", "codes": ["A000660"]}
Server → client: see marketdata/broadcast.py. A subscribe is answered with
{"type": "subscribed", "codes": [...]}, then the stored price of each code (so a page is
never blank), then live ticks. Bad input is answered with an error message; the socket stays.
"""

from channels import DEFAULT_CHANNEL_LAYER
from channels.consumer import get_handler_name
from django.conf import settings
from django.utils.translation import gettext as _
from redis import RedisError

from kernel.consumers import JsonConsumer
from marketdata.codes import normalize_stock_codes
from marketdata.fanout import CHANNEL_LAYER, Mailbox, PriceHub, fanout_mode, price_hub
from marketdata.indices import is_index_code


class PriceConsumer(JsonConsumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mode = fanout_mode()
        if self.mode == CHANNEL_LAYER:
            self.channel_layer_alias = DEFAULT_CHANNEL_LAYER  # ticks arrive as layer messages
        self.hub: PriceHub | None = None
        self.mailbox: Mailbox | None = None

    @property
    def max_codes(self) -> int:
        return settings.WS_PRICES_MAX_CODES

    async def dispatch(self, message):
        # Channels closes old DB connections (a thread hop) before every message; this consumer
        # never touches the database, and ticks are far too frequent to pay for that.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        await self.accept()
        self.mailbox = Mailbox(self._send_text, channel_name=getattr(self, "channel_name", None))
        self.mailbox.start()

    async def disconnect(self, code):
        if self.hub is not None:
            await self.hub.detach(self.mailbox)
            self.hub = None
        if self.mailbox is not None:
            await self.mailbox.stop()

    async def _send_text(self, text: str) -> None:
        # Straight to the server: ticks are the hot path, and this route has no middleware wrapping send.
        await self.base_send({"type": "websocket.send", "text": text})

    # --- actions -----------------------------------------------------------------------

    async def handle_action(self, action: str, message: dict):
        if action == "subscribe":
            await self.subscribe(message)
        elif action == "unsubscribe":
            await self.unsubscribe(message)
        else:
            await super().handle_action(action, message)

    async def subscribe(self, message: dict):
        codes = await self._codes_from(message)
        if codes is None:
            return
        new = [code for code in codes if code not in self.mailbox.codes]
        if len(self.mailbox.codes) + len(new) > self.max_codes:
            await self.send_error(
                "too_many_codes",
                _("A socket follows at most %(limit)s codes; it follows %(count)s.")
                % {"limit": self.max_codes, "count": len(self.mailbox.codes)},
            )
            return
        if message.get("batch") is True:
            self.mailbox.batch = True
            self.mailbox.batch_interval = settings.WS_PRICES_BATCH_SECONDS
        if self.hub is None:
            self.hub = price_hub()
            await self.hub.attach(self.mailbox)
        self.mailbox.subscribe(codes)  # codes already followed get their stored price again too
        await self.hub.join(self.mailbox, new)
        await self.send_json({"type": "subscribed", "codes": codes})
        try:
            snapshot = await self.hub.snapshot(codes)
        except RedisError:
            await self.send_error("prices_unavailable", _("Stored prices could not be read; new ticks will follow."))
            return
        for code, text in snapshot.items():
            self.mailbox.offer_snapshot(code, text)

    async def unsubscribe(self, message: dict):
        codes = await self._codes_from(message)
        if codes is None:
            return
        if self.hub is not None:
            await self.hub.leave(self.mailbox, codes)
        await self.send_json({"type": "unsubscribed", "codes": codes})

    async def price_tick(self, event: dict):
        """A tick from the channel layer (PRICES_FANOUT=channel_layer)."""
        self.mailbox.offer(event["code"], event["text"])

    # --- helpers -----------------------------------------------------------------------

    async def _codes_from(self, message: dict) -> list[str] | None:
        codes = message.get("codes")
        if not isinstance(codes, list) or not codes or not all(isinstance(code, str) for code in codes):
            await self.send_error("bad_codes", _('"codes" is a non-empty list of stock codes such as "A005930".'))
            return None
        if len(codes) > self.max_codes:
            await self.send_error(
                "too_many_codes", _("At most %(limit)s codes per message.") % {"limit": self.max_codes}
            )
            return None
        normalized, invalid = normalize_stock_codes(codes)
        invalid = [code for code in invalid if not is_index_code(code)]  # "kospi" follows KOSPI
        if invalid:
            shown = ", ".join(repr(code[:12]) for code in invalid[:5])
            await self.send_error(
                "bad_codes", _("Not stock codes (A + six digits or capitals): %(codes)s.") % {"codes": shown}
            )
            return None
        return normalized
