from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from marketdata.calendar import is_trading_day, seoul_today
from portfolio import hooks
from portfolio.analytics import snapshots_take


@shared_task
def snapshot_accounts() -> int:
    """Beat's daily equity snapshot (docs/architecture.md §13): today's after the close on KRX trading days, or,
    when trading runs around the clock (MARKET_HOURS_ENFORCED=false, run at 00:05 KST), the day that just ended."""
    today = seoul_today(timezone.now())
    if not settings.MARKET_HOURS_ENFORCED:
        written = snapshots_take(day=today - timedelta(days=1))
    elif is_trading_day(today):
        written = snapshots_take(day=today)
    else:
        return 0
    for after in hooks.snapshots_taken:  # leagues: standings and the leaderboard from the new day
        after()
    return written
