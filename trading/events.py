"""Account events: stored with the change, numbered per account, pushed after commit (DESIGN.md §8)."""

from django.db import transaction
from django.db.models import Max

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

    The caller holds the account row lock, so max(seq) + 1 cannot race; the locked
    instance remembers the last seq, so later events of the same transaction skip the query.
    Inside `account_events_hold` the row is inserted (and pushed) later with the others, by `account_events_write`.
    """
    last = account._last_event_seq
    if last is None:
        last = AccountEvent.objects.filter(account=account).aggregate(last=Max("seq"))["last"] or 0
    event = AccountEvent(account=account, seq=last + 1, event_type=event_type, payload=payload)
    account._last_event_seq = event.seq
    held = account._events_held
    if held is not None:
        held.append(event)
        return event
    event.save()
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
    """After a rollback: drop the held events and the remembered seq (both may be gone from the database)."""
    account._last_event_seq = None
    if account._events_held:
        account._events_held.clear()


def _push(user_id: int, messages: list[dict]) -> None:
    """Events of one transaction travel as one channel-layer message; the consumer sends each on."""
    group_send_soon(account_group(user_id), {"type": "account.events", "messages": messages})
