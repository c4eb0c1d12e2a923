"""The relay's pieces on their own: topics, tick bodies, the STOMP frame splitter, commands, config, backoff."""

import json
from dataclasses import replace

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketdata.prices import parse_quote
from marketdata.relay.base import Batch
from marketdata.relay.commands import Command, CommandRejected, parse_command
from marketdata.relay.config import RelayConfig, parse_heartbeats, parse_replay_speed
from marketdata.relay.keys import SUBSCRIPTIONS_KEY
from marketdata.relay.runner import Relay
from marketdata.relay.stomp_ws import FrameSplitter, StompError, encode_frame, safe_url
from marketdata.relay.ticks import MalformedTick, parse_tick, tick_from_body
from marketdata.topics import (
    DestinationEncoding,
    code_from_topic,
    decode_destination,
    encode_destination,
    is_trade_topic,
    trade_topic,
)

TOPIC = "/topic/v1/kr/stock/trade/A005930"


@pytest.mark.parametrize(
    ("topic", "code"),
    [
        (TOPIC, "A005930"),
        ("/topic/v1/kr/stock/trade/A0126Z0", "A0126Z0"),
        ("/topic/v1/kr/stock/trade/005930", None),
        ("/topic/v1/kr/stock/trade/a005930", None),
        ("/topic/v1/kr/stock/trade/A0059301", None),
        ("/topic/v1/kr/stock/trade/A005930\n", None),
        ("/topic/v1/kr/stock/quote/A005930", None),
        (None, None),
    ],
)
def test_a_trade_topic_is_the_prefix_plus_a_stock_code(topic, code):
    assert code_from_topic(topic) == code
    assert is_trade_topic(topic) is (code is not None)


def test_destinations_are_encoded_for_rabbitmq_and_decoded_back():
    assert trade_topic("A005930") == TOPIC
    assert encode_destination(TOPIC, DestinationEncoding.PLAIN) == TOPIC
    encoded = encode_destination(TOPIC, "percent-slashes")
    assert encoded == "/topic/v1%2Fkr%2Fstock%2Ftrade%2FA005930"
    assert decode_destination(encoded) == TOPIC
    with pytest.raises(ValueError, match="not a stock code"):
        trade_topic("005930")


def test_a_tick_keeps_unknown_fields_and_gains_received_at():
    raw = '{"code": "A005930", "close": 70000, "tradingStrength": 99.5, "somethingNew": [1, 2]}\n'
    tick = parse_tick(raw.encode())
    stored = tick.stored_json("2026-11-25T01:00:00.000001+00:00")
    assert json.loads(stored) == {
        "code": "A005930",
        "close": 70000,
        "tradingStrength": 99.5,
        "somethingNew": [1, 2],
        "received_at": "2026-11-25T01:00:00.000001+00:00",
    }
    assert parse_quote("A005930", stored).price == 70000


def test_a_recorded_received_at_is_replaced_by_the_relays():
    tick = parse_tick('{"code": "A005930", "close": "70000", "received_at": "2020-01-01T00:00:00Z"}')
    assert json.loads(tick.stored_json("2026-11-25T01:00:00+00:00"))["received_at"] == "2026-11-25T01:00:00+00:00"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"close": 70000}',
        b'{"code": "005930", "close": 70000}',
        b'{"code": "A005930"}',
        b'{"code": "A005930", "close": 0}',
        b'{"code": "A005930", "close": "abc"}',
        b'{"code": "A005930", "close": NaN}',
        b'{"code": "A005930", "close": true}',
    ],
)
def test_bodies_without_a_valid_code_and_close_are_malformed(raw):
    with pytest.raises(MalformedTick):
        parse_tick(raw)


def test_tick_from_body_accepts_decimal_strings():
    assert tick_from_body({"code": "A005930", "close": "70000.0"}).code == "A005930"


def test_the_splitter_cuts_frames_heartbeats_and_rabbitmq_endings():
    splitter = FrameSplitter()
    message = encode_frame("MESSAGE", {"subscription": "sub-1", "message-id": "1"}, b'{"a":1}')
    frames = splitter.feed(b"\n\n" + message + b"\n" + message + b"\r\n")
    assert [(frame.cmd, frame.headers["subscription"], frame.body) for frame in frames] == [
        ("MESSAGE", "sub-1", b'{"a":1}'),
        ("MESSAGE", "sub-1", b'{"a":1}'),
    ]
    assert splitter.heartbeats == 4


def test_the_splitter_joins_a_frame_split_across_messages_and_honours_content_length():
    splitter = FrameSplitter()
    body = b"zero\x00byte"
    frame = b"MESSAGE\ncontent-length:%d\nsubscription:s\n\n%s\x00" % (len(body), body)
    assert splitter.feed(frame[:20]) == []
    assert splitter.feed(frame[20:-1]) == []
    (whole,) = splitter.feed(frame[-1:])
    assert whole.body == body


