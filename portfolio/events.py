"""Account events: stored with the change, numbered per account, published after commit (docs/architecture.md §8)."""

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


def publish_after_commit(user_id: int, events: list[AccountEvent]) -> None:
    """Once the transaction commits, the events as one message to the user's sockets (nothing if it rolls back)."""
    transaction.on_commit(lambda: _publish(user_id, [event_message(event) for event in events]))


def _publish(user_id: int, messages: list[dict]) -> None:
    """The events of one committed transaction, as one message to the user's sockets."""
    try:
        get_redis().publish(account_events_prefix() + str(user_id), json.dumps(messages, cls=DjangoJSONEncoder))
    except redis.RedisError as exc:  # the events are stored: sockets catch up, clients resume
        logger.warning("account events of user %s not published: %s", user_id, exc)
