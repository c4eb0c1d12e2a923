"""A STOMP 1.2 over WebSocket server for the relay's tests, written with plain `websockets`.

It runs an asyncio loop in a background thread on 127.0.0.1 (ephemeral port),
speaks the protocol the way Toss's feed does (subprotocol `v12.stomp`
required, CONNECTED with heart-beat negotiation, MESSAGE frames that carry
`subscription` and `message-id` but no `destination`, RECEIPT when asked,
ERROR and close on a bad destination), records every frame it receives, and
can misbehave on demand: drop connections, stall (no bytes, no heart-beats),
send garbage, refuse the next N handshakes.
"""

import asyncio
import contextlib
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from stomp.utils import Frame, convert_frame, parse_frame
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

SUBPROTOCOL = "v12.stomp"


def encode(command: str, headers: dict, body: str | bytes = b"") -> str:
    return b"".join(convert_frame(Frame(command, dict(headers), body))).decode("utf-8")


@dataclass
class Handshake:
    path: str
    origin: str | None
    subprotocols: str | None
    refused: bool
    at: float


@dataclass
class Received:
    session: int
    frame: Frame

    @property
    def cmd(self) -> str:
        return self.frame.cmd

    @property
    def headers(self) -> dict:
        return self.frame.headers


@dataclass
class _Session:
    number: int
    connection: ServerConnection
    subscriptions: dict[str, str] = field(default_factory=dict)  # id -> destination
    stalled: bool = False
    connected: bool = False
    send_interval: float = 0.0
    beat_task: asyncio.Task | None = None
    buffer: bytes = b""


