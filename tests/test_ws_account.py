import asyncio
import json
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from portfolio.events import account_events_prefix
from portfolio.services import account_deposit
from stocking.asgi import application
from tests.factories import StockFactory, UserFactory, open_account_for
from trading.services import OrderRequest, order_place

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = [(b"origin", b"http://localhost")]


@sync_to_async
def make_trader():
    user = UserFactory()
    open_account_for(user)
    StockFactory(code="A005930", name="삼성전자")
    return user


async def connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/account/", headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"action": "authenticate", "token": str(AccessToken.for_user(user))})
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello"
    return communicator, hello


async def test_fills_and_cash_changes_are_pushed_after_commit(store_price):
    user = await make_trader()
    await sync_to_async(store_price)("A005930", 50_000)
    communicator, hello = await connect(user)
    assert hello["last_seq"] == 0

    await sync_to_async(order_place)(user=user, request=OrderRequest("A005930", "BUY", "MARKET", quantity=2))
    accepted = await communicator.receive_json_from()
    filled = await communicator.receive_json_from()
    assert (accepted["event"], accepted["seq"]) == ("order.accepted", 1)
    assert (filled["event"], filled["seq"]) == ("order.filled", 2)
    assert filled["data"]["execution"]["price"] == 50_000
    assert filled["data"]["cash"] == 10_000_000 - 100_015

    await sync_to_async(account_deposit)(user=user, amount=Decimal(1000))
    cash = await communicator.receive_json_from()
    assert (cash["event"], cash["seq"], cash["data"]["cash"]) == ("cash.changed", 3, 10_000_000 - 100_015 + 1000)
    await communicator.disconnect()


async def test_a_reconnecting_client_resumes_what_it_missed_in_order():
    user = await make_trader()
    await sync_to_async(account_deposit)(user=user, amount=Decimal(1))
    communicator, _ = await connect(user)
    await communicator.disconnect()
    for amount in (2, 3, 4):  # while the client is away
        await sync_to_async(account_deposit)(user=user, amount=Decimal(amount))

    communicator, hello = await connect(user)
    assert hello["last_seq"] == 4
    await communicator.send_json_to({"action": "resume", "after_seq": 1})
    replayed = [await communicator.receive_json_from() for _ in range(3)]
    assert [(m["seq"], m["data"]["amount"]) for m in replayed] == [(2, 2), (3, 3), (4, 4)]
    assert await communicator.receive_json_from() == {
        "type": "resumed", "account_id": replayed[0]["account_id"], "count": 3, "more": False,
    }  # fmt: skip
    await communicator.disconnect()


async def test_events_of_other_users_never_arrive():
    user = await make_trader()
    other = await sync_to_async(UserFactory)()
    await sync_to_async(open_account_for)(other)
    communicator, _ = await connect(user)
    await sync_to_async(account_deposit)(user=other, amount=Decimal(5))
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_bad_resume_messages_and_anonymous_clients_get_errors():
    user = await make_trader()
    communicator = WebsocketCommunicator(application, "/ws/account/", headers=ORIGIN)
    await communicator.connect()
    await communicator.send_json_to({"action": "resume", "after_seq": 0})
    assert (await communicator.receive_json_from())["code"] == "not_authenticated"
    await communicator.disconnect()

    communicator, _ = await connect(user)
    for bad in ({"action": "resume"}, {"action": "resume", "after_seq": -1}, {"action": "resume", "after_seq": "1"}):
        await communicator.send_json_to(bad)
        assert (await communicator.receive_json_from())["code"] == "bad_message"
    await communicator.send_json_to({"action": "dance"})
    assert (await communicator.receive_json_from())["code"] == "unknown_action"
    await communicator.disconnect()


async def test_a_flood_of_messages_is_rate_limited_before_anything_is_read():
    user = await make_trader()
    communicator, _ = await connect(user)
    for _ in range(25):
        await communicator.send_to(text_data="{not json")  # malformed ones count too
    replies = [await communicator.receive_json_from() for _ in range(25)]
    codes = [reply["code"] for reply in replies]
    assert "rate_limited" in codes
    assert set(codes) == {"malformed_json", "rate_limited"}
    await communicator.disconnect()


