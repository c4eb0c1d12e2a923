"""JSON WebSockets: the message handling every consumer shares, authentication for private ones,
and /ws/ping/ which proves the wiring.

Every message is a JSON object with an "action"; anything else is answered with an
error message, never a disconnect. A browser is authenticated by its session cookie
(AuthMiddlewareStack). A script sends its JWT as the first message, never in the URL
(URLs end up in logs):
    {"action": "authenticate", "token": "<access token>"}
"""

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from importlib import import_module
from types import SimpleNamespace

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from kernel.parsers import MAX_JSON_DEPTH, JsonTooDeep, json_loads_bounded
from kernel.redis import get_redis

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 4096
NO_CHANNEL_LAYER = "__no_channel_layer__"  # an alias CHANNEL_LAYERS never defines
# Client messages per socket: a burst of this many, refilled at this rate per second.
ACTION_BURST = 20
ACTIONS_PER_SECOND = 5.0
# Close codes (4000-4999 are the application's): the client acts on them (static/js/account-events.js).
CLOSE_UNAUTHENTICATED = 4401  # the token or session is invalid, expired or logged out: log in again, not retry it
CLOSE_TOO_MANY_SOCKETS = 4429  # over WS_MAX_SOCKETS_PER_USER or _PER_ADDRESS: retry later, after closing others
SOCKET_SLOTS_PREFIX = "ws:sockets:"

# Checks an access token must pass beyond signature and expiry, called in a database thread; a higher
# app adds its own (stocking: the token's login is not logged out or revoked) in its AppConfig.ready().
access_token_checks: list[Callable[[AccessToken], bool]] = []


@database_sync_to_async
def _user_from_access_token(raw: str):
    try:
        token = AccessToken(raw)
    except TokenError:
        return None, None
    user = get_user_model().objects.filter(pk=token["user_id"], is_active=True).first()
    if user is None or not all(check(token) for check in access_token_checks):
        return None, None
    return user, token


@database_sync_to_async
def _access_token_active(token: AccessToken) -> bool:
    active = get_user_model().objects.filter(pk=token["user_id"], is_active=True).exists()
    return active and all(check(token) for check in access_token_checks)


@database_sync_to_async
def _session_still_logged_in(session_key: str | None, user_id) -> bool:
    """A fresh read of the session (the socket's copy is from its handshake): still this user's,
    not logged out, flushed or expired, and not from before a password change."""
    if session_key is None:
        return False
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if str(session.get(SESSION_KEY)) != str(user_id):
        return False
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return user is not None and constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())


# KEYS[1] a sorted set of socket ids scored by lease end; ARGV: now, lease end, limit, socket id, ttl
_TAKE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def _slot_lease() -> float:
    return settings.WS_AUTH_RECHECK_SECONDS * 3  # a socket of a crashed process frees its slot after this


@sync_to_async(thread_sensitive=False)
def _take_slot(key: str, socket_id: str, limit: int) -> bool:
    now = time.time()
    lease = _slot_lease()
    return bool(get_redis().eval(_TAKE_SLOT, 1, key, now, now + lease, limit, socket_id, int(lease) + 1))


@sync_to_async(thread_sensitive=False)
def _renew_slots(keys: tuple[str, ...], socket_id: str) -> None:
    lease = _slot_lease()
    pipe = get_redis().pipeline()
    for key in keys:
        pipe.zadd(key, {socket_id: time.time() + lease}, xx=True)
        pipe.expire(key, int(lease) + 1)
    pipe.execute()


@sync_to_async(thread_sensitive=False)
def _release_slots(keys: tuple[str, ...], socket_id: str) -> None:
    pipe = get_redis().pipeline()
    for key in keys:
        pipe.zrem(key, socket_id)
    pipe.execute()


def socket_language(scope) -> str:
    """The language of a WebSocket handshake, chosen as LocaleMiddleware chooses a page's: the language
    cookie, then Accept-Language, then LANGUAGE_CODE."""
    headers = dict(scope.get("headers") or ())
    cookies = parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
    request = SimpleNamespace(  # all that get_language_from_request reads
        COOKIES=cookies, META={"HTTP_ACCEPT_LANGUAGE": headers.get(b"accept-language", b"").decode("latin-1")}
    )
    return translation.get_language_from_request(request)


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

    async def websocket_connect(self, message):
        # The socket's task keeps this language for its life: its error messages follow the page's
        # language cookie or Accept-Language, as API errors do.
        translation.activate(socket_language(self.scope))
        await super().websocket_connect(message)

    async def receive(self, text_data=None, bytes_data=None):
        if not self._take_allowance():
            await self.send_error(
                "rate_limited", _("At most %(rate)s messages per second.") % {"rate": f"{ACTIONS_PER_SECOND:g}"}
            )
            return
        if text_data is None or len(text_data.encode()) > MAX_MESSAGE_BYTES:
            await self.send_error(
                "bad_message", _("Send JSON text frames of at most %(bytes)s bytes.") % {"bytes": MAX_MESSAGE_BYTES}
            )
            return
        try:
            message = json_loads_bounded(text_data)
        except JsonTooDeep:
            await self.send_error(
                "bad_message", _("Messages nest at most %(levels)s levels.") % {"levels": MAX_JSON_DEPTH}
            )
            return
        except ValueError:
            await self.send_error("malformed_json", _("The message is not valid JSON."))
            return
        if not isinstance(message, dict) or not isinstance(message.get("action"), str):
            await self.send_error("bad_message", _('Messages are objects with an "action".'))
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
        await self.send_error("unknown_action", _("Unknown action %(action)s.") % {"action": repr(action)})

    async def send_json(self, payload: dict):
        await self.send(text_data=json.dumps(payload, ensure_ascii=False))

    async def send_error(self, code: str, message: str):
        await self.send_json({"type": "error", "code": code, "message": message})


