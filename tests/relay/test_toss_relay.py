"""The Toss source end to end: the relay against a real STOMP 1.2 over WebSocket server, into real Redis."""

import json
import logging
import threading
import uuid
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import websocket

from marketdata.prices import parse_quote
from marketdata.relay.keys import COMMAND_RESULT_KEY, SUBSCRIPTIONS_KEY
from marketdata.topics import DestinationEncoding, trade_topic
from tests.relay.conftest import wait_until
from tests.relay.stomp_server import FakeStompServer

SAMSUNG = trade_topic("A005930")
HYNIX = trade_topic("A000660")
NEW_LISTING = trade_topic("A0126Z0")
SECRET = "test-secret-authorization"


def toss_body(code="A005930", close=70_000, **extra) -> dict:
    return {
        "code": code,
        "dt": "2026-11-25T01:00:00.123Z",
        "session": "REGULAR",
        "currency": "KRW",
        "base": 69_500,
        "close": close,
        "open": 69_800,
        "high": 70_100,
        "low": 69_700,
        "volume": 10,
        "tradeType": "BUY",
        "changeType": "UP",
        "tradingStrength": 101.5,
        "cumulativeVolume": 1_000,
        "cumulativeAmount": 70_000_000,
        **extra,
    }


def stored(redis_client, code: str) -> dict | None:
    payload = redis_client.get(f"stock:realtime:{code}")
    return json.loads(payload) if payload else None


def connected(health, **expected):
    def check():
        record = health()
        return record if record and record["state"] == "connected" and expected.items() <= record.items() else None

    return wait_until(check, message=f"relay connected with {expected}")


def test_it_connects_like_the_toss_web_client_and_stores_ticks(
    toss_config, stomp_server, start_relay, redis_client, health, tick_messages
):
    redis_client.sadd(SUBSCRIPTIONS_KEY, SAMSUNG, HYNIX)
    start_relay(toss_config)
    assert stomp_server.wait_for(lambda: len(stomp_server.frames("SUBSCRIBE")) == 2)

    handshake = stomp_server.handshakes[0]
    assert (handshake.path, handshake.origin, handshake.subprotocols) == (
        "/ws",
        "https://www.tossinvest.com",
        "v12.stomp",
    )
    connect = stomp_server.frames("CONNECT")[0].headers
    assert connect["accept-version"] == "1.2"
    assert connect["heart-beat"] == "100,100"
    assert connect["authorization"] == SECRET
    assert connect["device-id"] == "WTS-test"
    subscribes = [item.headers for item in stomp_server.frames("SUBSCRIBE")]
    assert {headers["destination"] for headers in subscribes} == {SAMSUNG, HYNIX}
    assert len({headers["id"] for headers in subscribes}) == 2
    assert all(headers["receipt"] for headers in subscribes)

    body = toss_body(newField={"kept": True})
    assert stomp_server.publish(SAMSUNG, json.dumps(body)) == 1  # MESSAGE without destination
    tick = wait_until(lambda: stored(redis_client, "A005930"), message="tick stored")
    received_at = tick.pop("received_at")
    assert tick == body  # every field, unknown ones included
    assert 3590 < redis_client.ttl("stock:realtime:A005930") <= 3600
    quote = parse_quote("A005930", json.dumps({**tick, "received_at": received_at}))
    assert quote.price == 70_000
    assert quote.is_fresh()

    published = wait_until(tick_messages, message="stock:ticks message")
    assert published == [[{**body, "received_at": received_at}]]  # one JSON list per batch
    record = connected(health, messages_total=1)
    assert record["source"] == "toss"
    assert record["subscriptions"] == 2
    assert record["malformed_total"] == 0
    assert 0 < redis_client.ttl("toss_ws_relayer:health") <= 30


def test_the_server_turns_away_a_client_without_the_stomp_subprotocol(stomp_server):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(stomp_server.url, timeout=5)
    assert refused.value.status_code == 400


def test_messages_are_routed_by_subscription_and_unknown_ones_dropped(
    toss_config, stomp_server, start_relay, redis_client, health
):
    redis_client.sadd(SUBSCRIPTIONS_KEY, SAMSUNG)
    start_relay(toss_config)
    assert stomp_server.wait_for(lambda: stomp_server.frames("SUBSCRIBE"))
    stray = json.dumps(toss_body(code="A000660"))
    stomp_server.send_raw(f"MESSAGE\nsubscription:sub-999\nmessage-id:x\n\n{stray}\0")
    stomp_server.publish(SAMSUNG, json.dumps(toss_body()), content_length=True)
    wait_until(lambda: stored(redis_client, "A005930"), message="routed tick")
    assert stored(redis_client, "A000660") is None
    assert connected(health, messages_total=1)["malformed_total"] == 0


