"""A STOMP 1.2 client over WebSocket, driven from one thread by the relay's loop.

Transport: websocket-client (`create_connection` with subprotocol `v12.stomp`
and an explicit Origin). Frames: stomp.py's codec (`convert_frame`,
`parse_frame`, `calculate_heartbeats`). stomp.py's own WebSocket transport
is not used: its `create_connection` call passes neither `subprotocols` nor
`origin`, and it runs receiver and heart-beat threads that call listeners,
where the relay wants one loop that batches reads into one Redis pipeline.

Heart-beats both ways: an EOL is sent whenever nothing else went out for the
negotiated send interval, and a server silent (no bytes at all) for twice its
negotiated interval is treated as dead.
"""

import logging
import re
import select
import ssl
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import websocket
from stomp.utils import Frame, calculate_heartbeats, convert_frame, parse_frame

from marketdata.relay.base import SourceError

logger = logging.getLogger(__name__)

SUBPROTOCOL = "v12.stomp"
STOMP_VERSION = "1.2"
MAX_FRAME_BYTES = 1 << 20
_PREAMBLE_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"\ncontent-length:[ \t]*(\d+)")
_HEARTBEAT = b"\n"
_TEXT = websocket.ABNF.OPCODE_TEXT
_DATA_OPCODES = (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY)
_CLOSE = websocket.ABNF.OPCODE_CLOSE


class StompError(SourceError):
    """The STOMP connection failed or was lost."""


def safe_url(url: str) -> str:
    """The URL without query or credentials, for logs (a token may ride in the query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description of a transport error."""
    if isinstance(exc, websocket.WebSocketBadStatusException):
        return f"handshake answered HTTP {exc.status_code}"
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class FrameSplitter:
    """Cuts a byte stream into STOMP frames (EOLs between frames are heart-beats).

    A frame ends at its NUL, or after `content-length` body bytes when the header is present.
    """

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._buffer = bytearray()
        self._max = max_frame_bytes
        self.heartbeats = 0

    def feed(self, data: bytes) -> list[Frame]:
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        position, size = 0, len(buffer)
        while position < size:
            byte = buffer[position]
            if byte == 0x0A or byte == 0x0D:
                if byte == 0x0A:
                    self.heartbeats += 1
                position += 1
                continue
            nul = buffer.find(b"\0", position)
            header_end = _PREAMBLE_END.search(buffer, position)
            if nul >= 0 and (header_end is None or nul < header_end.start()):
                end = nul  # a NUL before the blank line: not a frame; passed on to be judged malformed
            elif header_end is None:
                break
            elif (length := _CONTENT_LENGTH.search(buffer, position, header_end.start())) is not None:
                end = header_end.end() + int(length[1])
                if end >= size:
                    break
                if buffer[end] != 0:
                    raise StompError("frame body longer than its content-length")
            else:
                end = nul
                if end < 0:
                    break
            frame = parse_frame(bytes(buffer[position:end]))
            if frame is not None:
                frames.append(frame)
            position = end + 1
        del buffer[:position]
        if len(buffer) > self._max:
            raise StompError(f"incomplete frame exceeds {self._max} bytes")
        return frames


def encode_frame(command: str, headers: Mapping[str, str], body: bytes = b"") -> bytes:
    return b"".join(convert_frame(Frame(command, dict(headers), body)))


