from channels.auth import AuthMiddlewareStack
from django.urls import path

from kernel.consumers import PingConsumer
from marketdata.consumers import PriceConsumer
from portfolio.consumers import AccountConsumer

websocket_urlpatterns = [
    # Private sockets know the browser's user from its session cookie (a database read per connect).
    path("ws/ping/", AuthMiddlewareStack(PingConsumer.as_asgi())),
    path("ws/account/", AuthMiddlewareStack(AccountConsumer.as_asgi())),
    # Public prices need no user: no session lookup, and nothing wraps each tick's send.
    path("ws/prices/", PriceConsumer.as_asgi()),
]
