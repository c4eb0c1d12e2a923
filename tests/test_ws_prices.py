"""/ws/prices/ through the real ASGI application, a real Redis and the real `stock:ticks` channel.

Pub/sub channels are server-wide (not per Redis database), so these tests use stock codes
no other test publishes, and ignore ticks for codes they did not ask for.
"""

import asyncio
import json

import pytest
import redis.asyncio as aioredis
from channels.testing import WebsocketCommunicator
from django.conf import settings

from marketdata.fanout import Mailbox
from marketdata.prices import REALTIME_KEY
from marketdata.relay.keys import TICKS_CHANNEL
from stocking.asgi import application

# Channels closes old database connections when a socket disconnects, so the database must be reachable.
pytestmark = pytest.mark.django_db

ORIGIN = [(b"origin", b"http://localhost")]
CODE, OTHER = "A0WS001", "A0WS002"  # "A" + six digits or capitals


@pytest.fixture
async def redis():
    client = aioredis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


async def connect():
    communicator = WebsocketCommunicator(application, "/ws/prices/", headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def body(code, close, base=10000, **extra):
    return {"code": code, "close": close, "base": base, "volume": 3, "cumulativeVolume": 1000, "dt": "t", **extra}


async def publish(redis, payload):
    await redis.publish(TICKS_CHANNEL, json.dumps(payload))


async def next_tick(communicator, codes=(CODE, OTHER), timeout=2):
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] != "tick" or message["code"] in codes:
            return message


async def subscribe(communicator, codes):
    await communicator.send_json_to({"action": "subscribe", "codes": codes})
    assert await communicator.receive_json_from() == {"type": "subscribed", "codes": codes}


async def test_subscribe_sends_the_stored_price_then_live_ticks(redis):
    stored = {**body(CODE, 10500, open=10100, high=10600, low=10000), "received_at": "2026-11-25T00:00:00Z"}
    await redis.set(REALTIME_KEY.format(code=CODE), json.dumps(stored))
    communicator = await connect()

    await subscribe(communicator, [CODE])
    assert await next_tick(communicator) == {
        "type": "tick",
        "code": CODE,
        "price": 10500,
        "change": 500,
        "change_pct": 5.0,
        "volume": 1000,
        "trade_volume": 3,
        "open": 10100,
        "high": 10600,
        "low": 10000,
        "prev_close": 10000,
        "dt": "t",
    }

    await publish(redis, body(CODE, 9900, dt="2026-11-25T01:00:00.123Z"))
    live = await next_tick(communicator)
    assert (live["price"], live["change"], live["change_pct"], live["dt"]) == (
        9900,
        -100,
        -1.0,
        "2026-11-25T01:00:00.123Z",
    )
    await communicator.disconnect()


async def test_a_relay_batch_delivers_only_the_newest_tick_per_code(redis):
    communicator = await connect()
    await subscribe(communicator, [CODE, OTHER])

    await publish(redis, [body(CODE, 10100), body(OTHER, 500, base=500), body(CODE, 10200), body(CODE, 10300)])

    first, second = await next_tick(communicator), await next_tick(communicator)
    assert {first["code"]: first["price"], second["code"]: second["price"]} == {CODE: 10300, OTHER: 500}
    await publish(redis, body(OTHER, 501, base=500))
    assert (await next_tick(communicator))["price"] == 501  # nothing older was queued behind it
    await communicator.disconnect()


