"""Market indices (docs/architecture.md §7): the one home of their codes, names, feed codes and Redis key.

The live value of an index is stored like a stock tick: `index:realtime:{code}` holds JSON with
`close`, `base` (previous close), `dt` and `received_at`, TTL 3600 s.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.redis import get_redis
from marketdata.prices import INDEX_KIND, Quote, parse_quote

INDEX_REALTIME_KEY = "index:realtime:{code}"
INDEX_REALTIME_TTL_SECONDS = 3600


@dataclass(frozen=True)
class IndexDefinition:
    code: str
    name: str
    name_en: str
    feed_code: str  # Toss's own index code: topic /topic/v1/kr/stock/index/<feed_code> (unofficial; editable)


INDEX_DEFINITIONS = {
    "KOSPI": IndexDefinition(code="KOSPI", name="코스피", name_en="KOSPI", feed_code="KGG01P"),
    "KOSDAQ": IndexDefinition(code="KOSDAQ", name="코스닥", name_en="KOSDAQ", feed_code="QGG01P"),
}


def is_index_code(value: object) -> bool:
    return isinstance(value, str) and value in INDEX_DEFINITIONS


def latest_index_values(codes) -> dict[str, Quote]:
    """The stored live values of these indices in one round trip (MGET); codes without a usable value are absent."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    payloads = get_redis().mget([INDEX_REALTIME_KEY.format(code=code) for code in codes])
    quotes = (parse_quote(code, payload) for code, payload in zip(codes, payloads, strict=True))
    return {quote.code: quote for quote in quotes if quote is not None}


# The feed's index topics (Toss, unofficial): /topic/v1/kr/stock/index/<feed_code>, e.g. KGG01P for KOSPI.
INDEX_TOPIC_PREFIX = "/topic/v1/kr/stock/index/"
__all__ = ["INDEX_KIND", "INDEX_REALTIME_KEY", "INDEX_TOPIC_PREFIX", "index_topic", "is_index_code"]


def index_topic(feed_code: str) -> str:
    if not feed_code or any(c in feed_code for c in "/\r\n\0 "):
        raise ValueError(f"not a feed index code: {feed_code!r}")
    return INDEX_TOPIC_PREFIX + feed_code