class StompWsClient:
    """One STOMP session over one WebSocket. Not thread-safe: one loop drives it."""

    def __init__(
        self,
        url: str,
        *,
        origin: str | None,
        heartbeats: tuple[int, int] = (5000, 5000),
        connect_timeout: float = 10.0,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        clock=time.monotonic,
    ) -> None:
        self.url = url
        self.origin = origin
        self.offered_heartbeats = heartbeats
        self.connect_timeout = connect_timeout
        self.clock = clock
        self._ws: websocket.WebSocket | None = None
        self._poller: select.poll | None = None
        self._splitter = FrameSplitter(max_frame_bytes)
        self._timeout: float | None = None
        self.send_interval = 0.0  # seconds between our heart-beats (0: none)
        self.receive_interval = 0.0  # seconds between the server's heart-beats (0: none expected)
        self.server_headers: dict[str, str] = {}
        self._last_rx = self._last_tx = 0.0
        self._receipt_seq = 0
        self._deferred: StompError | None = None

    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def heartbeats_received(self) -> int:
        return self._splitter.heartbeats

    def open(self, connect_headers: Mapping[str, str]) -> None:
        """WebSocket handshake, CONNECT, wait for CONNECTED; raises StompError (headers never in the message)."""
        try:
            ws = websocket.create_connection(
                self.url,
                timeout=self.connect_timeout,
                subprotocols=[SUBPROTOCOL],
                origin=self.origin,
                skip_utf8_validation=True,  # bodies are decoded (and judged) by the relay
                enable_multithread=False,
            )
        except (websocket.WebSocketException, OSError) as exc:
            raise StompError(describe_error(exc)) from None
        self._ws = ws
        if (ws.getsubprotocol() or "").lower() != SUBPROTOCOL:
            self.abort()
            raise StompError(f"server did not accept subprotocol {SUBPROTOCOL}")
        self._poller = select.poll()
        self._poller.register(ws.sock, select.POLLIN)
        self._last_rx = self._last_tx = self.clock()
        send_ms, receive_ms = self.offered_heartbeats
        # Ours last: the relay speaks 1.2 only and owns the heart-beat offer.
        headers = {**connect_headers, "accept-version": STOMP_VERSION, "heart-beat": f"{send_ms},{receive_ms}"}
        self.send("CONNECT", headers)
        deadline = self.clock() + self.connect_timeout
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                self.abort()
                raise StompError("no CONNECTED frame within the connect timeout")
            for frame in self.read_frames(remaining, max_frames=1, enforce_heartbeats=False):
                if frame.cmd == "CONNECTED":
                    self._connected(frame)
                    return
                if frame.cmd == "ERROR":
                    self.abort()
                    raise StompError(f"server refused CONNECT: {frame.headers.get('message', '')[:200]}")

    def _connected(self, frame: Frame) -> None:
        self.server_headers = dict(frame.headers)
        version = frame.headers.get("version", "")
        if version != STOMP_VERSION:
            self.abort()
            raise StompError(f"server speaks STOMP {version or '(unknown)'}, not {STOMP_VERSION}")
        server_beats = (frame.headers.get("heart-beat") or "0,0").split(",")
        if len(server_beats) != 2 or not all(part.strip().isdigit() for part in server_beats):
            server_beats = ["0", "0"]
        send_ms, receive_ms = calculate_heartbeats(
            (server_beats[0].strip(), server_beats[1].strip()), self.offered_heartbeats
        )
        self.send_interval = send_ms / 1000
        self.receive_interval = receive_ms / 1000

    def send(self, command: str, headers: Mapping[str, str]) -> None:
        self._send_raw(encode_frame(command, headers))

    def _send_raw(self, data: bytes) -> None:
        if self._ws is None:
            raise StompError("not connected")
        try:
            self._ws.send(data, _TEXT)
        except (websocket.WebSocketException, OSError) as exc:
            self.abort()
            raise StompError(f"send failed: {describe_error(exc)}") from None
        self._last_tx = self.clock()

    def _beat_if_due(self, now: float) -> None:
        if self.send_interval and now - self._last_tx >= self.send_interval:
            self._send_raw(_HEARTBEAT)

    def _data_pending(self) -> bool:
        sock = self._ws.sock if self._ws is not None else None
        if sock is None or self._poller is None:
            return False
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        return bool(self._poller.poll(0))

    def _set_timeout(self, seconds: float) -> None:
        seconds = max(seconds, 0.001)
        if seconds != self._timeout:
            self._ws.settimeout(seconds)
            self._timeout = seconds

    def read_frames(self, timeout: float, max_frames: int = 1000, *, enforce_heartbeats: bool = True) -> list[Frame]:
        """Frames that arrive within `timeout`; returns as soon as some arrived and nothing more is buffered.

        Sends our heart-beats when due and raises StompError when the server has been silent too long.
        """
        if self._deferred is not None:
            error, self._deferred = self._deferred, None
            raise error
        if self._ws is None:
            raise StompError("not connected")
        clock = self.clock
        now = clock()
        deadline = now + timeout
        frames: list[Frame] = []
        while True:
            try:
                self._beat_if_due(now)
            except StompError as exc:
                return self._lost(frames, str(exc))
            wait = deadline - now
            if self.send_interval:
                wait = min(wait, self._last_tx + self.send_interval - now)
            silence_limit = 2 * self.receive_interval if enforce_heartbeats else 0.0
            if silence_limit:
                wait = min(wait, self._last_rx + silence_limit - now)
            try:
                self._set_timeout(wait)
                opcode, data = self._ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                now = clock()
                if silence_limit and now - self._last_rx >= silence_limit:
                    self.abort()
                    raise StompError(f"server silent for {now - self._last_rx:.1f}s (heart-beat lost)") from None
                if frames or now >= deadline:
                    return frames
                continue
            except (websocket.WebSocketException, OSError) as exc:
                return self._lost(frames, f"connection lost: {describe_error(exc)}")
            now = self._last_rx = clock()
            if opcode == _CLOSE:
                return self._lost(frames, "server closed the WebSocket")
            if opcode in _DATA_OPCODES:
                try:
                    frames.extend(self._splitter.feed(data))
                except StompError as exc:
                    return self._lost(frames, str(exc))
            if len(frames) >= max_frames or (frames and not self._data_pending()) or now >= deadline:
                return frames

    def _lost(self, frames: list[Frame], reason: str) -> list[Frame]:
        """The connection is gone: hand over what already arrived (an ERROR, say), raise on the next read."""
        self.abort()
        if not frames:
            raise StompError(reason)
        self._deferred = StompError(reason)
        return frames

    def disconnect(self, timeout: float) -> bool:
        """DISCONNECT with a receipt, wait up to `timeout` for the RECEIPT, close. True if it came."""
        if self._ws is None:
            return False
        self._receipt_seq += 1
        receipt = f"disconnect-{self._receipt_seq}"
        confirmed = False
        try:
            self.send("DISCONNECT", {"receipt": receipt})
            deadline = self.clock() + timeout
            while not confirmed and (remaining := deadline - self.clock()) > 0:
                frames = self.read_frames(remaining, enforce_heartbeats=False)
                confirmed = any(f.cmd == "RECEIPT" and f.headers.get("receipt-id") == receipt for f in frames)
        except StompError:
            pass  # the server may close right after its RECEIPT
        self.close()
        return confirmed

    def close(self) -> None:
        """Close the WebSocket politely (close frame, short wait), releasing the socket either way."""
        ws, self._ws = self._ws, None
        if ws is None:
            return
        try:
            ws.close(timeout=0.5)
        except (websocket.WebSocketException, OSError):
            pass
        finally:
            ws.shutdown()

    def abort(self) -> None:
        """Drop the socket at once (the connection is already broken)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.shutdown()
