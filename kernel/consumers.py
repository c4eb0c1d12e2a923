"""JSON WebSockets: the message handling every consumer shares, authentication for private ones,
and /ws/ping/ which proves the wiring.

Every message is a JSON object with an "action"; anything else is answered with an
error message, never a disconnect. A browser is authenticated by its session cookie
(AuthMiddlewareStack). A script sends its JWT as the first message, never in the URL
(URLs end up in logs):
    {"action": "authenticate", "token": "<access token>"}
"""

import json
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from kernel.parsers import MAX_JSON_DEPTH, JsonTooDeep, json_loads_bounded

MAX_MESSAGE_BYTES = 4096
NO_CHANNEL_LAYER = "__no_channel_layer__"  # an alias CHANNEL_LAYERS never defines
# Client messages per socket: a burst of this many, refilled at this rate per second.
ACTION_BURST = 20
ACTIONS_PER_SECOND = 5.0
CLOSE_UNAUTHENTICATED = 4401


@database_sync_to_async
def _user_from_access_token(raw: str):
    try:
        token = AccessToken(raw)
    except TokenError:
        return None
    return get_user_model().objects.filter(pk=token["user_id"], is_active=True).first()


class JsonConsumer(AsyncWebsocketConsumer):
    """Parses JSON text frames of bounded size into {"action": ...} objects; errors are messages.
    Every socket's client messages are rate limited (a token bucket), bad ones included.

    No channel-layer channel unless a consumer asks for one (set `channel_layer_alias`):
    pushes come from per-process hubs, and an idle layer channel is a blocking Redis read."""

    channel_layer_alias = NO_CHANNEL_LAYER

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._allowance = float(ACTION_BURST)
        self._allowance_at = time.monotonic()

    async def receive(self, text_data=None, bytes_data=None):
        if not self._take_allowance():
            await self.send_error("rate_limited", f"At most {ACTIONS_PER_SECOND:g} messages per second.")
            return
        if text_data is None or len(text_data.encode()) > MAX_MESSAGE_BYTES:
            await self.send_error("bad_message", f"Send JSON text frames of at most {MAX_MESSAGE_BYTES} bytes.")
            return
        try:
            message = json_loads_bounded(text_data)
        except JsonTooDeep:
            await self.send_error("bad_message", f"Messages nest at most {MAX_JSON_DEPTH} levels.")
            return
        except ValueError:
            await self.send_error("malformed_json", "The message is not valid JSON.")
            return
        if not isinstance(message, dict) or not isinstance(message.get("action"), str):
            await self.send_error("bad_message", 'Messages are objects with an "action".')
            return
        await self.receive_action(message["action"], message)

    async def receive_action(self, action: str, message: dict):
        await self.handle_action(action, message)

    def _take_allowance(self) -> bool:
        now = time.monotonic()
        self._allowance = min(ACTION_BURST, self._allowance + (now - self._allowance_at) * ACTIONS_PER_SECOND)
        self._allowance_at = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    async def handle_action(self, action: str, message: dict):
        await self.send_error("unknown_action", f"Unknown action {action!r}.")

    async def send_json(self, payload: dict):
        await self.send(text_data=json.dumps(payload, ensure_ascii=False))

    async def send_error(self, code: str, message: str):
        await self.send_json({"type": "error", "code": code, "message": message})


class AuthenticatedJsonConsumer(JsonConsumer):
    """Accepts the socket; private actions wait until the user is known."""

    user = None

    async def connect(self):
        scope_user = self.scope.get("user")
        self.user = scope_user if scope_user is not None and scope_user.is_authenticated else None
        await self.accept()
        if self.user is not None:
            await self.on_authenticated()

    async def receive_action(self, action: str, message: dict):
        if action == "authenticate":
            if self.user is not None:  # a socket serves one user: what it joined is that user's
                await self.send_error("already_authenticated", "This socket is authenticated; open another one.")
                return
            await self.authenticate(message.get("token"))
            return
        if self.user is None:
            await self.send_error("not_authenticated", "Authenticate first (session cookie or a JWT message).")
            return
        await self.handle_action(action, message)

    async def authenticate(self, token):
        user = await _user_from_access_token(token) if isinstance(token, str) else None
        if user is None:
            await self.send_error("authentication_failed", "Token is invalid or expired.")
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        await self.on_authenticated()

    async def on_authenticated(self):
        await self.send_json({"type": "authenticated", "username": self.user.get_username()})


class PingConsumer(AuthenticatedJsonConsumer):
    async def handle_action(self, action: str, message: dict):
        if action == "ping":
            await self.send_json({"type": "pong", "username": self.user.get_username()})
        else:
            await super().handle_action(action, message)