class FakeStompServer:
    def __init__(
        self,
        *,
        heartbeat: tuple[int, int] = (1000, 1000),
        valid_destination: Callable[[str], bool] = lambda destination: destination.startswith("/topic/"),
        required_headers: dict[str, str] | None = None,
        frame_suffix: str = "",
    ) -> None:
        self.heartbeat = heartbeat  # what CONNECTED offers: server sends every x ms, wants every y ms
        self.valid_destination = valid_destination
        self.required_headers = required_headers or {}
        self.frame_suffix = frame_suffix  # RabbitMQ ends frames with "\0\n"
        self.received: list[Received] = []
        self.handshakes: list[Handshake] = []
        self.heartbeats_received = 0
        self._sessions: dict[int, _Session] = {}
        self._numbers = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._refuse = 0
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-stomp-server", daemon=True)
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> "FakeStompServer":
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("fake STOMP server did not start")
        return self

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        async with serve(
            self._handler,
            "127.0.0.1",
            0,
            subprotocols=[SUBPROTOCOL],  # a client that does not offer it gets HTTP 400
            process_request=self._process_request,
            compression=None,
            ping_interval=None,  # only STOMP heart-beats, so a stall is total silence
            close_timeout=1,
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopping.wait()
            for session in list(self._sessions.values()):
                session.connection.transport.abort()

    # --- observation ----------------------------------------------------------------------

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.05))
        return True

    def frames(self, command: str | None = None, *, session: int | None = None) -> list[Received]:
        with self._changed:
            return [
                item
                for item in self.received
                if (command is None or item.cmd == command) and (session is None or item.session == session)
            ]

    def sessions_started(self) -> int:
        """Connections that got as far as CONNECTED."""
        return len({item.session for item in self.frames("CONNECT")} | {item.session for item in self.frames("STOMP")})

    def subscribed_destinations(self, session: int) -> set[str]:
        return {item.headers["destination"] for item in self.frames("SUBSCRIBE", session=session)}

    @property
    def open_sessions(self) -> int:
        return len(self._sessions)

    # --- faults and traffic, callable from any thread ---------------------------------------

    def _call(self, coroutine) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(5)

    def refuse_next(self, count: int) -> None:
        self._refuse = count

    def publish(self, destination: str, body: str | bytes, *, content_length: bool = False) -> int:
        """Send MESSAGE (no destination header, like Toss) to every live subscription of `destination`."""
        return self._call(self._publish(destination, body, content_length))

    def send_raw(self, data: str | bytes) -> None:
        """Write `data` as-is (a text frame for str, a binary frame for bytes) to every live session."""
        self._call(self._broadcast(data))

    def drop_connections(self) -> None:
        """Cut every TCP connection without a close frame."""
        self._call(self._drop())

    def stall(self) -> None:
        """Existing sessions go silent: no heart-beats, no messages, no answers; the socket stays open."""
        for session in list(self._sessions.values()):
            session.stalled = True

    async def _publish(self, destination: str, body: str | bytes, content_length: bool) -> int:
        sent = 0
        for session in list(self._sessions.values()):
            if session.stalled:
                continue
            for sub_id, subscribed in session.subscriptions.items():
                if subscribed == destination:
                    headers = {
                        "subscription": sub_id,
                        "message-id": f"msg-{next(self._message_ids)}",
                        "content-type": "application/json",
                    }
                    if content_length:
                        headers["content-length"] = 0  # convert_frame fills in the real length
                    await self._send(session, encode("MESSAGE", headers, body))
                    sent += 1
        return sent

    async def _broadcast(self, data: str | bytes) -> None:
        for session in list(self._sessions.values()):
            await session.connection.send(data)

    async def _drop(self) -> None:
        for session in list(self._sessions.values()):
            session.connection.transport.abort()

    # --- protocol ----------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request):
        refused = self._refuse > 0
        self.handshakes.append(
            Handshake(
                path=request.path,
                origin=request.headers.get("Origin"),
                subprotocols=request.headers.get("Sec-WebSocket-Protocol"),
                refused=refused,
                at=time.monotonic(),
            )
        )
        self._notify()
        if refused:
            self._refuse -= 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "try again later\n")
        return None

    async def _send(self, session: _Session, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await session.connection.send(text + self.frame_suffix)

    async def _handler(self, connection: ServerConnection) -> None:
        session = _Session(number=next(self._numbers), connection=connection)
        self._sessions[session.number] = session
        try:
            async for message in connection:
                data = message.encode("utf-8") if isinstance(message, str) else message
                for frame in self._split(session, data):
                    await self._on_frame(session, frame)
        except ConnectionClosed:
            pass
        finally:
            if session.beat_task is not None:
                session.beat_task.cancel()
            self._sessions.pop(session.number, None)
            self._notify()

    def _split(self, session: _Session, data: bytes) -> list[Frame]:
        session.buffer += data
        frames = []
        while True:
            stripped = session.buffer.lstrip(b"\r\n")
            self.heartbeats_received += session.buffer[: len(session.buffer) - len(stripped)].count(b"\n")
            session.buffer = stripped
            end = session.buffer.find(b"\0")
            if end < 0:
                break
            frames.append(parse_frame(session.buffer[:end]))
            session.buffer = session.buffer[end + 1 :]
        self._notify()
        return frames

    async def _on_frame(self, session: _Session, frame: Frame) -> None:
        with self._changed:
            self.received.append(Received(session.number, frame))
            self._changed.notify_all()
        if session.stalled:
            return
        handler = {
            "CONNECT": self._on_connect,
            "STOMP": self._on_connect,
            "SUBSCRIBE": self._on_subscribe,
            "UNSUBSCRIBE": self._on_unsubscribe,
            "DISCONNECT": self._on_disconnect,
        }.get(frame.cmd)
        if handler is None:
            await self._error(session, f"unknown command {frame.cmd}", frame)
        else:
            await handler(session, frame)

    async def _error(self, session: _Session, message: str, frame: Frame | None = None) -> None:
        headers = {"message": message}
        if frame is not None and "receipt" in frame.headers:
            headers["receipt-id"] = frame.headers["receipt"]
        await self._send(session, encode("ERROR", headers, message))
        await session.connection.close()

    async def _receipt(self, session: _Session, frame: Frame) -> None:
        if "receipt" in frame.headers:
            await self._send(session, encode("RECEIPT", {"receipt-id": frame.headers["receipt"]}))

    async def _on_connect(self, session: _Session, frame: Frame) -> None:
        if "1.2" not in frame.headers.get("accept-version", "").split(","):
            await self._error(session, "supported protocol versions are 1.2")
            return
        for name, value in self.required_headers.items():
            if frame.headers.get(name) != value:
                await self._error(session, "access refused")
                return
        client_send, client_receive = (int(part) for part in frame.headers.get("heart-beat", "0,0").split(","))
        server_send, server_receive = self.heartbeat
        if server_send and client_receive:
            session.send_interval = max(server_send, client_receive) / 1000
            session.beat_task = asyncio.create_task(self._beat(session))
        session.connected = True
        await self._send(
            session,
            encode("CONNECTED", {"version": "1.2", "heart-beat": f"{server_send},{server_receive}", "server": "fake"}),
        )

    async def _beat(self, session: _Session) -> None:
        while True:
            await asyncio.sleep(session.send_interval)
            if not session.stalled:
                await self._send(session, "\n")

    async def _on_subscribe(self, session: _Session, frame: Frame) -> None:
        destination = frame.headers.get("destination", "")
        sub_id = frame.headers.get("id")
        if not sub_id or not self.valid_destination(destination):
            await self._error(session, f"bad destination {destination!r}", frame)
            return
        session.subscriptions[sub_id] = destination
        await self._receipt(session, frame)

    async def _on_unsubscribe(self, session: _Session, frame: Frame) -> None:
        session.subscriptions.pop(frame.headers.get("id", ""), None)
        await self._receipt(session, frame)

    async def _on_disconnect(self, session: _Session, frame: Frame) -> None:
        await self._receipt(session, frame)
        await session.connection.close()
