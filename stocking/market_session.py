"""The market session the pages show (docs/architecture.md §7, §6): KRX's regular session when MARKET_HOURS_ENFORCED,
otherwise a simulated market that is open around the clock."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from marketdata.calendar import SEOUL, SESSION_CLOSE, SESSION_OPEN, is_trading_day

ALWAYS_OPEN = "always"  # hours not enforced: orders fill at any time
PRE_OPEN = "pre_open"  # a trading day before 09:00 KST
OPEN = "open"
CLOSED = "closed"  # after 15:30 KST, or a weekend or KRX holiday


@dataclass(frozen=True)
class MarketSession:
    state: str
    next_open: datetime | None  # in KST; None while open or when hours are not enforced

    @property
    def is_open(self) -> bool:
        return self.state in (ALWAYS_OPEN, OPEN)


def next_session_open(now: datetime) -> datetime:
    """The start (09:00 KST) of the first regular session that begins after `now`."""
    day = now.astimezone(SEOUL).date()
    while True:
        start = datetime.combine(day, SESSION_OPEN, tzinfo=SEOUL)
        if start > now and is_trading_day(day):
            return start
        day += timedelta(days=1)


def market_session_at(now: datetime) -> MarketSession:
    if not settings.MARKET_HOURS_ENFORCED:
        return MarketSession(state=ALWAYS_OPEN, next_open=None)
    local = now.astimezone(SEOUL)
    if is_trading_day(local.date()):
        if local.time() < SESSION_OPEN:
            return MarketSession(state=PRE_OPEN, next_open=next_session_open(now))
        if local.time() < SESSION_CLOSE:
            return MarketSession(state=OPEN, next_open=None)
    return MarketSession(state=CLOSED, next_open=next_session_open(now))
