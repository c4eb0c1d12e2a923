"""Dynamic subscriptions over Redis, as the original service took them (docs/architecture.md §7).

Request, published on `toss_ws_relayer:commands`:
    {"type": "subscribe" | "unsubscribe", "topic": "/topic/v1/kr/stock/trade/A000660", "command_id": "<uuid>"}
Answer, written to `toss_ws_relayer:command_result:{command_id}` (TTL 300 s):
    {"success": bool, "message": str, "command_id": ..., "topic": ...}
"""

import json
from dataclasses import dataclass

from marketdata.relay.base import Action
from marketdata.topics import is_trade_topic

_MAX_COMMAND_ID_LENGTH = 200
ACTIONS: tuple[Action, ...] = ("subscribe", "unsubscribe")


@dataclass(frozen=True)
class Command:
    type: Action
    topic: str
    command_id: str


class CommandRejected(Exception):
    """A command the relay will not carry out; answered when it has a command_id."""

    def __init__(self, message: str, *, command_id: str | None = None, topic: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.command_id = command_id
        self.topic = topic if isinstance(topic, str) else None


def parse_command(payload: str | bytes) -> Command:
    try:
        data = json.loads(payload)
    except ValueError:
        raise CommandRejected("command is not valid JSON") from None
    if not isinstance(data, dict):
        raise CommandRejected("command is not a JSON object")
    command_id = data.get("command_id")
    if isinstance(command_id, int) and not isinstance(command_id, bool):
        command_id = str(command_id)
    if not isinstance(command_id, str) or not command_id or len(command_id) > _MAX_COMMAND_ID_LENGTH:
        raise CommandRejected("command has no usable command_id")
    topic = data.get("topic")
    kind = data.get("type")
    if kind not in ACTIONS:
        raise CommandRejected(
            f"unknown command type {kind!r}: expected subscribe or unsubscribe", command_id=command_id, topic=topic
        )
    if not is_trade_topic(topic):
        raise CommandRejected(
            f"invalid topic {topic!r}: expected /topic/v1/kr/stock/trade/ followed by A and six digits or capitals",
            command_id=command_id,
            topic=topic,
        )
    return Command(type=kind, topic=topic, command_id=command_id)


def command_result(*, success: bool, message: str, command_id: str, topic: str | None) -> dict:
    return {"success": success, "message": message, "command_id": command_id, "topic": topic}
