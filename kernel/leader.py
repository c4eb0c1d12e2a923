"""One active process per role (relay, matcher), others waiting as standbys on a Redis lock (docs/deploy.md).

The leader holds `{role}:leader` = its token (SET NX PX) and renews it every second from a
thread of its own; it releases the lock on a clean stop with a compare-and-delete, so a
standby takes over at once. A leader that dies without releasing (SIGKILL, power loss)
holds it until the TTL lapses: only then may a standby act. A leader that cannot renew
(Redis away, the process paused) stops acting before its TTL could lapse, so two
processes never act at the same time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable

import redis

logger = logging.getLogger(__name__)

LOCK_TTL_SECONDS = 3.0
RENEW_SECONDS = 1.0
# Stop acting this long before our lease could have lapsed in Redis: clock drift, a slow renewal reply.
_SAFETY_SECONDS = 0.5

# KEYS[1] lock, ARGV[1] our token, ARGV[2] TTL in ms: renew only a lock that is still ours.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# Delete only a lock that is still ours: a lock that lapsed and was taken by a standby stays its.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class LeaderLock:
    """A Redis lock with a token and a short TTL; `held()` says whether we may still act on it."""

    def __init__(self, client: redis.Redis, key: str, *, ttl_seconds: float = LOCK_TTL_SECONDS) -> None:
        self.client = client
        self.key = key
        self.ttl_seconds = ttl_seconds
        self.token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self._valid_until = 0.0  # monotonic: our lease is certain until then
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl_seconds * 1000)

    def try_acquire(self) -> bool:
        asked_at = time.monotonic()  # the lease counts from before the request: never longer than Redis's
        if self.client.set(self.key, self.token, nx=True, px=self._ttl_ms):
            self._valid_until = asked_at + self.ttl_seconds - _SAFETY_SECONDS
            return True
        return False

    def renew(self) -> bool:
        asked_at = time.monotonic()
        if self._renew(keys=[self.key], args=[self.token, self._ttl_ms]):
            self._valid_until = asked_at + self.ttl_seconds - _SAFETY_SECONDS
            return True
        self._valid_until = 0.0
        return False

    def held(self) -> bool:
        return time.monotonic() < self._valid_until

    def release(self) -> bool:
        self._valid_until = 0.0
        return bool(self._release(keys=[self.key], args=[self.token]))

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


class Leadership:
    """Wait as a standby until the lock is ours, then keep it renewed until `stop` or until it is lost.

    leadership = Leadership(client, "matcher:leader", stop=stop, on_standby=write_standby_health)
    while leadership.wait():          # False once `stop` is set
        run_the_role(leadership.term)  # `term` is set when stop is set or leadership is lost
        leadership.end()               # releases the lock (a no-op if it was lost)
    """

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        *,
        stop: threading.Event,
        ttl_seconds: float = LOCK_TTL_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
        on_standby: Callable[[str | None], None] | None = None,
        name: str = "leader",
    ) -> None:
        self.lock = LeaderLock(client, key, ttl_seconds=ttl_seconds)
        self.stop = stop
        self.renew_seconds = renew_seconds
        self.on_standby = on_standby
        self.name = name
        self.term = threading.Event()
        self.lost = False
        self._renewer: threading.Thread | None = None

    def wait(self) -> bool:
        """Block until we lead (True, with a fresh `term` and the renewer running) or `stop` is set (False)."""
        announced = unreachable = False
        while not self.stop.is_set():
            try:
                if self.lock.try_acquire():
                    break
                holder = self.lock.holder()
                unreachable = False
            except redis.RedisError as exc:
                holder = None
                if not unreachable:  # once per outage
                    logger.warning("%s: cannot reach Redis to take the lock (%s); standing by", self.name, exc)
                unreachable = True
            if not announced:
                logger.info("%s: standing by; %s holds %s", self.name, holder or "nobody", self.lock.key)
                announced = True
            if self.on_standby is not None:
                with contextlib.suppress(redis.RedisError):  # a standby's health record is best effort
                    self.on_standby(holder)
            self.stop.wait(self.renew_seconds / 4)  # SET NX is cheap: take over soon after the lapse
        else:
            return False
        logger.info("%s: leading (%s = %s)", self.name, self.lock.key, self.lock.token)
        self.term = threading.Event()
        self.lost = False
        self._renewer = threading.Thread(target=self._keep, name=f"{self.name}-lease", daemon=True)
        self._renewer.start()
        return True

    def _keep(self) -> None:
        term = self.term
        renew_at = time.monotonic() + self.renew_seconds
        while not term.is_set() and not self.stop.is_set():
            term.wait(min(0.1, self.renew_seconds))
            if term.is_set():
                break
            if not self.lock.held():  # renewals kept failing: the lease may lapse in Redis any moment
                logger.error("%s: could not renew %s in time; stepping down", self.name, self.lock.key)
                self.lost = True
                break
            if time.monotonic() < renew_at:
                continue
            renew_at = time.monotonic() + self.renew_seconds
            try:
                still_ours = self.lock.renew()
            except redis.RedisError as exc:
                logger.warning(
                    "%s: could not renew %s (%s); retrying while the lease lasts", self.name, self.lock.key, exc
                )
                continue
            if not still_ours:
                logger.error("%s: lost %s; stepping down", self.name, self.lock.key)
                self.lost = True
                break
        term.set()

    def held(self) -> bool:
        """True while we may act: the lease is certain and neither stop nor loss ended the term."""
        return not self.term.is_set() and self.lock.held()

    def end(self) -> None:
        """End the term: stop renewing and release the lock (compare-and-delete), so a standby takes over now."""
        self.term.set()
        if self._renewer is not None:
            self._renewer.join(timeout=self.renew_seconds * 2 + 1)
            self._renewer = None
        if self.lost:
            return
        try:
            self.lock.release()
        except redis.RedisError as exc:
            logger.warning("%s: could not release %s (%s); it lapses by itself", self.name, self.lock.key, exc)