async def test_events_published_while_the_subscription_was_down_arrive_after_it_returns(redis_client):
    user = await make_trader()
    communicator, _ = await connect(user)
    assert await sync_to_async(redis_client.client_kill_filter)(_type="pubsub") >= 1  # as a Redis restart would
    for _ in range(20):  # Redis frees a killed client on its next loop; the hub waits 0.5 s to come back
        if await sync_to_async(redis_client.pubsub_numpat)() == 0:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the subscription outlived CLIENT KILL")
    await sync_to_async(account_deposit)(user=user, amount=Decimal(7))  # published to nobody
    event = await communicator.receive_json_from(timeout=5)  # read back once the hub has resubscribed
    assert (event["seq"], event["data"]["amount"]) == (1, 7)
    await communicator.disconnect()


async def test_a_lost_message_is_filled_in_from_the_database_before_a_later_one(monkeypatch):
    import portfolio.events

    user = await make_trader()
    communicator, _ = await connect(user)
    publish = portfolio.events._publish
    monkeypatch.setattr(portfolio.events, "_publish", lambda user_id, messages: None)
    await sync_to_async(account_deposit)(user=user, amount=Decimal(1))  # lost on the way
    monkeypatch.setattr(portfolio.events, "_publish", publish)
    await sync_to_async(account_deposit)(user=user, amount=Decimal(2))
    received = [await communicator.receive_json_from(timeout=2) for _ in range(2)]
    assert [(m["seq"], m["data"]["amount"]) for m in received] == [(1, 1), (2, 2)]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_late_duplicates_and_malformed_messages_are_dropped_and_the_stream_goes_on(redis_client):
    user = await make_trader()
    communicator, _ = await connect(user)
    await sync_to_async(account_deposit)(user=user, amount=Decimal(1))
    first = await communicator.receive_json_from()
    channel = f"{account_events_prefix()}{user.pk}"
    for junk in ("{not json", '{"seq": 1}', "[1, 2]", json.dumps([first])):  # the last: a late copy of seq 1
        await sync_to_async(redis_client.publish)(channel, junk)
    await sync_to_async(redis_client.publish)(f"{account_events_prefix()}not-a-user", "[]")
    await sync_to_async(account_deposit)(user=user, amount=Decimal(2))
    second = await communicator.receive_json_from(timeout=2)
    assert (second["seq"], second["data"]["amount"]) == (2, 2)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_after_a_reset_the_new_accounts_events_follow(store_price):
    from portfolio.services import account_reset

    user = await make_trader()
    await sync_to_async(account_deposit)(user=user, amount=Decimal(1))
    communicator, hello = await connect(user)
    assert hello["last_seq"] == 1
    new_account = await sync_to_async(account_reset)(user=user)
    await sync_to_async(account_deposit)(user=user, amount=Decimal(3))
    event = await communicator.receive_json_from(timeout=2)
    assert (event["account_id"], event["seq"], event["data"]["amount"]) == (new_account.pk, 1, 3)
    await communicator.disconnect()


async def test_a_failed_send_does_not_end_the_stream_or_leak_the_socket(monkeypatch):
    import portfolio.live
    from portfolio.live import account_event_hub

    user = await make_trader()
    communicator, _ = await connect(user)
    hub = account_event_hub()
    missed = portfolio.live._missed

    async def database_away(account_id, after_seq):
        raise RuntimeError("database went away")

    monkeypatch.setattr(portfolio.live, "_missed", database_away)
    hub.deliver(f"{hub.prefix}{user.pk}".encode(), b"[]")  # a catch-up, as after a resubscription
    await asyncio.sleep(0.1)
    monkeypatch.setattr(portfolio.live, "_missed", missed)
    await sync_to_async(account_deposit)(user=user, amount=Decimal(5))
    event = await communicator.receive_json_from(timeout=2)  # the stream goes on, and catches up
    assert (event["seq"], event["data"]["amount"]) == (1, 5)
    await communicator.disconnect()
    assert user.pk not in hub.streams


async def test_a_socket_serves_one_user():
    user, other = await make_trader(), await sync_to_async(UserFactory)()
    communicator, _ = await connect(user)
    await communicator.send_json_to({"action": "authenticate", "token": str(AccessToken.for_user(other))})
    assert (await communicator.receive_json_from())["code"] == "already_authenticated"
    await sync_to_async(account_deposit)(user=user, amount=Decimal(5))
    assert (await communicator.receive_json_from(timeout=2))["data"]["amount"] == 5
    await communicator.disconnect()


