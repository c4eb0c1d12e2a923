"""A per-user request limit that costs one Redis round trip, whatever the rate.

DRF's throttles keep every request's timestamp in one cached list that each request
reads, trims, pickles and writes back: two cache round trips and work that grows with
the allowed rate. On the hottest write (order placement) that cost ~0.6 ms a request
(bench/run.py). This one counts requests in fixed windows of the rate's duration
with INCR. A client can get up to twice the rate across a window boundary; for a
load limiter, not a security control (docs/architecture.md §11), that is an acceptable trade.
"""

from rest_framework.throttling import UserRateThrottle

from kernel.redis import get_redis


class WindowedUserRateThrottle(UserRateThrottle):
    """UserRateThrottle's rates and 429 + Retry-After, counted per fixed window in Redis itself
    (keys `throttle_<scope>_<user id>:<window>`, outside the cache's key prefix)."""

    _retry_after: float | None = None

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        counter = f"{self.key}:{window}"
        pipe = get_redis().pipeline(transaction=False)
        pipe.incr(counter)
        pipe.expire(counter, self.duration * 2)  # the key names its window: outliving it by one is harmless
        count, _ = pipe.execute()
        if count <= self.num_requests:
            return True
        self._retry_after = (window + 1) * self.duration - now
        return False

    def wait(self) -> float | None:
        return self._retry_after
