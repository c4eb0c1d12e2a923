"""Database facts every app needs: bounded lock waits and how a lost wait looks."""

from __future__ import annotations

from django.db import OperationalError, connection
from django.db.models import QuerySet

# MySQL/MariaDB: 1205 lock wait timeout exceeded, 1213 deadlock found.
_MYSQL_LOCK_ERRORS = {1205, 1213}


def is_lock_wait_failure(exc: OperationalError) -> bool:
    """A lock wait that timed out or was chosen as a deadlock victim: the caller may retry."""
    code = exc.args[0] if exc.args else None
    if isinstance(code, int):
        return code in _MYSQL_LOCK_ERRORS
    return "database is locked" in str(exc)  # SQLite's busy timeout


def locked(rows: QuerySet) -> QuerySet:
    """`rows` row-locked until the transaction ends, and only the rows named: no joined row is locked.

    MariaDB/MySQL lock every joined table's rows and have no FOR UPDATE OF, so a locking query
    may not join at all; where the backend has OF (PostgreSQL) it is used as well.
    """
    if rows.query.select_related:
        raise ValueError("a locking query must not join (select_related): it would lock the joined rows too")
    if connection.features.has_select_for_update_of:
        return rows.select_for_update(of=("self",))
    return rows.select_for_update()