async def test_resuming_into_a_reset_account_then_its_live_copy_sends_each_event_once(monkeypatch):
    import portfolio.events
    from portfolio.services import account_reset

    user = await make_trader()
    communicator, _ = await connect(user)
    publish, held = portfolio.events._publish, []
    monkeypatch.setattr(portfolio.events, "_publish", lambda user_id, messages: held.append((user_id, messages)))
    new_account = await sync_to_async(account_reset)(user=user)
    await sync_to_async(account_deposit)(user=user, amount=Decimal(3))
    await communicator.send_json_to({"action": "resume", "after_seq": 0})
    replayed = await communicator.receive_json_from()
    assert (replayed["account_id"], replayed["seq"]) == (new_account.pk, 1)
    assert (await communicator.receive_json_from())["type"] == "resumed"
    for user_id, messages in held:  # the live copies arrive late
        await sync_to_async(publish)(user_id, messages)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_message_naming_another_users_account_is_dropped(redis_client):
    from portfolio.live import account_event_hub
    from portfolio.models import Account

    user, victim = await make_trader(), await sync_to_async(UserFactory)()
    await sync_to_async(open_account_for)(victim)
    await sync_to_async(account_deposit)(user=victim, amount=Decimal(777))
    victims_account = await sync_to_async(lambda: Account.objects.get(user=victim, is_open=True).pk)()
    communicator, hello = await connect(user)
    assert victims_account > hello["account_id"]
    prefix = account_event_hub().prefix
    forged = json.dumps([{"type": "event", "account_id": victims_account, "seq": 1}])
    await sync_to_async(redis_client.publish)(f"{prefix}{user.pk}", forged)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


def test_account_event_channels_carry_the_redis_database(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/3"
    assert account_events_prefix() == "account:events:3:"
    settings.REDIS_URL = "unix:///tmp/redis.sock?db=2"
    assert account_events_prefix() == "account:events:2:"


async def test_resuming_with_the_old_accounts_seq_after_a_reset_replays_the_new_account_from_its_start(monkeypatch):
    import portfolio.events
    from portfolio.services import account_reset

    user = await make_trader()
    for amount in (1, 2, 3):
        await sync_to_async(account_deposit)(user=user, amount=Decimal(amount))
    communicator, hello = await connect(user)
    assert hello["last_seq"] == 3
    monkeypatch.setattr(portfolio.events, "_publish", lambda user_id, messages: None)  # the client hears nothing
    new_account = await sync_to_async(account_reset)(user=user)
    for amount in (10, 20, 30):
        await sync_to_async(account_deposit)(user=user, amount=Decimal(amount))
    await communicator.send_json_to({"action": "resume", "after_seq": 2})  # a seq of the old account
    replayed = [await communicator.receive_json_from() for _ in range(3)]
    assert [(m["account_id"], m["seq"], m["data"]["amount"]) for m in replayed] == [
        (new_account.pk, 1, 10), (new_account.pk, 2, 20), (new_account.pk, 3, 30),
    ]  # fmt: skip
    assert (await communicator.receive_json_from())["type"] == "resumed"
    await communicator.disconnect()


async def test_a_socket_that_fails_while_authenticating_leaves_the_hub(monkeypatch):
    import portfolio.live
    from portfolio.live import account_event_hub

    user = await make_trader()
    communicator, _ = await connect(user)  # keeps the hub alive to look into

    async def database_away(user_id):
        raise RuntimeError("database went away")

    monkeypatch.setattr(portfolio.live, "_open_account_state", database_away)
    failing = WebsocketCommunicator(application, "/ws/account/", headers=ORIGIN)
    await failing.connect()
    await failing.send_json_to({"action": "authenticate", "token": str(AccessToken.for_user(user))})
    with pytest.raises(RuntimeError):
        await failing.receive_json_from(timeout=2)
    assert len(account_event_hub().streams[user.pk]) == 1  # only the healthy socket
    await communicator.disconnect()


async def test_a_socket_behind_still_follows_a_reset(monkeypatch):
    import portfolio.live
    from portfolio.live import account_event_hub
    from portfolio.services import account_reset

    user = await make_trader()
    communicator, _ = await connect(user)
    hub, missed, failures = account_event_hub(), portfolio.live._missed, []

    async def fails_once(account_id, after_seq):
        if not failures:
            failures.append(account_id)
            raise RuntimeError("database went away")
        return await missed(account_id, after_seq)

    monkeypatch.setattr(portfolio.live, "_missed", fails_once)
    hub.deliver(f"{hub.prefix}{user.pk}".encode(), b"[]")  # its catch-up fails: the socket is behind
    await asyncio.sleep(0.1)
    assert failures
    new_account = await sync_to_async(account_reset)(user=user)
    await sync_to_async(account_deposit)(user=user, amount=Decimal(7))
    event = await communicator.receive_json_from(timeout=2)
    assert (event["account_id"], event["seq"], event["data"]["amount"]) == (new_account.pk, 1, 7)
    await communicator.disconnect()


async def expect_closed_for(communicator, error_code: str, close_code: int, timeout: float = 5):
    error = await communicator.receive_json_from(timeout=timeout)
    assert (error["type"], error["code"]) == ("error", error_code)
    assert (await communicator.receive_output(timeout=timeout)) == {"type": "websocket.close", "code": close_code}


async def test_a_socket_is_closed_with_4401_when_its_access_token_expires():
    from datetime import timedelta

    user = await make_trader()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=1))
    communicator = WebsocketCommunicator(application, "/ws/account/", headers=ORIGIN)
    assert (await communicator.connect(timeout=5))[0]
    await communicator.send_json_to({"action": "authenticate", "token": str(token)})
    assert (await communicator.receive_json_from())["type"] == "hello"
    await expect_closed_for(communicator, "token_expired", 4401)


