"""Fire-and-forget sends to the channel layer from sync code (gunicorn workers, the matcher).

async_to_sync(group_send) per call builds an event loop and a Redis connection
each time (measured ~8 ms per deposit). Instead each process keeps one loop in
a daemon thread, so the layer's connection pool lives as long as the process
and a commit hook only queues the send. One worker task drains the queue, so
sends leave in the order they were queued (an account's events stay in seq order).
"""

import asyncio
import contextlib
import logging
import os
import threading

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_queue: asyncio.Queue | None = None
_pid: int | None = None


async def _drain(queue: asyncio.Queue) -> None:
    while True:
        group, message = await queue.get()
        try:
            await get_channel_layer().group_send(group, message)
        except Exception:  # a lost push is recovered by the client's resume; it must not stop the queue
            logger.exception("push to %s failed", group)
        finally:
            queue.task_done()


def _start() -> tuple[asyncio.AbstractEventLoop, asyncio.Queue]:
    global _loop, _queue, _pid
    with _lock:
        if _loop is None or _pid != os.getpid():  # a forked worker needs its own thread
            loop = asyncio.new_event_loop()
            queue: asyncio.Queue = asyncio.Queue()
            loop.create_task(_drain(queue))
            threading.Thread(target=loop.run_forever, name="channel-push", daemon=True).start()
            _loop, _queue, _pid = loop, queue, os.getpid()
        return _loop, _queue


def group_send_soon(group: str, message: dict) -> None:
    """Queue a group_send and return at once."""
    if get_channel_layer() is None:
        return
    loop, queue = _start()
    loop.call_soon_threadsafe(queue.put_nowait, (group, message))


def wait_for_pushes(timeout: float = 5.0) -> None:
    """Block until queued sends are done (tests, and clean process exits)."""
    if _loop is None or _queue is None or _pid != os.getpid():
        return
    # Scheduled behind every put already handed to the loop, so it waits for those too.
    done = asyncio.run_coroutine_threadsafe(asyncio.wait_for(_queue.join(), timeout), _loop)
    with contextlib.suppress(TimeoutError):
        done.result(timeout + 1)
