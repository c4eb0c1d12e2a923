"""Account events: stored with the change, numbered per account, pushed after commit (DESIGN.md §8)."""

from django.db import transaction

from stocking.push import group_send_soon
from trading.models import AccountEvent


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

    The caller holds the account row lock, so last_event_seq + 1 cannot race. Inside
    `account_events_hold` the event row and the account's new last_event_seq are written
    later, with the others and the balances (`account_writes_batched`).
    """
    account.last_event_seq += 1
    event = AccountEvent(account=account, seq=account.last_event_seq, event_type=event_type, payload=payload)
    held = account._events_held
    if held is not None:
        held.append(event)
        return event
    event.save()
    account.save(update_fields=["last_event_seq"])
    user_id = account.user_id
    transaction.on_commit(lambda: _push(user_id, [event_message(event)]))
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
        transaction.on_commit(lambda: _push(user_id, [event_message(event) for event in events]))
    if release:
        account._events_held = None


def account_events_forget(account) -> None:
    """After a rollback: drop the held events (they are gone from the database)."""
    if account._events_held:
        account._events_held.clear()


def _push(user_id: int, messages: list[dict]) -> None:
    """Events of one transaction travel as one channel-layer message; the consumer sends each on."""
    group_send_soon(account_group(user_id), {"type": "account.events", "messages": messages})