def test_it_reconnects_after_a_dropped_connection_and_resubscribes_every_topic(
    toss_config, stomp_server, start_relay, redis_client, health
):
    topics = {SAMSUNG, HYNIX, NEW_LISTING}
    redis_client.sadd(SUBSCRIPTIONS_KEY, *topics)
    start_relay(toss_config)
    assert stomp_server.wait_for(lambda: stomp_server.subscribed_destinations(1) == topics)

    stomp_server.drop_connections()

    assert stomp_server.wait_for(lambda: stomp_server.subscribed_destinations(2) == topics)
    connected(health, reconnects=1)
    stomp_server.publish(HYNIX, json.dumps(toss_body(code="A000660", close=180_000)))
    assert wait_until(lambda: stored(redis_client, "A000660"))["close"] == 180_000


def test_a_silent_server_is_dead_after_twice_its_heartbeat(toss_config, stomp_server, start_relay, health):
    start_relay(toss_config)
    connected(health)
    # CONNECTED offered 200 ms; twice that without a byte means dead.
    stomp_server.stall()
    assert stomp_server.wait_for(lambda: stomp_server.sessions_started() == 2, timeout=5)
    assert connected(health, reconnects=1)


def test_it_sends_heartbeats_when_it_has_nothing_else_to_say(toss_config, stomp_server, start_relay, health):
    start_relay(toss_config)
    connected(health)
    # Negotiated: the relay beats every max(100, 200) ms.
    assert stomp_server.wait_for(lambda: stomp_server.heartbeats_received >= 4, timeout=3)
    assert stomp_server.sessions_started() == 1


def test_garbage_and_malformed_bodies_are_counted_not_fatal(
    toss_config, stomp_server, start_relay, redis_client, health, caplog
):
    redis_client.sadd(SUBSCRIPTIONS_KEY, SAMSUNG)
    start_relay(toss_config)
    assert stomp_server.wait_for(lambda: stomp_server.frames("SUBSCRIBE"))

    stomp_server.publish(SAMSUNG, "this is not JSON")
    stomp_server.publish(SAMSUNG, json.dumps({"code": "A005930"}))  # no close
    stomp_server.publish(SAMSUNG, json.dumps({"close": 70_000}))  # no code
    stomp_server.publish(SAMSUNG, json.dumps(toss_body(close=-5)))
    stomp_server.send_raw("GARBAGE\n\n\0")
    stomp_server.send_raw(b"\xff\xfe\x00")
    stomp_server.publish(SAMSUNG, json.dumps(toss_body(close=70_100)))

    assert wait_until(lambda: stored(redis_client, "A005930"))["close"] == 70_100
    record = connected(health, malformed_total=6)
    assert record["messages_total"] == 1
    assert record["reconnects"] == 0
    assert stomp_server.sessions_started() == 1
    assert "relay.malformed count=" in caplog.text  # logged once per interval with a count, not per frame


def test_refused_handshakes_are_retried_with_growing_backoff(toss_config, stomp_server, start_relay, health):
    stomp_server.refuse_next(3)
    start_relay(toss_config)
    record = connected(health)
    assert record["connect_failures"] == 3
    assert record["reconnects"] == 0
    times = [handshake.at for handshake in stomp_server.handshakes]
    assert [handshake.refused for handshake in stomp_server.handshakes] == [True, True, True, False]
    # base 0.05 s doubling, jitter 50-100 %: at least 0.025 + 0.05 + 0.1 s in all, the third wait >= 0.1 s.
    assert times[3] - times[0] >= 0.175
    assert times[3] - times[2] >= 0.1


def test_subscribe_and_unsubscribe_commands_round_trip(
    toss_config, stomp_server, start_relay, redis_client, health, relay_command
):
    start_relay(toss_config)
    connected(health, subscriptions=0)

    result = relay_command("subscribe", SAMSUNG, "cmd-1")
    assert result == {"success": True, "message": f"subscribed {SAMSUNG}", "command_id": "cmd-1", "topic": SAMSUNG}
    assert 290 < redis_client.ttl(COMMAND_RESULT_KEY.format(command_id="cmd-1")) <= 300
    subscribe = stomp_server.frames("SUBSCRIBE")[0].headers
    assert subscribe["destination"] == SAMSUNG
    assert redis_client.smembers(SUBSCRIPTIONS_KEY) == {SAMSUNG}
    stomp_server.publish(SAMSUNG, json.dumps(toss_body()))
    wait_until(lambda: stored(redis_client, "A005930"))

    result = relay_command("unsubscribe", SAMSUNG, "cmd-2")
    assert result["success"] is True
    assert stomp_server.frames("UNSUBSCRIBE")[0].headers["id"] == subscribe["id"]
    assert redis_client.smembers(SUBSCRIPTIONS_KEY) == set()
    connected(health, subscriptions=0)


