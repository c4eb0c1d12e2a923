from channels.auth import AuthMiddlewareStack
from django.urls import path, re_path

from kernel.consumers import PingConsumer
from marketdata.consumers import PriceConsumer
from portfolio.consumers import AccountConsumer


async def refuse_unknown_path(scope, receive, send):
    """A socket to a path we do not serve is refused at the handshake (HTTP 403), not failed with a 500."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close"})  # a close before accept is the refusal


websocket_urlpatterns = [
    # Private sockets know the browser's user from its session cookie (a database read per connect).
    path("ws/ping/", AuthMiddlewareStack(PingConsumer.as_asgi())),
    path("ws/account/", AuthMiddlewareStack(AccountConsumer.as_asgi())),
    # Public prices need no user: no session lookup, and nothing wraps each tick's send.
    path("ws/prices/", PriceConsumer.as_asgi()),
    re_path(r"", refuse_unknown_path),  # last: everything else
]