async def test_a_jwt_socket_is_closed_when_its_login_logs_out(settings, password):
    from rest_framework.test import APIClient

    settings.WS_AUTH_RECHECK_SECONDS = 0.2
    user = await make_trader()
    client = APIClient()
    login = await sync_to_async(client.post)(
        "/api/v1/auth/token", {"username": user.username, "password": password}, format="json"
    )
    tokens = login.json()
    communicator = WebsocketCommunicator(application, "/ws/account/", headers=ORIGIN)
    assert (await communicator.connect(timeout=5))[0]
    await communicator.send_json_to({"action": "authenticate", "token": tokens["access"]})
    assert (await communicator.receive_json_from())["type"] == "hello"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    logout = await sync_to_async(client.post)("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert logout.status_code == 204
    await expect_closed_for(communicator, "logged_out", 4401)

    again = WebsocketCommunicator(application, "/ws/account/", headers=ORIGIN)  # the access token is still unexpired
    assert (await again.connect(timeout=5))[0]
    await again.send_json_to({"action": "authenticate", "token": tokens["access"]})
    await expect_closed_for(again, "authentication_failed", 4401)


async def test_a_session_socket_is_closed_when_its_session_logs_out(settings):
    from django.test import Client

    settings.WS_AUTH_RECHECK_SECONDS = 0.2
    user = await make_trader()
    browser = Client()
    await sync_to_async(browser.force_login)(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    communicator = WebsocketCommunicator(application, "/ws/account/", headers=[*ORIGIN, (b"cookie", cookie)])
    assert (await communicator.connect(timeout=5))[0]
    assert (await communicator.receive_json_from())["type"] == "hello"
    assert await communicator.receive_nothing(timeout=0.5)  # rechecked, still logged in
    await sync_to_async(browser.logout)()
    await expect_closed_for(communicator, "logged_out", 4401)


async def test_sockets_per_user_are_capped_and_a_closed_one_frees_its_place(settings):
    settings.WS_MAX_SOCKETS_PER_USER = 2
    user = await make_trader()
    first, _ = await connect(user)
    second, _ = await connect(user)
    third = WebsocketCommunicator(application, "/ws/account/", headers=ORIGIN)
    assert (await third.connect(timeout=5))[0]
    await third.send_json_to({"action": "authenticate", "token": str(AccessToken.for_user(user))})
    await expect_closed_for(third, "too_many_sockets", 4429)
    await first.disconnect(timeout=5)
    replacement, _ = await connect(user)
    await replacement.disconnect(timeout=5)
    await second.disconnect(timeout=5)


async def test_sockets_per_address_are_capped(settings):
    settings.WS_MAX_SOCKETS_PER_ADDRESS = 2
    sockets = []
    for _ in range(2):
        communicator = WebsocketCommunicator(application, "/ws/account/", headers=ORIGIN)
        assert (await communicator.connect(timeout=5))[0]
        sockets.append(communicator)
    over = WebsocketCommunicator(application, "/ws/account/", headers=ORIGIN)
    assert (await over.connect(timeout=5))[0]
    await expect_closed_for(over, "too_many_sockets", 4429)
    for communicator in sockets:
        await communicator.disconnect(timeout=5)
