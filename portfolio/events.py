"""Account events: stored with the change, numbered per account, published after commit (DESIGN.md §8)."""

import json
import logging
from functools import cache

import redis
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from kernel.redis import get_redis
from portfolio.models import AccountEvent

logger = logging.getLogger(__name__)


@cache
def _events_prefix(redis_url: str) -> str:
    # Pub/sub ignores the database number; the name carries it, so deployments (and tests)
    # sharing a Redis server never hear each other's users.
    return f"account:events:{redis.connection.parse_url(redis_url).get('db', 0)}:"


def account_events_prefix() -> str:
    """Pub/sub channel `<prefix><user_id>`: one JSON list of event messages per committed
    transaction; ws processes subscribe to `<prefix>*` (portfolio.live)."""
    return _events_prefix(settings.REDIS_URL)


def event_message(event: AccountEvent) -> dict:
    """The one shape of an account event on the wire."""
    return {
        "type": "event",
        "account_id": event.account_id,
        "seq": event.seq,
        "event": event.event_type,
        "data": event.payload,
        "created_at": event.created_at.isoformat(),
    }


def account_event_record(*, account, event_type: str, payload: dict) -> AccountEvent:
    """Number the next event of a (locked) account, inside `account_writes_batched`.

    The caller holds the account row lock, so last_event_seq + 1 cannot race. The event
    row and the account's new last_event_seq are written when the batch is, with the
    other events and the balances, and published once the transaction commits.
    """
    held = account._events_held
    if held is None:
        raise RuntimeError("account events are recorded inside account_writes_batched")
    account.last_event_seq += 1
    event = AccountEvent(account=account, seq=account.last_event_seq, event_type=event_type, payload=payload)
    held.append(event)
    return event


def account_events_hold(account) -> None:
    """From now on the account's events wait in memory for `account_events_write`."""
    account._events_held = []


def account_events_write(account, *, release: bool = False) -> None:
    """Insert the held events in one statement; `release` stops holding."""
    held = account._events_held
    if held:
        events = AccountEvent.objects.bulk_create(held)
        held.clear()
        user_id = account.user_id  # one push for the lot, after commit
        transaction.on_commit(lambda: _publish(user_id, [event_message(event) for event in events]))
    if release:
        account._events_held = None


def account_events_forget(account, *, release: bool = False) -> None:
    """After a rollback: drop the held events (they are gone from the database); `release` stops holding."""
    if account._events_held:
        account._events_held.clear()
    if release:
        account._events_held = None


def _publish(user_id: int, messages: list[dict]) -> None:
    """The events of one committed transaction, as one message to the user's sockets."""
    try:
        get_redis().publish(account_events_prefix() + str(user_id), json.dumps(messages, cls=DjangoJSONEncoder))
    except redis.RedisError as exc:  # the events are stored: sockets catch up, clients resume
        logger.warning("account events of user %s not published: %s", user_id, exc)
