"""What the performance pages draw from an equity series: the drawdown curve, monthly returns, today's P&L and the
allocation of the holdings. Pure reads of values already in hand (no queries)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from portfolio.analytics import EquitySeries, history_data
from portfolio.selectors import PortfolioSummary

ZERO = Decimal(0)
HUNDRED = Decimal(100)
NO_SECTOR = _("Other")
# The period buttons (analytics.PERIOD_DAYS's codes); "ALL" reads 전체.
PERIOD_LABELS = [("1W", "1W"), ("1M", "1M"), ("3M", "3M"), ("6M", "6M"), ("1Y", "1Y"), ("ALL", _("All"))]


def chart_data(series: EquitySeries) -> dict:
    """The history body (as GET portfolio/history gives it) plus the drawdown of each point, JSON-ready."""
    body = history_data(series)
    wealth = peak = 1.0
    points = []
    for point, daily in zip(body["points"], series.returns, strict=True):
        wealth *= 1.0 + daily
        peak = max(peak, wealth)
        points.append(
            {
                "date": point["date"].isoformat(),
                "equity": str(point["equity"]),
                "return_pct": point["return_pct"],
                "benchmark_return_pct": point["benchmark_return_pct"],
                "drawdown_pct": round((wealth / peak - 1.0) * 100, 4),
            }
        )
    return {"account_id": body["account_id"], "period": body["period"], "points": points}


@dataclass
class MonthReturn:
    month: str  # YYYY-MM
    return_pct: Decimal


def monthly_returns(series: EquitySeries) -> list[MonthReturn]:
    """Each calendar month's time-weighted return over the series' days, newest first."""
    months: dict[str, float] = {}
    for point, daily in zip(series.points, series.returns, strict=True):
        key = point.date.strftime("%Y-%m")
        months[key] = months.get(key, 1.0) * (1.0 + daily)
    return [
        MonthReturn(month, Decimal(str(round((wealth - 1.0) * 100, 2))))
        for month, wealth in sorted(months.items(), reverse=True)
    ]


def day_profit_loss(series: EquitySeries) -> Decimal | None:
    """Today's change in equity beyond today's deposits and withdrawals; None without a day before today."""
    if not series.points:
        return None
    last = series.points[-1]
    previous = series.points[-2] if len(series.points) > 1 else series.base
    if previous is None:
        return None
    return last.equity - previous.equity - last.net_flow


@dataclass
class Slice:
    label: str
    value: Decimal
    pct: Decimal  # of the holdings' market value
    code: str = ""  # the stock's code, for a slice that is one stock


def _slices(values: dict[str, Decimal], codes: dict[str, str] | None = None) -> list[Slice]:
    total = sum(values.values(), ZERO)
    if total <= 0:
        return []
    return [
        Slice(label, value, (value / total * HUNDRED).quantize(Decimal("0.01")), (codes or {}).get(label, ""))
        for label, value in sorted(values.items(), key=lambda item: (-item[1], item[0]))
    ]


def allocation_by_stock(summary: PortfolioSummary) -> list[Slice]:
    held = [h for h in summary.holdings if h.market_value > 0]
    return _slices({h.stock.name: h.market_value for h in held}, {h.stock.name: h.stock.code for h in held})


def allocation_by_sector(summary: PortfolioSummary) -> list[Slice]:
    """Grouped by the stock's sector, else its KRX industry, else "Other"."""
    values: dict[str, Decimal] = {}
    for h in summary.holdings:
        if h.market_value > 0:
            label = h.stock.sector or h.stock.industry or str(NO_SECTOR)
            values[label] = values.get(label, ZERO) + h.market_value
    return _slices(values)
