"""The relay against a real broker: RabbitMQ's Web-STOMP (STOMP 1.2 over WebSocket on :15674).

RabbitMQ's quirks, which the relay handles through configuration alone: CONNECT
needs `host:/` and a login, and a topic takes one segment after /topic/, so the
feed's slashes travel as %2F (TOSS_DESTINATION_ENCODING=percent-slashes).
"""

import json
import secrets
import socket
from dataclasses import replace

import pytest
import stomp

from marketdata.relay.keys import SUBSCRIPTIONS_KEY
from marketdata.topics import DestinationEncoding, encode_destination, trade_topic
from tests.relay.conftest import wait_until

WEB_STOMP = ("127.0.0.1", 15674)
STOMP_TCP = ("127.0.0.1", 61613)


def _listening(address) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def rabbitmq():
    if not (_listening(WEB_STOMP) and _listening(STOMP_TCP)):
        pytest.skip(
            "RabbitMQ STOMP/Web-STOMP is not listening on 127.0.0.1:61613/15674 "
            "(enable with: rabbitmq-plugins enable rabbitmq_stomp rabbitmq_web_stomp)"
        )
    publisher = stomp.Connection([STOMP_TCP], vhost="/")
    publisher.connect("guest", "guest", wait=True)
    yield publisher
    publisher.disconnect()


def test_ticks_published_to_rabbitmq_reach_redis_through_the_relay(
    rabbitmq, relay_config, start_relay, redis_client, tick_messages, health
):
    code = f"A9{secrets.randbelow(10**5):05d}"  # a topic of its own: parallel runs share the broker
    topic = trade_topic(code)
    destination = encode_destination(topic, DestinationEncoding.PERCENT_SLASHES)
    assert destination == f"/topic/v1%2Fkr%2Fstock%2Ftrade%2F{code}"
    redis_client.sadd(SUBSCRIPTIONS_KEY, topic)
    config = replace(
        relay_config,
        toss_url="ws://127.0.0.1:15674/ws",
        toss_headers={"host": "/", "login": "guest", "passcode": "guest"},
        toss_destination_encoding=DestinationEncoding.PERCENT_SLASHES,
        toss_heartbeats=(1000, 1000),
    )
    start_relay(config)
    wait_until(lambda: (health() or {}).get("state") == "connected", timeout=10, message="relay on RabbitMQ")

    def publish(close: int) -> None:
        body = {"code": code, "close": close, "session": "REGULAR", "currency": "KRW", "volume": 3}
        rabbitmq.send(destination=destination, body=json.dumps(body), content_type="application/json")

    def stored_close() -> int | None:
        payload = redis_client.get(f"stock:realtime:{code}")
        return json.loads(payload)["close"] if payload else None

    # A topic exchange drops what nobody is bound to yet: publish until the relay's SUBSCRIBE is live.
    wait_until(lambda: publish(1_000) or stored_close() == 1_000, timeout=10, interval=0.1, message="first tick")
    publish(1_005)
    wait_until(lambda: stored_close() == 1_005, message="second tick")
    published = [tick for batch in tick_messages() for tick in batch]
    assert {tick["code"] for tick in published} == {code}
    assert published[-1]["close"] == 1_005
    assert health()["malformed_total"] == 0
