"""Staff control of the relay's subscriptions: the API and the admin page publish a command and poll its answer.

A thread plays the relay's part over a real Redis: it listens on `toss_ws_relayer:commands`
and writes `toss_ws_relayer:command_result:{command_id}`.
"""

import json
import threading
from contextlib import contextmanager

import pytest
import redis as redis_lib
from django.conf import settings
from rest_framework.test import APIClient

from marketdata.relay.keys import COMMAND_RESULT_KEY, COMMANDS_CHANNEL, HEALTH_KEY, SUBSCRIPTIONS_KEY
from tests.factories import UserFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

ADMIN = "/api/v1/admin/websocket/subscriptions"
TOPIC = "/topic/v1/kr/stock/trade/A000660"


@pytest.fixture
def staff_client():
    client = APIClient()
    client.force_authenticate(user=UserFactory(is_staff=True))
    return client


@pytest.fixture(autouse=True)
def _fast_polling(settings):
    settings.RELAY_COMMAND_POLL_SECONDS = 0.05
    settings.RELAY_COMMAND_TIMEOUT_SECONDS = 5


@contextmanager
def fake_relay(*, answer=True, success=True, message="subscribed"):
    """A relay stand-in: records every command; answers it unless answer=False."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    pubsub = client.pubsub()
    pubsub.subscribe(COMMANDS_CHANNEL)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"  # listening before anyone publishes
    received: list[dict] = []
    stop = threading.Event()

    def run():
        while not stop.is_set():
            raw = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if raw is None:
                continue
            command = json.loads(raw["data"])
            received.append(command)
            if answer:
                result = {"success": success, "message": f"{message} {command['topic']}"}
                client.set(COMMAND_RESULT_KEY.format(command_id=command["command_id"]), json.dumps(result), ex=300)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        stop.set()
        thread.join(timeout=2)
        pubsub.close()
        client.close()


def test_subscribe_publishes_a_command_and_answers_with_the_relays_result(staff_client):
    with fake_relay() as received:
        response = staff_client.post(f"{ADMIN}/subscribe?topic={TOPIC}")

    assert response.status_code == 200, response.content
    body = response.json()
    (command,) = [c for c in received if c["command_id"] == body["command_id"]]
    assert command["type"] == "subscribe"
    assert command["topic"] == TOPIC
    assert body == {
        "success": True,
        "message": f"subscribed {TOPIC}",
        "command_id": command["command_id"],
        "topic": TOPIC,
    }


def test_unsubscribe_is_a_delete_and_passes_on_a_refusal(staff_client):
    with fake_relay(success=False, message="not subscribed to") as received:
        response = staff_client.delete(f"{ADMIN}/unsubscribe?topic={TOPIC}")

    assert response.status_code == 200, response.content
    assert [c["type"] for c in received if c["command_id"] == response.json()["command_id"]] == ["unsubscribe"]
    assert response.json()["success"] is False
    assert response.json()["message"] == f"not subscribed to {TOPIC}"


def test_no_answer_within_the_timeout_is_504(staff_client, settings):
    settings.RELAY_COMMAND_TIMEOUT_SECONDS = 0.3
    with fake_relay(answer=False) as received:
        response = staff_client.post(f"{ADMIN}/subscribe?topic={TOPIC}")

    error = assert_error(response, 504, "relay_timeout")
    assert error["details"]["command_id"] in [c["command_id"] for c in received]


def test_no_relay_listening_is_503_at_once(staff_client, redis_client):
    if redis_client.pubsub_numsub(COMMANDS_CHANNEL)[0][1]:
        pytest.skip("pub/sub is server-wide and another process listens on the command channel")
    error = assert_error(staff_client.post(f"{ADMIN}/subscribe?topic={TOPIC}"), 503, "relay_unavailable")
    assert error["details"]["command_id"]


@pytest.mark.parametrize(
    "topic", ["", "A000660", "/topic/v1/kr/stock/trade/000660", "/topic/v1/kr/stock/trade/A000660/x", "/topic/a"]
)
def test_a_malformed_topic_is_400_and_nothing_is_published(staff_client, topic):
    with fake_relay() as received:
        response = staff_client.post(f"{ADMIN}/subscribe", QUERY_STRING=f"topic={topic}")
        assert_error(response, 400, "invalid_topic")
    assert received == []


def test_users_get_403_and_anonymous_callers_401(user, auth_client, api_client):
    for client, status in [(auth_client, 403), (api_client, 401)]:
        assert_error(client.get(ADMIN), status)
        assert_error(client.post(f"{ADMIN}/subscribe?topic={TOPIC}"), status)
        assert_error(client.delete(f"{ADMIN}/unsubscribe?topic={TOPIC}"), status)


def test_the_subscription_list_shows_the_set_and_the_heartbeat(staff_client, redis_client):
    redis_client.sadd(SUBSCRIPTIONS_KEY, TOPIC, "/topic/v1/kr/stock/trade/A005930")
    redis_client.set(HEALTH_KEY, json.dumps({"state": "connected", "messages_total": 7}), ex=30)

    body = staff_client.get(ADMIN).json()

    assert body["subscriptions"] == ["/topic/v1/kr/stock/trade/A000660", "/topic/v1/kr/stock/trade/A005930"]
    assert body["total_count"] == 2
    assert body["health"]["state"] == "connected"
    assert body["health"]["messages_total"] == 7


def test_the_subscription_list_without_a_relay_says_so(staff_client):
    assert staff_client.get(ADMIN).json() == {"subscriptions": [], "total_count": 0, "health": None}


# --- the admin page --------------------------------------------------------------------------


@pytest.fixture
def staff_browser(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_admin_index_links_to_the_relay_page(staff_browser):
    index = staff_browser.get("/admin/")
    assert b'href="/admin/marketdata/relay/"' in index.content


def test_the_relay_page_shows_heartbeat_and_subscriptions(staff_browser, redis_client):
    redis_client.sadd(SUBSCRIPTIONS_KEY, TOPIC)
    redis_client.set(HEALTH_KEY, json.dumps({"state": "reconnecting", "reconnects": 3}), ex=30)

    page = staff_browser.get("/admin/marketdata/relay/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "reconnecting" in html
    assert TOPIC in html
    assert 'data-testid="simulator-note"' in html  # MARKETDATA_SOURCE defaults to the simulator


def test_the_relay_page_sends_commands_through_the_same_service(staff_browser):
    with fake_relay() as received:
        response = staff_browser.post(
            "/admin/marketdata/relay/",
            {"code": "a005930", "action": "subscribe"},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",  # the message is compared in English
        )

    assert "/topic/v1/kr/stock/trade/A005930" in [c["topic"] for c in received]
    assert "Relay: subscribed /topic/v1/kr/stock/trade/A005930" in response.content.decode()


def test_the_relay_page_is_for_staff_only(client, user):
    client.force_login(user)
    assert client.get("/admin/marketdata/relay/").status_code == 302  # to the admin login
