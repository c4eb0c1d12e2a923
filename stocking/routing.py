from django.urls import path

from marketdata.consumers import PriceConsumer
from stocking.consumers import PingConsumer
from trading.consumers import AccountConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/prices/", PriceConsumer.as_asgi()),
    path("ws/account/", AccountConsumer.as_asgi()),
]
