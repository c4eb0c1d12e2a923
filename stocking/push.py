"""Fire-and-forget sends to the channel layer from sync code (gunicorn workers, the matcher).

async_to_sync(group_send) per call builds an event loop and a Redis connection
each time (measured ~8 ms per deposit). Instead each process keeps one loop in
a daemon thread, so the layer's connection pool lives as long as the process
and a commit hook only queues the send.
"""

import asyncio
import logging
import os
import threading

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid: int | None = None


def _push_loop() -> asyncio.AbstractEventLoop:
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid():  # a forked worker needs its own thread
            _loop = asyncio.new_event_loop()
            _pid = os.getpid()
            threading.Thread(target=_loop.run_forever, name="channel-push", daemon=True).start()
        return _loop


async def _send(group: str, message: dict) -> None:
    try:
        await get_channel_layer().group_send(group, message)
    except Exception:  # a lost push is recovered by the client's resume; it must not kill the loop
        logger.exception("push to %s failed", group)


def group_send_soon(group: str, message: dict) -> None:
    """Queue a group_send; returns at once. Sends from one process keep their order."""
    if get_channel_layer() is None:
        return
    asyncio.run_coroutine_threadsafe(_send(group, message), _push_loop())
