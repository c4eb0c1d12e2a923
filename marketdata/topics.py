"""Feed topic names: the one place that knows what a valid trade topic looks like.

Topics are stored and exchanged in their plain form
(`/topic/v1/kr/stock/trade/A005930`), as the original service did; only the
STOMP destination sent to the broker may be encoded (`TOSS_DESTINATION_ENCODING`).
"""

import re
from enum import StrEnum

from marketdata.codes import STOCK_CODE_PATTERN, is_stock_code

TOPIC_PREFIX = "/topic/"
TRADE_TOPIC_PREFIX = "/topic/v1/kr/stock/trade/"
TRADE_TOPIC_RE = re.compile(rf"/topic/v1/kr/stock/trade/(?P<code>{STOCK_CODE_PATTERN})\Z")


class DestinationEncoding(StrEnum):
    PLAIN = "plain"
    # RabbitMQ allows one segment after /topic/, so the feed's slashes travel as %2F.
    PERCENT_SLASHES = "percent-slashes"


def trade_topic(code: str) -> str:
    if not is_stock_code(code):
        raise ValueError(f"not a stock code: {code!r}")
    return TRADE_TOPIC_PREFIX + code


def code_from_topic(topic: object) -> str | None:
    """The stock code of a valid trade topic, else None."""
    if not isinstance(topic, str):
        return None
    match = TRADE_TOPIC_RE.match(topic)
    return match["code"] if match else None


def is_trade_topic(topic: object) -> bool:
    return code_from_topic(topic) is not None


def encode_destination(topic: str, encoding: DestinationEncoding | str = DestinationEncoding.PLAIN) -> str:
    """The STOMP destination to SUBSCRIBE to for a plain topic name."""
    encoding = DestinationEncoding(encoding)
    if encoding is DestinationEncoding.PLAIN or not topic.startswith(TOPIC_PREFIX):
        return topic
    return TOPIC_PREFIX + topic.removeprefix(TOPIC_PREFIX).replace("/", "%2F")


def decode_destination(destination: str) -> str:
    """The plain topic name for a destination in either encoding."""
    if destination.startswith(TOPIC_PREFIX):
        return TOPIC_PREFIX + destination.removeprefix(TOPIC_PREFIX).replace("%2F", "/").replace("%2f", "/")
    return destination
