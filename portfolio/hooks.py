"""Where higher apps plug into portfolio, so that portfolio never imports them (docs/architecture.md).

trading fills both in its AppConfig.ready(): it holds reservations (working orders) and must
cancel an account's orders before the account closes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portfolio.unit_of_work import AccountUnitOfWork

# (account ids) -> (reserved cash by account id, reserved shares by (account id, stock id))
ReservationSource = Callable[[list[int]], tuple[dict[int, Decimal], dict[tuple[int, int], int]]]
reservation_sources: list[ReservationSource] = []

# Called inside the unit of work that closes the account (reset), after its account lock, before closing.
account_closing: list[Callable[[AccountUnitOfWork, str], None]] = []

# Called by the daily snapshot task after it wrote a day's snapshots: leagues recompute standings from them.
snapshots_taken: list[Callable[[], None]] = []
