"""Toss Securities' realtime feed: STOMP 1.2 over WebSocket (unofficial; kept a replaceable plug-in).

Frames on the wire:
  SUBSCRIBE  id:sub-N  destination:/topic/v1/kr/stock/trade/A005930  receipt:subscribe-N
  MESSAGE    subscription:sub-N  message-id:…  (no destination)  body: one tick as JSON
so messages are routed by their `subscription` header. CONNECT headers
(`authorization`, `device-id`, `connection-id`, …) are secret: they come from
TOSS_WS_HEADERS or from GuestKeyCredentials and never reach a log line.
"""

import json
import logging
import urllib.error
import urllib.request
import uuid
from collections.abc import Collection, Mapping
from typing import Protocol

from marketdata.relay.base import Ack, Action, Batch, SourceError, log_event
from marketdata.relay.stomp_ws import StompError, StompWsClient, safe_url
from marketdata.relay.ticks import MalformedTick, parse_index_tick, parse_tick
from marketdata.topics import DestinationEncoding, encode_destination

logger = logging.getLogger(__name__)


class Credentials(Protocol):
    def connect_headers(self) -> dict[str, str]:
        """Headers for one CONNECT frame (called once per connection attempt); raises SourceError."""


class StaticCredentials:
    """CONNECT headers as configured (TOSS_WS_HEADERS), e.g. a captured authorization or a broker's login."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = {str(name): str(value) for name, value in headers.items()}

    def __repr__(self) -> str:
        return f"StaticCredentials(names={sorted(self._headers)})"

    def connect_headers(self) -> dict[str, str]:
        return dict(self._headers)


class GuestKeyCredentials:
    """What Toss's web client does for a visitor: fetch a guest key, present it with a device and connection id.

    The key URL answers JSON whose `result` is the key (`{"result": "…"}`). A fresh key and
    connection id are taken for every connection attempt; the device id lives as long as the process.
    """

    def __init__(
        self,
        url: str,
        *,
        origin: str,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("TOSS_GUEST_KEY_URL must be an http(s) URL")
        self._url = url
        self._origin = origin
        self._extra = {str(name): str(value) for name, value in (extra_headers or {}).items()}
        self._timeout = timeout
        self.device_id = f"WTS-{uuid.uuid4().hex}"

    def __repr__(self) -> str:
        return f"GuestKeyCredentials(url={safe_url(self._url)!r})"

    def _fetch_key(self) -> str:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self._url, headers={"Accept": "application/json", "Origin": self._origin}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                payload = json.loads(response.read(1 << 16))
        except urllib.error.HTTPError as exc:
            raise SourceError(f"guest key request answered HTTP {exc.code}") from None
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested ~1,000 deep
            raise SourceError(f"guest key request failed: {type(exc).__name__}") from None
        key = payload.get("result") if isinstance(payload, dict) else None
        if not isinstance(key, str) or not key or any(c in key for c in "\r\n\0"):
            raise SourceError("guest key response has no usable result")
        return key

    def connect_headers(self) -> dict[str, str]:
        return {
            **self._extra,
            "authorization": self._fetch_key(),
            "device-id": self.device_id,
            "connection-id": str(uuid.uuid4()),
        }


def credentials_for(*, headers: Mapping[str, str], guest_key_url: str, origin: str, timeout: float) -> Credentials:
    """Configured headers win when they carry an authorization; else a guest key if a URL is set."""
    if guest_key_url and "authorization" not in headers:
        return GuestKeyCredentials(guest_key_url, origin=origin, extra_headers=headers, timeout=timeout)
    return StaticCredentials(headers)


class TossSource:
    name = "toss"

    def __init__(
        self,
        *,
        url: str,
        origin: str | None,
        credentials: Credentials,
        destination_encoding: DestinationEncoding = DestinationEncoding.PLAIN,
        heartbeats: tuple[int, int] = (5000, 5000),
        connect_timeout: float = 10.0,
        batch_max: int = 500,
        disconnect_timeout: float = 2.0,
        index_topics: Mapping[str, str] | None = None,
    ) -> None:
        """`index_topics`: the feed's index topics to follow on every connection, topic -> index code."""
        self.url = url
        self.origin = origin
        self.credentials = credentials
        self.destination_encoding = destination_encoding
        self.heartbeats = heartbeats
        self.connect_timeout = connect_timeout
        self.batch_max = batch_max
        self.disconnect_timeout = disconnect_timeout
        self._client: StompWsClient | None = None
        self._error: str | None = None
        self._seq = 0
        self._sub_id_by_topic: dict[str, str] = {}
        self._topic_by_sub_id: dict[str, str] = {}
        self._receipts: dict[str, tuple[str, Action]] = {}
        self.index_topics = dict(index_topics or {})
        self._index_by_sub_id: dict[str, str] = {}
        self.unrouted_total = 0  # MESSAGEs for a subscription already cancelled

    @property
    def client(self) -> StompWsClient | None:
        return self._client

    def connect(self, topics: Collection[str]) -> None:
        self.close(graceful=False)
        headers = self.credentials.connect_headers()
        client = StompWsClient(
            self.url, origin=self.origin, heartbeats=self.heartbeats, connect_timeout=self.connect_timeout
        )
        client.open(headers)
        self._client, self._error = client, None
        self._sub_id_by_topic.clear()
        self._topic_by_sub_id.clear()
        self._index_by_sub_id.clear()
        self._receipts.clear()
        log_event(
            logger,
            logging.INFO,
            "relay.toss.connected",
            url=safe_url(self.url),
            heartbeat_send_s=client.send_interval,
            heartbeat_receive_s=client.receive_interval,
            topics=len(topics),
        )
        for topic in topics:
            self._send_subscribe(topic)
        for topic, index_code in self.index_topics.items():
            self._send_subscribe(topic)
            self._index_by_sub_id[self._sub_id_by_topic[topic]] = index_code

    def _send_subscribe(self, topic: str) -> str:
        self._seq += 1
        sub_id, receipt = f"sub-{self._seq}", f"subscribe-{self._seq}"
        destination = encode_destination(topic, self.destination_encoding)
        self._require_client().send("SUBSCRIBE", {"id": sub_id, "destination": destination, "receipt": receipt})
        self._sub_id_by_topic[topic] = sub_id
        self._topic_by_sub_id[sub_id] = topic
        self._receipts[receipt] = (topic, "subscribe")
        return receipt

    def _require_client(self) -> StompWsClient:
        if self._client is None:
            raise StompError("not connected")
        return self._client

    def subscribe(self, topic: str) -> str | None:
        if self._client is None or topic in self._sub_id_by_topic:
            return None
        return self._send_subscribe(topic)

    def unsubscribe(self, topic: str) -> str | None:
        sub_id = self._sub_id_by_topic.pop(topic, None)
        if sub_id is None or self._client is None:
            return None
        # Messages already in flight for this id are dropped from now on.
        self._topic_by_sub_id.pop(sub_id, None)
        self._seq += 1
        receipt = f"unsubscribe-{self._seq}"
        self._client.send("UNSUBSCRIBE", {"id": sub_id, "receipt": receipt})
        self._receipts[receipt] = (topic, "unsubscribe")
        return receipt

    def read(self, timeout: float) -> Batch:
        if self._error is not None:
            error, self._error = self._error, None
            self.close(graceful=False)
            raise StompError(error)
        frames = self._require_client().read_frames(timeout, self.batch_max)
        batch = Batch()
        ticks = batch.ticks
        topic_by_sub_id = self._topic_by_sub_id
        index_by_sub_id = self._index_by_sub_id
        for frame in frames:
            command = frame.cmd
            if command == "MESSAGE":
                subscription = frame.headers.get("subscription")
                if subscription not in topic_by_sub_id:
                    self.unrouted_total += 1
                    continue
                try:
                    if subscription in index_by_sub_id:
                        index_code = index_by_sub_id[subscription]
                        batch.indices.append(parse_index_tick(frame.body, code=index_code, source=self.name))
                    else:
                        ticks.append(parse_tick(frame.body))
                except MalformedTick as exc:
                    batch.refuse(str(exc))
            elif command == "RECEIPT":
                self._ack(batch, frame.headers.get("receipt-id"), ok=True)
            elif command == "ERROR":
                message = frame.headers.get("message", "")[:200]
                if not self._ack(batch, frame.headers.get("receipt-id"), ok=False, message=message):
                    log_event(logger, logging.WARNING, "relay.toss.error_frame", message=message)
                # A STOMP server closes the connection after ERROR; report the acks first, then reconnect.
                self._error = f"server sent ERROR: {message}"
            else:
                batch.refuse(f"unexpected frame {command[:40]!r}")
        return batch

    def _ack(self, batch: Batch, receipt_id: str | None, *, ok: bool, message: str = "") -> bool:
        pending = self._receipts.pop(receipt_id, None) if receipt_id else None
        if pending is None:
            return False
        topic, action = pending
        if not ok and action == "subscribe":
            sub_id = self._sub_id_by_topic.pop(topic, None)
            self._topic_by_sub_id.pop(sub_id, None)
            if self._index_by_sub_id.pop(sub_id, None) is not None:
                log_event(logger, logging.WARNING, "relay.toss.index_refused", topic=topic, reason=message)
        batch.acks.append(Ack(token=receipt_id, topic=topic, action=action, ok=ok, message=message))
        return True

    def close(self, *, graceful: bool) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if graceful:
            confirmed = client.disconnect(self.disconnect_timeout)
            log_event(logger, logging.INFO, "relay.toss.disconnected", receipt=confirmed)
        else:
            client.abort()
