"""Account events: stored with the change, numbered per account, pushed after commit (DESIGN.md §8)."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Max

from trading.models import AccountEvent

logger = logging.getLogger(__name__)


def account_group(user_id: int) -> str:
    return f"account.{user_id}"


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
    """Write the next event of a (locked) account and push it once the transaction commits.

    The caller holds the account row lock, so max(seq) + 1 cannot race.
    """
    last = AccountEvent.objects.filter(account=account).aggregate(last=Max("seq"))["last"] or 0
    event = AccountEvent.objects.create(account=account, seq=last + 1, event_type=event_type, payload=payload)
    user_id = account.user_id
    transaction.on_commit(lambda: _push(user_id, event_message(event)))
    return event


def _push(user_id: int, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(account_group(user_id), {"type": "account.event", "message": message})
    except Exception:  # a lost push is recovered by the client's resume; never fail the committed change
        logger.exception("account event push failed (user %s, seq %s)", user_id, message["seq"])
