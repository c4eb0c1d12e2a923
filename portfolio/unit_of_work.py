"""The one unit of work that moves an account (docs/architecture.md, "The unit of work").

Every write to an account's money goes through an `AccountUnitOfWork`: deposits, withdrawals,
corrections, resets, order placement, fills, cancels and expiry. It

- takes the locks in the one canonical order — the account, then its holdings by stock id,
  then its orders by id — and only on the rows it names (`kernel.db.locked`: no joins);
- bounds every lock wait: a wait that times out (or loses a deadlock) is `AccountBusy` (503);
- keeps what changes in memory: balances of the locked rows, new rows (orders, executions,
  ledger rows), guarded updates of existing rows, and the account's events;
- writes each row once at the end, new rows in the order they were made (an execution after
  its order, a ledger row after its execution), events in one INSERT, and publishes the events
  only once the transaction has committed.

    with AccountUnitOfWork.of_user(user=user) as work:
        work.lock_holdings([stock.pk])
        ...
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import OperationalError, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from kernel.db import is_lock_wait_failure, locked
from kernel.errors import ApplicationError, ConflictError
from portfolio.errors import AccountNotFound
from portfolio.events import publish_after_commit
from portfolio.models import Account, AccountEvent, Holding

_ACCOUNT_FIELDS = ["cash", "reserved_cash", "last_event_seq"]
_HOLDING_FIELDS = ["quantity", "reserved_quantity", "average_cost", "last_fill_price"]


class AccountBusy(ApplicationError):
    status_code = 503
    code = "account_busy"
    default_message = "Your account is busy with another request; try again in a moment."

    def __init__(self, message: str | None = None):
        super().__init__(message, details={"retry_after_seconds": 1})


class RowChanged(ConflictError):
    """A guarded update found the row no longer as this unit first saw it."""

    code = "state_changed"
    default_message = "The record changed meanwhile; reload and try again."


class LockOrderError(RuntimeError):
    """A programming error: locks must be taken account → holdings by stock id → orders by id."""


class RowId:
    """The primary key of a row this unit will insert, in an event payload recorded before the insert."""

    __slots__ = ("row",)

    def __init__(self, row: models.Model):
        self.row = row


def row_id(row: models.Model) -> int | RowId:
    return row.pk if row.pk is not None else RowId(row)


def _resolved(value: Any) -> Any:
    if isinstance(value, RowId):
        return value.row.pk
    if isinstance(value, dict):
        return {key: _resolved(item) for key, item in value.items()}
    return value


class AccountUnitOfWork:
    """One account's locks, pending balances, new rows and events, written once by `commit`."""

    def __init__(self, account: Account):
        self.account = account
        self.holdings: dict[int, Holding] = {}  # by stock id, all locked (or new) in this unit
        self.locks: list[tuple[str, int]] = [("account", account.pk)]  # in the order taken
        self.events: list[AccountEvent] = []
        self._inserts: list[models.Model] = []
        self._updates: dict[int, tuple[models.Model, set[str], Q | None]] = {}
        self._orders_locked = False
        self._holdings_covered: set[int] = set()  # stock ids whose holding is locked, or absent under the account lock
        self._as_read: dict[int, tuple] = {}  # balances of the locked rows as read: only changed ones are written
        self._remember(account, _ACCOUNT_FIELDS)

    # --- opening: the account lock ------------------------------------------------------------

    @classmethod
    @contextmanager
    def of_user(cls, *, user) -> Iterator[AccountUnitOfWork]:
        """The user's open account, locked; the outermost transaction. Raises AccountNotFound, AccountBusy."""
        with _bounded_wait(), transaction.atomic(durable=True):
            account = locked(Account.objects.filter(user=user, is_open=True)).first()
            if account is None:
                raise AccountNotFound()
            work = cls(account)
            yield work
            work.commit()

    @classmethod
    @contextmanager
    def of_account(cls, *, account_id: int) -> Iterator[AccountUnitOfWork]:
        """An account by id (open or not), locked; the outermost transaction."""
        with _bounded_wait(), transaction.atomic(durable=True):
            account = locked(Account.objects.filter(pk=account_id)).first()
            if account is None:
                raise AccountNotFound()
            work = cls(account)
            yield work
            work.commit()

    @classmethod
    def of_new_account(cls, account: Account) -> AccountUnitOfWork:
        """A unit for an account created in the caller's transaction: no one else can see it yet, so no lock."""
        return cls(account)

    # --- holdings, then orders ----------------------------------------------------------------

    def lock_holdings(self, stock_ids: Iterable[int]) -> None:
        """Lock the account's holdings of these stocks, in stock id order, before any order.

        A stock without a holding gets one on first use (`holding`), inserted at commit: the account
        lock already keeps any other writer from making the same one.
        """
        wanted = sorted(set(stock_ids) - self._holdings_covered)
        if not wanted:
            return
        if self._orders_locked or (self._holdings_covered and wanted[0] < max(self._holdings_covered)):
            raise LockOrderError(f"holdings {wanted} locked out of order after {sorted(self._holdings_covered)}")
        with _bounded_wait():
            found = {
                h.stock_id: h
                for h in locked(
                    Holding.objects.filter(account_id=self.account.pk, stock_id__in=wanted).order_by("stock_id")
                )
            }
        for stock_id in wanted:
            self._holdings_covered.add(stock_id)
            self.locks.append(("holding", stock_id))
            if stock_id in found:
                self.holdings[stock_id] = found[stock_id]
                self._remember(found[stock_id], _HOLDING_FIELDS)

    def lock_all_holdings(self) -> None:
        """Every existing holding of the account, in stock id order (closing or expiring many orders)."""
        stock_ids = Holding.objects.filter(account_id=self.account.pk).values_list("stock_id", flat=True)
        self.lock_holdings(list(stock_ids))

    def holding(self, stock_id: int) -> Holding:
        """The locked holding of a stock (made, empty, if the account has none yet)."""
        if stock_id not in self._holdings_covered:
            raise LockOrderError(f"holding of stock {stock_id} used without its lock")
        if stock_id not in self.holdings:
            self.holdings[stock_id] = holding = Holding(account=self.account, stock_id=stock_id)
            self._inserts.append(holding)
        return self.holdings[stock_id]

    def lock_orders(self, orders: QuerySet) -> list:
        """Lock these orders of the account, by id, after its holdings. No join: attach related rows yourself."""
        with _bounded_wait():
            rows = list(locked(orders.filter(account_id=self.account.pk).order_by("id")))
        if self._orders_locked and rows and self.locks[-1][0] == "order" and rows[0].pk < self.locks[-1][1]:
            raise LockOrderError("orders locked out of id order")
        self._orders_locked = True
        self.locks.extend(("order", row.pk) for row in rows)
        return rows

    # --- pending changes ----------------------------------------------------------------------

    def insert(self, row: models.Model) -> None:
        """A new row, inserted at commit after the rows queued before it (so its foreign keys resolve)."""
        self._inserts.append(row)

    def update(self, row: models.Model, fields: Iterable[str], *, guard: Q | None = None) -> None:
        """Write these fields of an existing row at commit. `guard` is what the row must still match
        (compare-and-set, checked at commit: RowChanged otherwise); the first guard given for a row holds."""
        if row.pk is None:
            return  # a row this unit inserts goes in with its final state
        if id(row) in self._updates:
            _, pending, first_guard = self._updates[id(row)]
            self._updates[id(row)] = (row, pending | set(fields), first_guard or guard)
        else:
            self._updates[id(row)] = (row, set(fields), guard)

    def record_event(self, event_type: str, payload: dict) -> AccountEvent:
        """The account's next event (seq = last + 1, safe under the account lock), stored and published at commit."""
        self.account.last_event_seq += 1
        event = AccountEvent(
            account=self.account, seq=self.account.last_event_seq, event_type=event_type, payload=payload
        )
        self.events.append(event)
        return event

    # --- writing -------------------------------------------------------------------------------

    def commit(self) -> None:
        """Write every pending row once; publish the events after the transaction commits."""
        self._insert_new_rows()
        for row, fields, guard in self._updates.values():
            _write(row, fields, guard)
        self._updates.clear()
        for holding in self.holdings.values():
            self._save_if_changed(holding, _HOLDING_FIELDS + ["updated_at"])
        self._save_if_changed(self.account, _ACCOUNT_FIELDS)
        if self.events:
            for event in self.events:
                event.payload = _resolved(event.payload)
            AccountEvent.objects.bulk_create(self.events)
            publish_after_commit(self.account.user_id, self.events)
            self.events = []

    def _remember(self, row: models.Model, fields: list[str]) -> None:
        self._as_read[id(row)] = tuple(getattr(row, name) for name in fields)

    def _save_if_changed(self, row: models.Model, fields: list[str]) -> None:
        compared = [name for name in fields if name != "updated_at"]
        if id(row) in self._as_read and self._as_read[id(row)] != tuple(getattr(row, name) for name in compared):
            row.save(update_fields=fields)
            self._remember(row, compared)

    def _insert_new_rows(self) -> None:
        batch: list[models.Model] = []
        for row in self._inserts:
            if batch and type(batch[0]) is not type(row):
                type(batch[0]).objects.bulk_create(batch)
                batch = []
            batch.append(row)
        if batch:
            type(batch[0]).objects.bulk_create(batch)
        for row in self._inserts:
            row._state.adding = False
            if isinstance(row, Holding):  # from now on an existing row like the others
                self._remember(row, _HOLDING_FIELDS)
        self._inserts.clear()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Work that may fail half-way and be undone alone: what is pending is written first, and if the
        block raises, its rows roll back to the savepoint and the unit rereads the account and holdings."""
        self.commit_pending_rows()
        try:
            with transaction.atomic():
                yield
                self.commit_pending_rows()
        except BaseException:
            self._inserts.clear()
            self._updates.clear()
            self.events = []
            self.account.refresh_from_db(fields=_ACCOUNT_FIELDS)
            self._remember(self.account, _ACCOUNT_FIELDS)
            for stock_id, holding in list(self.holdings.items()):
                if holding.pk is None:  # made inside the savepoint: gone with it
                    del self.holdings[stock_id]
                    continue
                holding.refresh_from_db(fields=_HOLDING_FIELDS)
                self._remember(holding, _HOLDING_FIELDS)
            raise

    def commit_pending_rows(self) -> None:
        """Write what is pending now (before a savepoint); the unit goes on afterwards."""
        self.commit()


@contextmanager
def _bounded_wait() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if is_lock_wait_failure(exc):
            raise AccountBusy() from exc
        raise


def _write(row: models.Model, fields: set[str], guard: Q | None) -> None:
    values = {name: getattr(row, name) for name in fields}
    if "updated_at" in {f.name for f in row._meta.concrete_fields}:
        values["updated_at"] = row.updated_at = timezone.now()  # type: ignore[attr-defined]
    rows = type(row)._default_manager.filter(pk=row.pk)
    if guard is not None:
        rows = rows.filter(guard)
    if rows.update(**values) != 1:
        raise RowChanged(f"{row._meta.verbose_name} {row.pk} changed meanwhile.")
