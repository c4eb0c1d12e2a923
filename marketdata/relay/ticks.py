"""Tick bodies: validation and the stored JSON form.

A tick body is the feed's JSON object (`code, dt, session, currency, base,
close, open, high, low, volume, tradeType, changeType, tradingStrength,
cumulativeVolume, cumulativeAmount`, …). `code` and `close` are required;
every other field is optional and unknown fields are kept as they came.
"""

import json
import math
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import NamedTuple

from marketdata.codes import STOCK_CODE_RE
from marketdata.indices import INDEX_KIND

_raw_decode = json.JSONDecoder().raw_decode
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_RECEIVED_AT_FIELD = '"received_at"'


class MalformedTick(ValueError):
    """A body the relay cannot store; counted and logged, never fatal."""


_match_code = STOCK_CODE_RE.match


class Tick(NamedTuple):
    code: str
    body: dict
    # The body's own JSON text when it can be stored verbatim plus received_at
    # (saves re-encoding every tick); None when the body must be re-encoded.
    text: str | None = None

    def stored_json(self, received_at: str) -> str:
        """The value of stock:realtime:{code}: the body plus `received_at` (server time, ISO 8601 UTC)."""
        if self.text is not None:
            # A non-empty JSON object (it has code and close): splice the field before the closing brace.
            return f'{self.text[:-1]},"received_at":"{received_at}"}}'
        return _encode({**self.body, "received_at": received_at})


_new_tick = partial(tuple.__new__, Tick)  # NamedTuple's own __new__ is a Python call per tick


def _valid_close(close: object) -> bool:
    kind = type(close)
    if kind is int:
        return close > 0
    if kind is float:
        return math.isfinite(close) and close > 0
    if kind is str:
        try:
            number = Decimal(close)
        except InvalidOperation:
            return False
        return number.is_finite() and number > 0
    return False


def tick_from_body(body: object, *, text: str | None = None) -> Tick:
    """Validate a decoded body; raises MalformedTick."""
    if type(body) is not dict:
        raise MalformedTick("body is not a JSON object")
    code = body.get("code")
    if type(code) is not str or _match_code(code) is None:
        raise MalformedTick("body lacks a valid code")
    close = body.get("close")
    # The common case (a positive integer price) first: this runs for every tick.
    if not (type(close) is int and close > 0) and not _valid_close(close):
        raise MalformedTick("body lacks a positive close")
    return _new_tick((code, body, text))


def _decode(raw: str | bytes) -> tuple[object, str]:
    if type(raw) is not str:
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedTick("body is not UTF-8") from exc
    text = raw.strip()
    try:
        body, end = _raw_decode(text)
    except (ValueError, RecursionError) as exc:  # a body nested ~1,000 deep exhausts json's recursion
        raise MalformedTick("body is not JSON") from exc
    if end != len(text):
        raise MalformedTick("body is not JSON (data after the object)")
    return body, text


def parse_tick(raw: str | bytes) -> Tick:
    """A JSON text (a STOMP MESSAGE body, a JSONL line) -> Tick; raises MalformedTick."""
    body, text = _decode(raw)
    # A body that already carries received_at (a recorded tick) is re-encoded so ours replaces it.
    return tick_from_body(body, text=None if _RECEIVED_AT_FIELD in text else text)


def parse_index_tick(raw: str | bytes, *, code: str, source: str) -> Tick:
    """The body of an index topic's MESSAGE -> Tick for index `code` (KOSPI | KOSDAQ); raises MalformedTick.

    Parsed like a stock tick (a JSON object with a positive close); the feed's own code is kept as
    `feedCode`, and `kind` and `source` say what it is, as for a computed index value.
    """
    body, _ = _decode(raw)
    if type(body) is not dict:
        raise MalformedTick("index body is not a JSON object")
    if not _valid_close(body.get("close")):
        raise MalformedTick("index body lacks a positive close")
    feed_code = body.get("code")
    body = {**body, "code": code, "kind": INDEX_KIND, "source": source}
    if feed_code is not None and feed_code != code:
        body["feedCode"] = feed_code
    return _new_tick((code, body, None))
