"""The KRX calendar: trading days, the regular session, T+2 settlement (docs/architecture.md §2–3)."""

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

SEOUL = ZoneInfo("Asia/Seoul")
SESSION_OPEN = time(9, 0)
SESSION_CLOSE = time(15, 30)


@cache
def _closures(year: int) -> holidays.HolidayBase:
    return holidays.financial_holidays("XKRX", years=year)


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _closures(day.year)


def add_trading_days(day: date, count: int) -> date:
    """The date `count` trading days after `day` (T+2 settlement: count=2)."""
    while count > 0:
        day += timedelta(days=1)
        if is_trading_day(day):
            count -= 1
    return day


def seoul_today(now: datetime) -> date:
    return now.astimezone(SEOUL).date()


def is_regular_session(now: datetime) -> bool:
    local = now.astimezone(SEOUL)
    return is_trading_day(local.date()) and SESSION_OPEN <= local.time() < SESSION_CLOSE
