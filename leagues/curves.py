"""The league page's chart (docs/architecture.md §16): a member's cumulative return over the league's days beside
the leader's and KOSPI's. The same time-weighted chain as the standings (`leagues.standings._user_returns`): a
deposit never lifts a curve, and a reset chains the old account into the new one."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from leagues.models import League
from leagues.selectors import league_last_day
from leagues.standings import LOOKBACK_DAYS, _user_returns, league_live_day
from marketdata.calendar import seoul_today
from marketdata.models import MarketIndexDay
from portfolio.analytics import BENCHMARK_CODE, benchmark_close_now
from portfolio.models import EquitySnapshot


def _cumulative(returns: list[tuple[date, float]]) -> dict[date, float]:
    wealth, out = 1.0, {}
    for day, r in returns:
        wealth *= 1.0 + r
        out[day] = round((wealth - 1.0) * 100, 4)
    return out


def _benchmark(
    first_day: date, last_day: date, today: date, live: bool, user_ids: list[int]
) -> tuple[Decimal | None, dict[date, Decimal]]:
    """KOSPI's close before the league's first day (the base) and its closes over the league's days: as the two
    users' snapshots recorded it (what the analytics page charts), else the shipped daily history."""
    first = first_day - timedelta(days=LOOKBACK_DAYS)
    recorded: dict[date, Decimal] = {}
    for user_id in user_ids:  # the viewer's last: their own analytics page charts the same closes
        recorded |= dict(
            EquitySnapshot.objects.filter(
                account__user_id=user_id, date__gte=first, date__lte=last_day, benchmark_close__isnull=False
            )
            .order_by("date")
            .values_list("date", "benchmark_close")
        )
    history = (
        MarketIndexDay.objects.filter(index__code=BENCHMARK_CODE, date__gte=first, date__lte=last_day)
        .order_by("date")
        .values_list("date", "close")
    )
    closes = dict(history) | recorded
    if live and today not in closes:
        now_value = benchmark_close_now(today)
        if now_value is not None:
            closes[today] = now_value
    before = [day for day in closes if day < first_day]
    days = {day: close for day, close in closes.items() if day >= first_day}
    base = closes[max(before)] if before else (days[min(days)] if days else None)
    return base, days


def league_curves(*, league: League, me_id: int | None, leader_id: int | None, now=None) -> dict:
    """{"points": [{"date", "mine", "leader", "benchmark"}]}: cumulative % from the league's first day, one point a
    day that any of the three has; a line without a value on a day carries its last one (None before it starts).
    Reads the two users' snapshots between the league's dates (and today at live prices while it runs)."""
    now = now or timezone.now()
    today = seoul_today(now)
    last_day = league_last_day(league, today)
    user_ids = list(dict.fromkeys(pk for pk in (leader_id, me_id) if pk is not None))
    if last_day is None:
        return {"points": []}
    live = league_live_day(league, last_day, today) is not None
    cumulative: dict[int, dict[date, float]] = {}
    if user_ids:
        users = get_user_model().objects.filter(pk__in=user_ids).values("pk")
        for user_id, returns in _user_returns(
            users, first_day=league.starts_on, last_day=last_day, live_day=today if live else None
        ):
            cumulative[user_id] = _cumulative(returns)
    base, closes = _benchmark(league.starts_on, last_day, today, live, user_ids)
    days = sorted({day for curve in cumulative.values() for day in curve} | set(closes))
    lines = {"mine": cumulative.get(me_id, {}), "leader": cumulative.get(leader_id, {})}  # type: ignore[arg-type]
    carried: dict[str, float | None] = {"mine": None, "leader": None, "benchmark": None}
    points = []
    for day in days:
        for name, curve in lines.items():
            if day in curve:
                carried[name] = curve[day]
        if day in closes and base:
            carried["benchmark"] = round(float(closes[day] / base - 1) * 100, 4)
        points.append({"date": day.isoformat(), **carried})
    return {"points": points}