class AuthenticatedJsonConsumer(JsonConsumer):
    """Accepts the socket; private actions wait until the user is known.

    Authentication lasts as long as what it came from: a JWT socket is closed with
    CLOSE_UNAUTHENTICATED when its access token expires, a session socket when its session is
    logged out or expires, either when the user is deactivated or (JWT) its login is revoked
    (access_token_checks), found by a recheck every WS_AUTH_RECHECK_SECONDS. Sockets per user and
    per client address are capped (WS_MAX_SOCKETS_PER_USER / _PER_ADDRESS, across processes, in
    Redis); one over a cap is closed with CLOSE_TOO_MANY_SOCKETS.
    """

    user = None
    access_token: AccessToken | None = None  # what a JWT socket authenticated with
    _watcher: asyncio.Task | None = None
    _slots: tuple[str, ...] = ()

    async def connect(self):
        self._socket_id = uuid.uuid4().hex
        scope_user = self.scope.get("user")
        await self.accept()
        address = (self.scope.get("client") or ["unknown"])[0]
        if not await self._take_slot(f"addr:{address}", settings.WS_MAX_SOCKETS_PER_ADDRESS):
            await self._close_over_cap("address", settings.WS_MAX_SOCKETS_PER_ADDRESS)
            return
        self._watcher = asyncio.create_task(self._watch())
        if scope_user is not None and scope_user.is_authenticated:
            await self._authenticated(scope_user)

    async def disconnect(self, code):
        if self._watcher is not None:
            self._watcher.cancel()
        if self._slots:
            await _release_slots(self._slots, self._socket_id)

    async def receive_action(self, action: str, message: dict):
        if action == "authenticate":
            if self.user is not None:  # a socket serves one user: what it joined is that user's
                await self.send_error("already_authenticated", _("This socket is authenticated; open another one."))
                return
            await self.authenticate(message.get("token"))
            return
        if self.user is None:
            await self.send_error("not_authenticated", _("Authenticate first (session cookie or a JWT message)."))
            return
        await self.handle_action(action, message)

    async def authenticate(self, token):
        user, access_token = await _user_from_access_token(token) if isinstance(token, str) else (None, None)
        if user is None:
            await self.send_error("authentication_failed", _("Token is invalid or expired."))
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.access_token = access_token
        await self._authenticated(user)

    async def _authenticated(self, user):
        if not await self._take_slot(f"user:{user.pk}", settings.WS_MAX_SOCKETS_PER_USER):
            await self._close_over_cap("user", settings.WS_MAX_SOCKETS_PER_USER)
            return
        self.user = user
        if self._watcher is not None:  # from now on it also ends the socket with its authentication
            self._watcher.cancel()
            self._watcher = asyncio.create_task(self._watch())
        await self.on_authenticated()

    async def on_authenticated(self):
        await self.send_json({"type": "authenticated", "username": self.user.get_username()})

    async def _watch(self):
        """Renews this socket's slots; once authenticated, ends it with its authentication."""
        while True:
            recheck = settings.WS_AUTH_RECHECK_SECONDS
            expires_at = self.access_token["exp"] if self.access_token is not None else None
            await asyncio.sleep(recheck if expires_at is None else min(recheck, max(0.0, expires_at - time.time())))
            if expires_at is not None and time.time() >= expires_at:
                await self._end_authentication("token_expired", _("The access token expired; log in again."))
                return
            try:
                if self.user is not None and not await self._still_authenticated():
                    await self._end_authentication("logged_out", _("The login behind this socket ended; log in again."))
                    return
                await _renew_slots(self._slots, self._socket_id)
            except Exception:  # a Redis or database hiccup: check again next time
                logger.exception("socket authentication recheck failed")

    async def _still_authenticated(self) -> bool:
        if self.access_token is not None:
            return await _access_token_active(self.access_token)
        session = self.scope.get("session")
        return session is not None and await _session_still_logged_in(session.session_key, self.user.pk)

    async def _end_authentication(self, code: str, message: str):
        await self.send_error(code, message)
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def _take_slot(self, key: str, limit: int) -> bool:
        key = f"{SOCKET_SLOTS_PREFIX}{key}"
        if not await _take_slot(key, self._socket_id, limit):
            return False
        self._slots = (*self._slots, key)
        return True

    async def _close_over_cap(self, per: str, limit: int):
        if per == "user":
            message = _("At most %(limit)s open sockets per user; close one first.")
        else:
            message = _("At most %(limit)s open sockets per address; close one first.")
        await self.send_error("too_many_sockets", message % {"limit": limit})
        await self.close(code=CLOSE_TOO_MANY_SOCKETS)


class PingConsumer(AuthenticatedJsonConsumer):
    async def handle_action(self, action: str, message: dict):
        if action == "ping":
            await self.send_json({"type": "pong", "username": self.user.get_username()})
        else:
            await super().handle_action(action, message)