async def test_ticks_for_codes_not_asked_for_are_not_sent(redis):
    communicator = await connect()
    await subscribe(communicator, [CODE])

    await publish(redis, [body(OTHER, 500), body(CODE, 10100)])

    assert (await next_tick(communicator))["code"] == CODE
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_after_unsubscribe_no_more_ticks_arrive(redis):
    communicator = await connect()
    await subscribe(communicator, [CODE, OTHER])
    await communicator.send_json_to({"action": "unsubscribe", "codes": [CODE]})
    assert await communicator.receive_json_from() == {"type": "unsubscribed", "codes": [CODE]}

    await publish(redis, body(CODE, 10100))
    await publish(redis, body(OTHER, 700))

    assert (await next_tick(communicator))["code"] == OTHER
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_bad_messages_get_errors_and_the_socket_stays_usable(redis, settings):
    settings.WS_PRICES_MAX_CODES = 3
    communicator = await connect()

    async def error_for(**kwargs):
        await communicator.send_to(**kwargs)
        message = await communicator.receive_json_from()
        assert message["type"] == "error", message
        return message["code"]

    assert await error_for(text_data="{nope") == "malformed_json"
    assert await error_for(text_data=json.dumps({"codes": [CODE]})) == "bad_message"
    assert await error_for(text_data=json.dumps({"action": "buy"})) == "unknown_action"
    assert await error_for(text_data=json.dumps({"action": "subscribe"})) == "bad_codes"
    assert await error_for(text_data=json.dumps({"action": "subscribe", "codes": "A005930"})) == "bad_codes"
    assert await error_for(text_data=json.dumps({"action": "subscribe", "codes": ["005930"]})) == "bad_codes"
    assert await error_for(text_data=json.dumps({"action": "subscribe", "codes": [7]})) == "bad_codes"
    assert await error_for(text_data=json.dumps({"action": "subscribe", "codes": []})) == "bad_codes"
    four = ["A000001", "A000002", "A000003", "A000004"]
    assert await error_for(text_data=json.dumps({"action": "subscribe", "codes": four})) == "too_many_codes"
    await subscribe(communicator, four[:2])
    assert await error_for(text_data=json.dumps({"action": "subscribe", "codes": four[2:]})) == "too_many_codes"

    await communicator.send_json_to({"action": "subscribe", "codes": [CODE.lower()]})
    assert await communicator.receive_json_from() == {"type": "subscribed", "codes": [CODE]}
    await publish(redis, body(CODE, 10100))
    assert (await next_tick(communicator))["price"] == 10100
    await communicator.disconnect()


async def test_a_flood_of_client_messages_is_rate_limited():
    communicator = await connect()
    for _ in range(25):
        await communicator.send_json_to({"action": "unsubscribe", "codes": [CODE]})
    replies = [await communicator.receive_json_from() for _ in range(25)]
    assert any(reply.get("code") == "rate_limited" for reply in replies)
    await communicator.disconnect()


async def test_sockets_of_a_process_share_one_redis_subscription(redis):
    before = (await redis.pubsub_numsub(TICKS_CHANNEL))[0][1]
    first, second = await connect(), await connect()
    await subscribe(first, [CODE])
    await subscribe(second, [CODE, OTHER])

    assert (await redis.pubsub_numsub(TICKS_CHANNEL))[0][1] == before + 1
    await publish(redis, body(CODE, 10100))
    assert (await next_tick(first))["price"] == 10100
    assert (await next_tick(second))["price"] == 10100

    await first.disconnect()
    await second.disconnect()
    assert (await redis.pubsub_numsub(TICKS_CHANNEL))[0][1] == before  # the last one out stops it


async def test_the_channel_layer_fanout_delivers_the_same_messages(redis, settings):
    settings.PRICES_FANOUT = "channel_layer"
    communicator = await connect()
    await subscribe(communicator, [CODE])

    await publish(redis, [body(CODE, 10100), body(CODE, 10200)])

    assert (await next_tick(communicator))["price"] == 10200
    await communicator.send_json_to({"action": "unsubscribe", "codes": [CODE]})
    assert (await communicator.receive_json_from())["type"] == "unsubscribed"
    await publish(redis, body(CODE, 10300))
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_a_batching_socket_gets_what_is_pending_in_one_frame_at_most_every_interval(redis, settings):
    settings.WS_PRICES_BATCH_SECONDS = 0.3
    await redis.set(
        REALTIME_KEY.format(code=CODE), json.dumps({**body(CODE, 10000), "received_at": "2026-11-25T00:00Z"})
    )
    communicator = await connect()
    await communicator.send_json_to({"action": "subscribe", "codes": [CODE, OTHER], "batch": True})
    assert (await communicator.receive_json_from())["type"] == "subscribed"

    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "ticks"
    assert [(t["code"], t["price"]) for t in snapshot["ticks"]] == [(CODE, 10000)]
    for price in (10100, 10200, 10300):  # separate relay batches, inside one interval
        await publish(redis, body(CODE, price))
    await publish(redis, body(OTHER, 700))

    frame = await communicator.receive_json_from(timeout=2)
    assert frame["type"] == "ticks"
    assert {t["code"]: t["price"] for t in frame["ticks"]} == {CODE: 10300, OTHER: 700}
    assert await communicator.receive_nothing(timeout=0.4)
    await communicator.disconnect()


