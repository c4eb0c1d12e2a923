"""Dynamic relay subscriptions, asked for by staff (API and admin page) as the original service did.

A command is PUBLISHed on `toss_ws_relayer:commands`; the relay answers it by writing
`toss_ws_relayer:command_result:{command_id}`. We poll that key every
RELAY_COMMAND_POLL_SECONDS (0.5 s) for at most RELAY_COMMAND_TIMEOUT_SECONDS (30 s).
Callers are sync views: the poll blocks one worker thread for at most the timeout.
"""

import json
import time
import uuid
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kernel.errors import ApplicationError
from kernel.redis import get_redis
from marketdata.relay.keys import COMMAND_RESULT_KEY, COMMANDS_CHANNEL
from marketdata.topics import TRADE_TOPIC_PREFIX, is_trade_topic

CommandType = Literal["subscribe", "unsubscribe"]


class InvalidTopic(ApplicationError):
    code = "invalid_topic"
    default_message = format_lazy(
        _("A topic is {prefix} followed by a stock code, e.g. {prefix}A005930."), prefix=TRADE_TOPIC_PREFIX
    )


class RelayNotListening(ApplicationError):
    status_code = 503
    code = "relay_unavailable"
    default_message = _("No relay is listening for commands; start `manage.py run_relay`.")


class RelayCommandTimeout(ApplicationError):
    status_code = 504
    code = "relay_timeout"
    default_message = _("The relay did not answer the command in time.")


@dataclass(frozen=True)
class CommandResult:
    command_id: str
    success: bool
    message: str


def relay_command_send(*, type: CommandType, topic: str) -> CommandResult:
    """Publish a subscribe/unsubscribe command and wait for the relay's answer.

    Raises InvalidTopic (400, nothing published), RelayNotListening (503: nobody is
    subscribed to the command channel, so the command is lost at once) or
    RelayCommandTimeout (504: no answer within RELAY_COMMAND_TIMEOUT_SECONDS).
    """
    if type not in ("subscribe", "unsubscribe"):
        raise ValueError(f"unknown command type {type!r}")
    if not is_trade_topic(topic):
        raise InvalidTopic(details={"topic": topic[:80]})  # echo enough to recognise it, not a flood
    client = get_redis()
    command_id = str(uuid.uuid4())
    command = {"type": type, "topic": topic, "command_id": command_id}
    if client.publish(COMMANDS_CHANNEL, json.dumps(command)) == 0:
        raise RelayNotListening(details={"command_id": command_id})
    timeout, interval = settings.RELAY_COMMAND_TIMEOUT_SECONDS, settings.RELAY_COMMAND_POLL_SECONDS
    key = COMMAND_RESULT_KEY.format(command_id=command_id)
    deadline = time.monotonic() + timeout
    while True:
        result = _parse_result(client.get(key))
        if result is not None:
            return CommandResult(command_id=command_id, success=result[0], message=result[1])
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RelayCommandTimeout(
                gettext("The relay did not answer within %(seconds)s s.") % {"seconds": f"{timeout:g}"},
                details={"command_id": command_id, "topic": topic},
            )
        time.sleep(min(interval, remaining))


def _parse_result(payload: str | None) -> tuple[bool, str] | None:
    if payload is None:
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return False, "The relay wrote an unreadable answer."
    if not isinstance(data, dict):
        return False, "The relay wrote an unreadable answer."
    return data.get("success") is True, str(data.get("message", ""))