def test_the_splitter_passes_garbage_on_as_a_frame_to_be_judged():
    (garbage,) = FrameSplitter().feed(b"\xff\xfe\x00")
    assert garbage.cmd not in ("MESSAGE", "RECEIPT", "ERROR")


def test_the_splitter_gives_up_on_an_endless_frame():
    with pytest.raises(StompError, match="exceeds"):
        FrameSplitter(max_frame_bytes=1024).feed(b"MESSAGE\n\n" + b"x" * 2000)


def test_log_urls_lose_their_query():
    assert safe_url("wss://user:pw@feed.example:8443/ws?token=abc") == "wss://feed.example:8443/ws"


def test_commands_are_parsed_and_validated():
    payload = json.dumps({"type": "subscribe", "topic": TOPIC, "command_id": "c-1"})
    assert parse_command(payload) == Command(type="subscribe", topic=TOPIC, command_id="c-1")
    assert parse_command(json.dumps({"type": "unsubscribe", "topic": TOPIC, "command_id": 7})).command_id == "7"
    with pytest.raises(CommandRejected) as no_id:
        parse_command(json.dumps({"type": "subscribe", "topic": TOPIC}))
    assert no_id.value.command_id is None
    with pytest.raises(CommandRejected) as bad_topic:
        parse_command(json.dumps({"type": "subscribe", "topic": "/topic/x", "command_id": "c-2"}))
    assert (bad_topic.value.command_id, bad_topic.value.topic) == ("c-2", "/topic/x")


def test_configuration_errors_say_what_to_set(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="simulator, toss or replay"):
        RelayConfig(source="kis").validate()
    with pytest.raises(ImproperlyConfigured, match="replay file not found"):
        RelayConfig(source=f"replay:{tmp_path / 'missing.jsonl'}").validate()
    with pytest.raises(ImproperlyConfigured, match="TOSS_WS_URL"):
        RelayConfig(source="toss").validate()
    with pytest.raises(ImproperlyConfigured, match="forbidden character") as bad_header:
        RelayConfig(source="toss", toss_url="wss://x/ws", toss_headers={"authorization": "a\nb"}).validate()
    assert "a\nb" not in str(bad_header.value)
    assert parse_heartbeats("5000,0") == (5000, 0)
    with pytest.raises(ImproperlyConfigured):
        parse_heartbeats("often")
    assert parse_replay_speed("max") is None
    assert parse_replay_speed("2.5") == 2.5
    with pytest.raises(ImproperlyConfigured):
        parse_replay_speed("-1")


def test_settings_give_a_working_default(settings):
    settings.MARKETDATA_SOURCE = "simulator"
    config = RelayConfig.from_settings()
    assert config.source_kind == "simulator"
    assert config.toss_origin == "https://www.tossinvest.com"
    assert "toss_headers" not in repr(config)  # secrets stay out of reprs and tracebacks
    assert (config.ticks_channel, config.commands_channel) == ("stock:ticks", "toss_ws_relayer:commands")


class _IdleSource:
    name = "idle"

    def connect(self, topics):
        pass

    def read(self, timeout):
        return Batch()

    def subscribe(self, topic):
        return None

    def unsubscribe(self, topic):
        return None

    def close(self, *, graceful):
        pass


def test_backoff_doubles_with_jitter_and_stops_at_the_cap(relay_config, redis_client):
    now = [1000.0]
    relay = Relay(replace(relay_config, backoff_base=1.0, backoff_cap=30.0), source=_IdleSource(), clock=lambda: now[0])
    try:
        delays = []
        for _ in range(10):
            relay._schedule_reconnect("test")
            delays.append(relay._next_attempt_at - now[0])
    finally:
        relay.client.close()
    for attempt, delay in enumerate(delays[:5]):
        assert 0.5 * 2**attempt <= delay <= 2**attempt
    assert all(15.0 <= delay <= 30.0 for delay in delays[5:])


class _NamedSource(_IdleSource):
    def __init__(self, name: str) -> None:
        self.name = name


def test_toss_fills_an_empty_subscription_set_with_every_active_stock(relay_config, redis_client, samsung, hynix):
    redis_client.sadd(SUBSCRIPTIONS_KEY, "/topic/not-a-trade-topic")
    relay = Relay(replace(relay_config, toss_subscribe_active_stocks=True), source=_NamedSource("toss"))
    try:
        topics = relay._load_topics()
        relay.sink.flush()
    finally:
        relay.client.close()
    assert topics == {trade_topic("A005930"), trade_topic("A000660")}
    assert redis_client.smembers(SUBSCRIPTIONS_KEY) == topics


def test_the_simulator_leaves_an_empty_set_empty(relay_config, redis_client, samsung):
    relay = Relay(replace(relay_config, toss_subscribe_active_stocks=True), source=_NamedSource("simulator"))
    try:
        assert relay._load_topics() == set()
    finally:
        relay.client.close()