def test_commands_it_cannot_carry_out_are_answered_with_the_reason(
    toss_config, stomp_server, start_relay, redis_client, health, caplog, relay_command
):
    relay = start_relay(toss_config)
    connected(health)
    assert relay_command("subscribe", SAMSUNG)["success"] is True

    duplicate = relay_command("subscribe", SAMSUNG)
    assert duplicate["success"] is False
    assert "already subscribed" in duplicate["message"]
    unknown_topic = relay_command("unsubscribe", HYNIX)
    assert unknown_topic["success"] is False
    assert "not subscribed" in unknown_topic["message"]
    for bad_topic in ["/topic/v1/kr/stock/trade/005930", "/topic/v1/kr/stock/trade/a005930", "/topic/other", None]:
        invalid = relay_command("subscribe", bad_topic)
        assert invalid["success"] is False
        assert "invalid topic" in invalid["message"]
    wrong_type = relay_command("resubscribe", SAMSUNG)
    assert wrong_type["success"] is False
    assert "unknown command type" in wrong_type["message"]
    assert relay_command("subscribe", NEW_LISTING)["success"] is True  # letters in new codes

    redis_client.publish(toss_config.commands_channel, "{not json")
    wait_until(lambda: "relay.command_unanswerable" in caplog.text, message="unanswerable command logged")
    stats = relay.stop()
    assert stats.commands_rejected == 8
    assert redis_client.smembers(SUBSCRIPTIONS_KEY) == {SAMSUNG, NEW_LISTING}
    assert {item.headers["destination"] for item in stomp_server.frames("SUBSCRIBE")} == {SAMSUNG, NEW_LISTING}


def test_a_topic_the_feed_refuses_is_answered_false_and_dropped_from_the_set(
    relay_config, start_relay, redis_client, health, relay_command
):
    server = FakeStompServer(heartbeat=(200, 200), valid_destination=lambda d: not d.endswith("A999999")).start()
    try:
        redis_client.sadd(SUBSCRIPTIONS_KEY, SAMSUNG)
        start_relay(replace(relay_config, toss_url=server.url))
        connected(health)

        refused = relay_command("subscribe", trade_topic("A999999"))

        assert refused["success"] is False
        assert "bad destination" in refused["message"]
        assert redis_client.smembers(SUBSCRIPTIONS_KEY) == {SAMSUNG}
        # The server closed after its ERROR; the relay comes back with the rest of the set only.
        assert server.wait_for(lambda: server.subscribed_destinations(2) == {SAMSUNG})
        connected(health, reconnects=1, subscriptions=1)
    finally:
        server.stop()


def test_percent_slashes_encoding_sends_one_segment_after_topic(toss_config, stomp_server, start_relay, redis_client):
    redis_client.sadd(SUBSCRIPTIONS_KEY, SAMSUNG)
    start_relay(replace(toss_config, toss_destination_encoding=DestinationEncoding.PERCENT_SLASHES))
    encoded = "/topic/v1%2Fkr%2Fstock%2Ftrade%2FA005930"
    assert stomp_server.wait_for(lambda: stomp_server.subscribed_destinations(1) == {encoded})
    stomp_server.publish(encoded, json.dumps(toss_body()))
    wait_until(lambda: stored(redis_client, "A005930"))
    assert redis_client.smembers(SUBSCRIPTIONS_KEY) == {SAMSUNG}  # the set keeps plain names


class _GuestKeyHandler(BaseHTTPRequestHandler):
    keys: list[str] = []

    def do_GET(self):
        key = f"guest-key-{uuid.uuid4().hex}"
        self.keys.append(key)
        body = json.dumps({"result": key}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def guest_key_server():
    _GuestKeyHandler.keys = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GuestKeyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _GuestKeyHandler.keys
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_guest_key_credentials_are_fetched_per_connection_and_never_logged(
    toss_config, stomp_server, start_relay, guest_key_server, health, caplog
):
    caplog.set_level(logging.DEBUG, logger="marketdata")
    http_server, keys = guest_key_server
    url = f"http://127.0.0.1:{http_server.server_address[1]}/api/v1/refresh-utk"
    start_relay(replace(toss_config, toss_headers={}, toss_guest_key_url=url))
    connected(health)
    stomp_server.drop_connections()
    connected(health, reconnects=1)

    first, second = (item.headers for item in stomp_server.frames("CONNECT")[:2])
    assert [first["authorization"], second["authorization"]] == keys[:2]
    assert first["device-id"] == second["device-id"]
    assert first["device-id"].startswith("WTS-")
    assert first["connection-id"] != second["connection-id"]
    uuid.UUID(first["connection-id"])
    relay_log = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records if r.name.startswith("marketdata"))
    assert "relay.connected" in relay_log
    for secret in [*keys, first["device-id"], first["connection-id"]]:
        assert secret not in relay_log


def test_connect_headers_never_reach_the_log_even_when_refused(relay_config, start_relay, health, caplog):
    caplog.set_level(logging.DEBUG, logger="marketdata")
    server = FakeStompServer(required_headers={"authorization": "what-the-server-wants"}).start()
    try:
        start_relay(replace(relay_config, toss_url=server.url))
        wait_until(lambda: (health() or {}).get("connect_failures", 0) >= 2, message="refused CONNECTs")
    finally:
        server.stop()
    relay_log = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records if r.name.startswith("marketdata"))
    assert "access refused" in relay_log
    assert SECRET not in relay_log
