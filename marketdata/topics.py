"""Feed topic names: the one place that knows what a valid trade topic looks like.

Topics are stored and exchanged in their plain form
(`/topic/v1/kr/stock/trade/A005930`), as the original service did; only the
STOMP destination sent to the broker may be encoded (`TOSS_DESTINATION_ENCODING`).
"""

import re
from collections.abc import Iterable
from enum import StrEnum

# "A" + six digits or capitals (new listings since 2024 mix letters: A0126Z0).
STOCK_CODE_PATTERN = r"A[0-9A-Z]{6}"
STOCK_CODE_RE = re.compile(rf"{STOCK_CODE_PATTERN}\Z")

TOPIC_PREFIX = "/topic/"
TRADE_TOPIC_PREFIX = "/topic/v1/kr/stock/trade/"
TRADE_TOPIC_RE = re.compile(rf"/topic/v1/kr/stock/trade/(?P<code>{STOCK_CODE_PATTERN})\Z")


class DestinationEncoding(StrEnum):
    PLAIN = "plain"
    # RabbitMQ allows one segment after /topic/, so the feed's slashes travel as %2F.
    PERCENT_SLASHES = "percent-slashes"


def is_stock_code(value: object) -> bool:
    return isinstance(value, str) and STOCK_CODE_RE.match(value) is not None


def normalize_stock_codes(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """The codes trimmed, upper-cased and de-duplicated in order, and those of them that are not stock codes."""
    codes = list(dict.fromkeys(value.strip().upper() for value in values))
    return codes, [code for code in codes if not is_stock_code(code)]


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
