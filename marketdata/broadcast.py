"""What /ws/prices/ sends, and the one place that sends ticks to the groups `prices.{code}` (docs/architecture.md §8).

Server → client messages:
    {"type": "tick", "code", "price", "change", "change_pct", "volume", "trade_volume",
     "open", "high", "low", "prev_close", "dt"}
    {"type": "tick", "code": "KOSPI" | "KOSDAQ", "kind": "index", "price", "change", "change_pct",
     "open", "high", "low", "prev_close", "dt", "source"}   an index value (points, two decimals)
    {"type": "ticks", "ticks": [<tick>, ...]}   instead, on a socket that subscribed with
                                                "batch": true: what is pending goes out in one frame
    {"type": "subscribed", "codes": [...]}   {"type": "unsubscribed", "codes": [...]}
    {"type": "error", "code", "message"}     (kernel.consumers.JsonConsumer.send_error)

`volume` is the day's cumulative volume (as in the REST quotes), `trade_volume` the size of
the trade itself; `open`/`high`/`low` are the day's; `dt` is the exchange time as the feed
sent it. A tick is encoded once and the same text goes to every socket that wants it.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import TYPE_CHECKING

from channels.layers import get_channel_layer

from marketdata.indices import INDEX_KIND, is_index_code
from marketdata.prices import parse_decimal, ticks_from_message
from marketdata.topics import is_stock_code

if TYPE_CHECKING:
    from marketdata.fanout import PriceHub

TICK = "tick"
TICKS = "ticks"
GROUP_PREFIX = "prices."
# The channel-layer event a consumer receives for a tick (handler PriceConsumer.price_tick).
LAYER_EVENT = "price.tick"

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_HUNDREDTH = Decimal("0.01")


def group_name(code: str) -> str:
    return GROUP_PREFIX + code


def _number(value) -> int | float | None:
    """A feed number as JSON wants it: whole won as int; None for anything unusable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number = parse_decimal(value)
    if number is None:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def tick_message(body: dict) -> dict | None:
    """A tick body (the feed's JSON object, as stored or published by the relay) -> the tick message.

    None when the body lacks a valid code or a positive price.
    """
    if body.get("kind") == INDEX_KIND:
        return index_message(body)
    code = body.get("code")
    price = _number(body.get("close"))
    if not is_stock_code(code) or price is None or price <= 0:
        return None
    base = _number(body.get("base"))
    change = change_pct = None
    if base:
        change = price - base
        change_pct = float((Decimal(change) / Decimal(base) * 100).quantize(_HUNDREDTH))
    cumulative = _count(body.get("cumulativeVolume"))
    trade_volume = _count(body.get("volume"))
    dt = body.get("dt")
    return {
        "type": TICK,
        "code": code,
        "price": price,
        "change": change,
        "change_pct": change_pct,
        "volume": cumulative if cumulative is not None else trade_volume,
        "trade_volume": trade_volume,
        "open": _number(body.get("open")),
        "high": _number(body.get("high")),
        "low": _number(body.get("low")),
        "prev_close": base,
        "dt": dt if isinstance(dt, str) else None,
    }


def _points(value) -> Decimal | None:
    number = parse_decimal(value)
    return None if number is None else number.quantize(_HUNDREDTH)


def index_message(body: dict) -> dict | None:
    """An index value (`index:realtime:{code}`, or a "kind": "index" entry of `stock:ticks`) -> its tick message.

    None unless the code is KOSPI or KOSDAQ and the value positive. Points keep two decimals;
    the change is computed in Decimal, so 2650.12 - 2640.50 is 9.62, not 9.619999….
    """
    code = body.get("code")
    level = _points(body.get("close"))
    if not is_index_code(code) or level is None or level <= 0:
        return None
    base = _points(body.get("base"))
    change = change_pct = None
    if base:
        change = float(level - base)
        change_pct = float(((level - base) / base * 100).quantize(_HUNDREDTH))
    dt, source = body.get("dt"), body.get("source")
    open_, high, low = (_points(body.get(name)) for name in ("open", "high", "low"))
    return {
        "type": TICK,
        "code": code,
        "kind": INDEX_KIND,
        "price": float(level),
        "change": change,
        "change_pct": change_pct,
        "open": None if open_ is None else float(open_),
        "high": None if high is None else float(high),
        "low": None if low is None else float(low),
        "prev_close": None if base is None else float(base),
        "dt": dt if isinstance(dt, str) else None,
        "source": source if isinstance(source, str) else None,
    }


def encode(message: dict) -> str:
    return _encode(message)


def tick_texts(payload: str | bytes) -> dict[str, str]:
    """A `stock:ticks` message (one tick object, or a list of them per relay batch) -> code → encoded tick.

    Only the newest tick per code in the message survives (they arrive in feed order):
    conflation starts at the source. Malformed ticks are skipped.
    """
    bodies, _ = ticks_from_message(payload, indices=True)
    latest: dict[str, str] = {}
    for body in bodies:
        message = tick_message(body)
        if message is not None:
            latest.pop(message["code"], None)  # re-insert: keep feed order of the newest ticks
            latest[message["code"]] = _encode(message)
    return latest


def ticks_frame(texts) -> str:
    """Encoded tick messages as one batch message, without decoding them again."""
    return '{"type":"%s","ticks":[%s]}' % (TICKS, ",".join(texts))  # noqa: UP031


def snapshot_text(code: str, stored: str | None) -> str | None:
    """The value of `stock:realtime:{code}` as a tick message, for a socket that just subscribed."""
    if stored is None:
        return None
    try:
        body = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("code", code) != code:
        return None
    message = tick_message({**body, "code": code})
    return None if message is None else _encode(message)


async def send_ticks(hub: PriceHub, texts: dict[str, str]) -> None:
    """Send encoded ticks to the groups prices.{code} of this process's hub (settings.PRICES_FANOUT)."""
    if not texts:
        return
    if hub.mode == "channel_layer":
        layer = get_channel_layer()
        await asyncio.gather(
            *(
                layer.group_send(group_name(code), {"type": LAYER_EVENT, "code": code, "text": text})
                for code, text in texts.items()
            )
        )
    else:
        hub.deliver(texts)