async def test_a_foreign_origin_is_rejected():
    communicator = WebsocketCommunicator(application, "/ws/prices/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_stalled_socket_ends_up_with_the_latest_price_per_code():
    """The socket's sender is stuck (a slow client): what waits is one message per code, the newest."""
    sent: list[str] = []
    stalled = asyncio.Event()
    release = asyncio.Event()

    async def slow_send(text):
        sent.append(text)
        stalled.set()
        await release.wait()

    mailbox = Mailbox(slow_send)
    mailbox.subscribe([CODE, OTHER])
    mailbox.start()
    mailbox.offer(CODE, "A-1")
    await stalled.wait()  # "A-1" is on its way; the client is not reading
    for n in range(2, 200):
        mailbox.offer(CODE, f"A-{n}")
        mailbox.offer(OTHER, f"B-{n}")
    mailbox.offer_snapshot(OTHER, "B-stored")  # an older stored price never overtakes a live one

    assert len(mailbox._pending) == 2  # bounded by the codes, not by the ticks
    release.set()
    while len(sent) < 3:
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    await mailbox.stop()

    assert sent == ["A-1", "A-199", "B-199"]
    assert mailbox.conflated == 2 * 198 - 2


async def test_after_redis_drops_the_subscription_the_latest_stored_price_is_sent_again(redis):
    await redis.set(REALTIME_KEY.format(code=CODE), json.dumps(body(CODE, 10500)))
    communicator = await connect()
    await subscribe(communicator, [CODE])
    assert (await next_tick(communicator))["price"] == 10500
    assert await redis.client_kill_filter(_type="pubsub") >= 1  # as a Redis restart would
    for _ in range(20):  # Redis frees a killed client on its next loop; the hub waits 0.5 s to come back
        if (await redis.pubsub_numsub(TICKS_CHANNEL))[0][1] == 0:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the subscription outlived CLIENT KILL")
    await redis.set(REALTIME_KEY.format(code=CODE), json.dumps(body(CODE, 10600)))
    await publish(redis, [body(CODE, 10600)])  # the relay's publish of it reaches nobody
    assert (await next_tick(communicator, timeout=5))["price"] == 10600  # read back after resubscribing
    await communicator.disconnect()


async def test_a_client_follows_kospi_like_a_code(redis):
    stored = {
        "code": "KOSPI",
        "kind": "index",
        "source": "simulator",
        "close": 2650.12,
        "base": 2640.5,
        "open": 2641.0,
        "high": 2651.0,
        "low": 2639.9,
        "dt": "2026-03-23T01:00:00.000Z",
        "received_at": "2026-03-23T01:00:00.010Z",
    }
    await redis.set("index:realtime:KOSPI", json.dumps(stored))
    communicator = await connect()
    await communicator.send_json_to({"action": "subscribe", "codes": ["kospi", CODE]})
    assert await communicator.receive_json_from() == {"type": "subscribed", "codes": ["KOSPI", CODE]}
    assert await next_tick(communicator, codes=("KOSPI",)) == {
        "type": "tick",
        "code": "KOSPI",
        "kind": "index",
        "price": 2650.12,
        "change": 9.62,
        "change_pct": 0.36,
        "open": 2641.0,
        "high": 2651.0,
        "low": 2639.9,
        "prev_close": 2640.5,
        "dt": "2026-03-23T01:00:00.000Z",
        "source": "simulator",
    }

    # A relay batch: the stock's tick and the index value; each goes to its own followers.
    await publish(redis, [body(CODE, 10100), {**stored, "close": 2630.5, "received_at": None}])
    received = {}
    while len(received) < 2:
        message = await next_tick(communicator, codes=(CODE, "KOSPI"))
        received[message["code"]] = message
    assert (received["KOSPI"]["price"], received["KOSPI"]["change"], received["KOSPI"]["change_pct"]) == (
        2630.5,
        -10.0,
        -0.38,
    )
    assert received[CODE]["price"] == 10100
    await communicator.send_json_to({"action": "subscribe", "codes": ["KOSPX"]})
    assert (await communicator.receive_json_from())["code"] == "bad_codes"
    await communicator.disconnect()
