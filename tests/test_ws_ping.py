import asyncio
import json

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from stocking.asgi import application
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://localhost")]


async def connect(headers=ORIGIN):
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_it_answers_ping_after_jwt_authentication():
    from asgiref.sync import sync_to_async

    user = await sync_to_async(UserFactory)()
    communicator, connected = await connect()
    assert connected
    await communicator.send_json_to({"action": "authenticate", "token": str(AccessToken.for_user(user))})
    assert await communicator.receive_json_from() == {"type": "authenticated", "username": user.username}
    await communicator.send_json_to({"action": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong", "username": user.username}
    await communicator.disconnect()


async def test_it_refuses_private_actions_before_authentication():
    communicator, _ = await connect()
    await communicator.send_json_to({"action": "ping"})
    message = await communicator.receive_json_from()
    assert message["type"] == "error"
    assert message["code"] == "not_authenticated"
    await communicator.disconnect()


async def test_a_bad_token_closes_with_4401():
    communicator, _ = await connect()
    await communicator.send_json_to({"action": "authenticate", "token": "not-a-jwt"})
    assert (await communicator.receive_json_from())["code"] == "authentication_failed"
    assert (await communicator.receive_output())["code"] == 4401


async def test_malformed_json_and_unknown_actions_get_errors_not_disconnects():
    communicator, _ = await connect()
    await communicator.send_to(text_data="{nope")
    assert (await communicator.receive_json_from())["code"] == "malformed_json"
    await communicator.send_json_to(["not", "an", "object"])
    assert (await communicator.receive_json_from())["code"] == "bad_message"
    await communicator.send_to(text_data="x" * 5000)
    assert (await communicator.receive_json_from())["code"] == "bad_message"
    await communicator.send_json_to({"action": "ping"})
    assert (await communicator.receive_json_from())["code"] == "not_authenticated"
    await communicator.disconnect()


async def test_a_foreign_origin_is_rejected():
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_frame_is_measured_in_bytes_not_characters():
    communicator, _ = await connect()
    await communicator.send_to(text_data=json.dumps({"action": "ping", "pad": "가" * 2000}, ensure_ascii=False))
    assert (await communicator.receive_json_from())["code"] == "bad_message"  # 2,000 characters, 6,000 bytes
    await communicator.disconnect()


# Redis clients time reads out after 5 s by default (redis-py 8); channels_redis blocks 5 s per read.
IDLE_SECONDS = 6.5


async def test_an_idle_socket_outlives_the_redis_read_timeout():
    from asgiref.sync import sync_to_async

    user = await sync_to_async(UserFactory)()
    communicator, _ = await connect()
    await communicator.send_json_to({"action": "authenticate", "token": str(AccessToken.for_user(user))})
    await communicator.receive_json_from()
    await asyncio.sleep(IDLE_SECONDS)
    await communicator.send_json_to({"action": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong", "username": user.username}
    await communicator.disconnect()


async def test_the_channel_layer_waits_on_an_empty_channel_without_failing():
    # PRICES_FANOUT=channel_layer and channels' own handshake denier read from the layer
    layer = get_channel_layer()
    channel = await layer.new_channel()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), IDLE_SECONDS)
