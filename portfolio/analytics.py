"""Performance analytics (docs/architecture.md §13): equity snapshots, time-weighted return, risk, trade
statistics, KOSPI.

Reads only, except `snapshots_take` and `snapshots_seed_demo`, which write derived rows (EquitySnapshot) and
move no money. Metric definitions follow empyrical/quantstats on the same daily series (tests compare them):

- a day's return is `(equity_end − net_flow) / equity_start − 1` (flows at the day's end), so deposits and
  withdrawals never count as profit; an account's first day, with nothing before it, earns on what was paid in
  (`equity_end / net_flow − 1`); the chain is per account, so a reset starts a new one;
- annualized return `(1 + TWR) ** (252 / days) − 1`; volatility `stdev(ddof=1) × √252`; Sharpe
  `mean(r − rf) / stdev(r − rf) × √252` with `rf = ANALYTICS_RISK_FREE_RATE / 252`; max drawdown on the
  wealth index that starts at 1.
- undefined values (no days, one day, zero volatility, no sells, no losses) are None, never 0.
"""

from __future__ import annotations

import functools
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from marketdata.calendar import SEOUL, is_trading_day, seoul_today
from marketdata.indices import latest_index_values
from marketdata.models import Candle, MarketIndex, MarketIndexDay, Stock
from marketdata.prices import latest_prices
from portfolio.models import Account, EquitySnapshot, Holding, Transaction, TransactionType
from portfolio.selectors import portfolio_summary

ZERO = Decimal(0)
TRADING_DAYS_PER_YEAR = 252
BENCHMARK_CODE = "KOSPI"
# Money paid in or out: never profit. Staff corrections count like deposits, as in the portfolio's net_deposits.
FLOW_TYPES = (TransactionType.DEPOSIT, TransactionType.WITHDRAW, TransactionType.ADJUSTMENT)
TRADE_TYPES = (TransactionType.BUY, TransactionType.SELL)
PERIOD_DAYS: dict[str, int | None] = {"1W": 7, "1M": 30, "3M": 91, "6M": 182, "1Y": 365, "ALL": None}
SNAPSHOT_BATCH_SIZE = 1000
UNIQUE_DAY = ["account", "date"]
# The cached part of an answer is keyed by everything it reads, today included, so an entry is never wrong, only
# unused; a day is as long as one can be of use.
PAST_CACHE_SECONDS = 24 * 3600
PAST_CACHE_VERSION = 1


def day_start(day: date) -> datetime:
    """The first instant of a KST day."""
    return datetime.combine(day, time.min, tzinfo=SEOUL)


# --- metrics on a daily series -------------------------------------------------------------------------------


def daily_return(equity_start: Decimal | None, equity_end: Decimal, net_flow: Decimal) -> float:
    """One day's time-weighted return; flows at the day's end, or at its start when nothing came before."""
    if equity_start is not None and equity_start > 0:
        return float((equity_end - net_flow) / equity_start) - 1.0
    if net_flow > 0:  # the account's first day: it earns on what was paid in
        return float(equity_end / net_flow) - 1.0
    return 0.0


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def cumulative_return(returns: list[float]) -> float | None:
    if not returns:
        return None
    wealth = 1.0
    for r in returns:
        wealth *= 1.0 + r
    return wealth - 1.0


def annualized_return(returns: list[float]) -> float | None:
    total = cumulative_return(returns)
    if total is None or total <= -1.0:
        return None if total is None else -1.0
    try:
        return _finite((1.0 + total) ** (TRADING_DAYS_PER_YEAR / len(returns)) - 1.0)
    except OverflowError:
        return None


def max_drawdown(returns: list[float]) -> float | None:
    """The deepest fall from a running peak of the wealth index (which starts at 1), as a negative fraction."""
    if not returns:
        return None
    wealth = peak = 1.0
    deepest = 0.0
    for r in returns:
        wealth *= 1.0 + r
        peak = max(peak, wealth)
        deepest = min(deepest, wealth / peak - 1.0)
    return deepest


def _stdev(values: list[float], mean: float) -> float:
    """Sample standard deviation (ddof=1), two-pass in floats: statistics.stdev computes in exact fractions, which
    cost ~100 µs for 20 days and made ranking 100,000 users' periods take a minute."""
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def annualized_volatility(returns: list[float]) -> float | None:
    if len(returns) < 2:
        return None
    return _stdev(returns, math.fsum(returns) / len(returns)) * math.sqrt(TRADING_DAYS_PER_YEAR)


def risk_free_daily() -> float:
    return float(settings.ANALYTICS_RISK_FREE_RATE) / TRADING_DAYS_PER_YEAR


def sharpe_ratio(returns: list[float], risk_free: float = 0.0) -> float | None:
    """Annualized; None with fewer than two days or (numerically) zero volatility."""
    if len(returns) < 2:
        return None
    excess = [r - risk_free for r in returns]
    mean = math.fsum(excess) / len(excess)
    deviation = _stdev(excess, mean)
    if deviation < 1e-12:
        return None
    return _finite(mean / deviation * math.sqrt(TRADING_DAYS_PER_YEAR))


# --- the equity series of one account ------------------------------------------------------------------------


@dataclass(frozen=True)
class EquityPoint:
    date: date
    equity: Decimal
    net_flow: Decimal
    benchmark_close: Decimal | None
    cash: Decimal = ZERO
    market_value: Decimal = ZERO


class EquitySeries:
    """The period's points (the last one today's live value for an open account) and the point before them.

    The days before today come from the cache when they can (see `equity_series`): their returns, first and last
    points and flows at once, the points themselves only when something reads `points` (a chart, the history)."""

    def __init__(
        self,
        *,
        account: Account,
        period: str,
        base: EquityPoint | None,  # the last snapshot before the period; None when the account started inside it
        points: list[EquityPoint] | None = None,
        benchmark_base: Decimal | None,
        past: _PastSummary | None = None,
        live: EquityPoint | None = None,
        load_past_points: Callable[[], list[EquityPoint]] | None = None,
        cache_key: str | None = None,
    ):
        self.account, self.period, self.base, self.benchmark_base = account, period, base, benchmark_base
        self.cache_key = cache_key  # what the cached parts of its answers are stored under
        self.trades: _Trades | None = None  # the ledger's part, when the cache had it
        if past is None:  # built from its points
            past = _PastSummary.of(base, points or [])
            self._points: list[EquityPoint] | None = list(points or [])
        else:
            self._points = None
            self._load_past_points = load_past_points
            self._live = live
        self.returns = list(past.returns)
        self.first, self.last, self.net_flow = past.first, past.last, past.net_flow
        if live is not None:
            previous = past.last or base
            self.returns.append(daily_return(previous.equity if previous else None, live.equity, live.net_flow))
            self.first, self.last, self.net_flow = self.first or live, live, self.net_flow + live.net_flow

    @property
    def points(self) -> list[EquityPoint]:
        if self._points is None:
            self._points = self._load_past_points() + ([self._live] if self._live is not None else [])
        return self._points

    @property
    def base_value(self) -> Decimal | None:
        """The equity the chain starts from: the day before the period, or what the account's first day paid in."""
        if self.base is not None:
            return self.base.equity
        if self.first is None:
            return None
        return self.first.net_flow if self.first.net_flow > 0 else self.first.equity

    def cumulative_pcts(self) -> list[float]:
        wealth, out = 1.0, []
        for r in self.returns:
            wealth *= 1.0 + r
            out.append((wealth - 1.0) * 100)
        return out

    def benchmark_pct(self, point: EquityPoint) -> float | None:
        if not self.benchmark_base or point.benchmark_close is None:
            return None
        return float(point.benchmark_close / self.benchmark_base - 1) * 100


@dataclass(frozen=True)
class _PastSummary:
    """What the metrics need from days before today (all of a closed account's days): cached, a few hundred bytes
    of floats beside the points' kilobytes."""

    returns: list[float]
    first: EquityPoint | None
    last: EquityPoint | None
    net_flow: Decimal

    @classmethod
    def of(cls, base: EquityPoint | None, points: list[EquityPoint]) -> _PastSummary:
        return cls(
            returns=_chain_returns(base, points),
            first=points[0] if points else None,
            last=points[-1] if points else None,
            net_flow=sum((p.net_flow for p in points), ZERO),
        )


def _chain_returns(base: EquityPoint | None, points) -> list[float]:
    returns = []
    previous = base.equity if base else None
    for point in points:
        returns.append(daily_return(previous, point.equity, point.net_flow))
        previous = point.equity
    return returns


def _benchmark_closes() -> QuerySet:
    return MarketIndexDay.objects.filter(index__code=BENCHMARK_CODE).order_by("-date").values_list("close", flat=True)


def _benchmark_close_on(day: date) -> Decimal | None:
    """KOSPI's close of `day` or the last one before it (the shipped daily history)."""
    return _benchmark_closes().filter(date__lte=day).first()


def benchmark_close_now(today: date, last_close: Decimal | None | Literal[False] = False) -> Decimal | None:
    """KOSPI now: the live value (Redis) when it is today's, else the last daily close (`last_close` when the
    caller has read it already)."""
    quote = latest_index_values([BENCHMARK_CODE]).get(BENCHMARK_CODE)
    if quote is not None and seoul_today(quote.received_at) == today:
        return quote.price
    return _benchmark_close_on(today) if last_close is False else last_close


@dataclass(frozen=True)
class _Stamp:
    """What an account's answer reads besides its holdings and live prices, in one query: the newest ledger row and
    the snapshots' count and last write (which name the cached part), today's flows, KOSPI's last close and its
    close before the period's first snapshot (the benchmark's base when the account started inside the period)."""

    last_ledger_row: int | None
    snapshots: int | None
    snapshots_updated_at: str | None
    net_flow_today: Decimal | None
    benchmark_today: Decimal | None
    benchmark_before_first: Decimal | None


def _past_snapshots(account: Account, period: str, today: date) -> QuerySet:
    """The period's snapshots that are not today's live point: before today for an open account (today is valued
    live), up to today for a closed one."""
    snapshots = EquitySnapshot.objects.filter(account_id=account.pk)
    snapshots = snapshots.filter(date__lt=today) if account.is_open else snapshots.filter(date__lte=today)
    days = PERIOD_DAYS[period]
    return snapshots if days is None else snapshots.filter(date__gt=today - timedelta(days=days))


@functools.cache
def _stamp_sql(vendor: str, is_open: bool, whole_history: bool) -> str:
    """The statement `_stamp` runs, per database and shape: identifiers from the models, every value a parameter."""
    q = connection.ops.quote_name
    ledger, snapshots = q(Transaction._meta.db_table), q(EquitySnapshot._meta.db_table)
    index_days, indices = q(MarketIndexDay._meta.db_table), q(MarketIndex._meta.db_table)
    won = BigIntegerField().cast_db_type(connection)
    date, close = q("date"), q("close")
    # The first snapshot that is not today's live point (as _past_snapshots reads them); KOSPI's base is the close
    # before it.
    before = "<" if is_open else "<="
    first_day = f"SELECT MIN({date}) FROM {snapshots} WHERE account_id = %s AND {date} {before} %s"  # noqa: S608
    if not whole_history:
        first_day += f" AND {date} > %s"
    # A close has two decimals: read as a whole number of hundredths (SQLite may hold it as a float).
    kospi = (
        f"SELECT CAST(ROUND(d.{close} * 100) AS {won}) FROM {index_days} d INNER JOIN {indices} i"  # noqa: S608
        f" ON i.id = d.index_id WHERE i.code = %s AND d.{date} {{}} ORDER BY d.{date} DESC LIMIT 1"
    )
    flow_types = ", ".join(["%s"] * len(FLOW_TYPES))
    return (
        f"SELECT (SELECT MAX(id) FROM {ledger} WHERE account_id = %s),"  # noqa: S608
        f" (SELECT COUNT(*) FROM {snapshots} WHERE account_id = %s),"
        f" (SELECT MAX(updated_at) FROM {snapshots} WHERE account_id = %s),"
        f" (SELECT CAST(SUM(amount) AS {won}) FROM {ledger}"
        f" WHERE account_id = %s AND transaction_type IN ({flow_types}) AND created_at >= %s),"
        f" ({kospi.format('<= %s')}),"
        f" ({kospi.format(f'< COALESCE(({first_day}), %s)')})"
    )


def _stamp(account: Account, period: str, today: date) -> _Stamp:
    """One statement of scalar subqueries, each an index lookup. Written as SQL: built through the ORM, these six
    subqueries cost more Python per request than the rest of a cached answer."""
    ops = connection.ops
    days = PERIOD_DAYS[period]
    today_param = ops.adapt_datefield_value(today)
    sql = _stamp_sql(connection.vendor, bool(account.is_open), days is None)
    since = [] if days is None else [ops.adapt_datefield_value(today - timedelta(days=days))]
    params = [
        *[account.pk] * 4,
        *FLOW_TYPES,
        ops.adapt_datetimefield_value(day_start(today)),
        BENCHMARK_CODE,
        today_param,
        BENCHMARK_CODE,
        account.pk,
        today_param,
        *since,
        today_param,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        last_row, count, updated_at, flow, close_today, close_before_first = cursor.fetchone()
    return _Stamp(
        last_ledger_row=last_row,
        snapshots=count,
        snapshots_updated_at=None if updated_at is None else str(updated_at),
        net_flow_today=None if flow is None else Decimal(flow),
        benchmark_today=None if close_today is None else Decimal(close_today).scaleb(-2),
        benchmark_before_first=None if close_before_first is None else Decimal(close_before_first).scaleb(-2),
    )


def _cache_key(account: Account, period: str, today: date, stamp: _Stamp) -> str:
    """Everything the cached part reads: the account (and its opening, so a rebuilt database never meets an old
    entry), whether it is open, the period, today, the newest ledger row and the snapshots' count and last write."""
    updated = (stamp.snapshots_updated_at or "-").replace(" ", "T")
    return (
        f"analytics:{PAST_CACHE_VERSION}:{account.pk}:{account.opened_at.isoformat()}:{int(bool(account.is_open))}:"
        f"{period}:{today.isoformat()}:{stamp.last_ledger_row}:{stamp.snapshots}:{updated}"
    )


def _live_point(account: Account, today: date, stamp: _Stamp) -> EquityPoint:
    """Today at live prices, valued like the portfolio page (a fresh quote, else the last fill price): one query
    and two Redis round trips."""
    holdings = list(account.holdings.filter(quantity__gt=0).values_list("stock__code", "quantity", "last_fill_price"))
    quotes = latest_prices(code for code, _, _ in holdings)
    market_value = ZERO
    for code, quantity, last_fill in holdings:
        quote = quotes.get(code)
        price = quote.price if quote is not None and quote.is_fresh() else last_fill
        market_value += (price or ZERO) * quantity
    return EquityPoint(
        date=today,
        equity=account.cash + market_value,
        net_flow=stamp.net_flow_today or ZERO,
        benchmark_close=benchmark_close_now(today, stamp.benchmark_today),
        cash=account.cash,
        market_value=market_value,
    )


def _points(snapshots) -> list[EquityPoint]:
    """Whole-won columns read as integers: a Decimal converter per value cost more than the rest of a year's read."""
    rows = snapshots.values_list(
        "date", Cast("equity", BigIntegerField()), Cast("net_flow", BigIntegerField()), "benchmark_close"
    )
    return [EquityPoint(day, Decimal(equity), Decimal(flow), close) for day, equity, flow, close in rows]


def _past_days(account: Account, period: str, today: date) -> tuple[EquityPoint | None, list[EquityPoint]]:
    """The point before the period (None when the account started inside it) and the period's points before today
    (up to today for a closed account)."""
    days = PERIOD_DAYS[period]
    if days is None:
        return None, _points(_past_snapshots(account, period, today).order_by("date"))
    start = today - timedelta(days=days)
    # One read usually finds the day before the period too (a trading day is rarely two weeks away).
    window = _points(
        _past_snapshots(account, "ALL", today).filter(date__gt=start - timedelta(days=14)).order_by("date")
    )
    before = [p for p in window if p.date <= start]
    if not before:
        before = _points(EquitySnapshot.objects.filter(account_id=account.pk, date__lte=start).order_by("-date")[:1])
    return (before[-1] if before else None), [p for p in window if p.date > start]


def _packed(points: list[EquityPoint]) -> list[tuple]:
    """Points as plain tuples: a year of them unpickles in a fraction of the dataclasses' time."""
    return [(p.date, int(p.equity), int(p.net_flow), p.benchmark_close) for p in points]


def _unpacked(rows: list[tuple]) -> list[EquityPoint]:
    return [EquityPoint(day, Decimal(equity), Decimal(flow), close) for day, equity, flow, close in rows]


def equity_series(*, account: Account, period: str, today: date | None = None) -> EquitySeries:
    """The account's snapshots in the period plus, for an open account, today valued at live prices.

    The days before today change once a day: what they give (the point before the period, the returns, and for
    the analytics the ledger's trades) is cached under a key made of everything it reads (the account, whether it
    is open, the period, today, the newest ledger row, the snapshots' count and last write), so a fill, a deposit,
    a snapshot or a new day makes a new entry and an old one is never read. With the cache warm: two queries (the
    key's, the holdings) and three Redis round trips; the points themselves only when `points` is read."""
    today = today or seoul_today(timezone.now())
    stamp = _stamp(account, period, today)
    key = _cache_key(account, period, today, stamp)
    cached = cache.get_many([key, f"{key}:trades"])
    past_points: list[EquityPoint] | None = None
    if key in cached:
        base, summary = cached[key]
    else:
        base, past_points = _past_days(account, period, today)
        summary = _PastSummary.of(base, past_points)
        cache.set_many({key: (base, summary), f"{key}:points": _packed(past_points)}, PAST_CACHE_SECONDS)

    def load_past_points() -> list[EquityPoint]:
        if past_points is not None:
            return past_points
        rows = cache.get(f"{key}:points")
        return _unpacked(rows) if rows is not None else _past_days(account, period, today)[1]

    live = _live_point(account, today, stamp) if account.is_open else None
    if base is not None:
        benchmark_base = base.benchmark_close
    elif summary.first is not None or live is not None:
        benchmark_base = stamp.benchmark_before_first or (summary.first or live).benchmark_close
    else:
        benchmark_base = None
    series = EquitySeries(
        account=account,
        period=period,
        base=base,
        benchmark_base=benchmark_base,
        past=summary,
        live=live,
        load_past_points=load_past_points,
        cache_key=key,
    )
    series.trades = cached.get(f"{key}:trades")
    return series


def history_data(series: EquitySeries) -> dict:
    """The body of GET portfolio/history."""
    pcts = series.cumulative_pcts()
    return {
        "account_id": series.account.pk,
        "period": series.period,
        "base_value": series.base_value,
        "points": [
            {
                "date": point.date,
                "equity": point.equity,
                "net_flow": point.net_flow,
                "return_pct": round(pct, 4),
                "benchmark_return_pct": _round(series.benchmark_pct(point), 4),
            }
            for point, pct in zip(series.points, pcts, strict=True)
        ],
    }


def _round(value: float | None, digits: int) -> float | None:
    value = _finite(value)
    return None if value is None else round(value, digits)


def _pct(value: float | None) -> float | None:
    return _round(None if value is None else value * 100, 4)


# --- trades -----------------------------------------------------------------------------------------------------


@dataclass
class TradeStats:
    sells: int = 0
    wins: int = 0
    losses: int = 0
    win_rate_pct: float | None = None
    profit_factor: float | None = None
    average_win: Decimal | None = None
    average_loss: Decimal | None = None
    best: Decimal | None = None
    worst: Decimal | None = None


def trade_statistics(realized: list[Decimal]) -> TradeStats:
    """Over SELL executions' realized P&L (after their commission and tax): a win is > 0, a loss < 0."""
    wins = [r for r in realized if r > 0]
    losses = [r for r in realized if r < 0]
    gross_loss = -sum(losses, ZERO)
    return TradeStats(
        sells=len(realized),
        wins=len(wins),
        losses=len(losses),
        win_rate_pct=round(len(wins) / len(realized) * 100, 4) if realized else None,
        profit_factor=round(float(sum(wins, ZERO) / gross_loss), 4) if gross_loss > 0 else None,
        average_win=(sum(wins, ZERO) / len(wins)).quantize(Decimal(1)) if wins else None,
        average_loss=(sum(losses, ZERO) / len(losses)).quantize(Decimal(1)) if losses else None,
        best=max(realized) if realized else None,
        worst=min(realized) if realized else None,
    )


def _trade_rows(series: EquitySeries):
    rows = Transaction.objects.filter(account=series.account, transaction_type__in=TRADE_TYPES)
    if series.base is not None:
        rows = rows.filter(created_at__gte=day_start(series.base.date + timedelta(days=1)))
    return rows


@dataclass(frozen=True)
class _Trades:
    """The ledger's part of an answer: trade statistics and the per-stock table (cached like the past days)."""

    stats: TradeStats
    realized_pnl: Decimal
    fees_paid: Decimal
    taxes_paid: Decimal
    turnover: Decimal
    by_stock: list[dict]


def _trades(rows) -> _Trades:
    """Per stock, summed by the database in one query: realized P&L, fees, taxes, executions and traded value, and
    its sells' wins, losses, their sums, best and worst, from which the trade statistics are put together exactly
    as `trade_statistics` makes them from each sell."""
    won = BigIntegerField()
    sells = Q(transaction_type=TransactionType.SELL)
    wins = sells & Q(realized_pnl__gt=0)
    losses = sells & Q(realized_pnl__lt=0)
    realized = Coalesce("realized_pnl", ZERO)  # a sell without a figure counts as 0, neither a win nor a loss
    per_stock = list(
        rows.values(stock_code=F("stock__code"))
        .annotate(
            sells=Count("id", filter=sells),
            wins=Count("id", filter=wins),
            losses=Count("id", filter=losses),
            gross_win=Cast(Coalesce(Sum("realized_pnl", filter=wins), ZERO), won),
            gross_loss=Cast(Coalesce(Sum("realized_pnl", filter=losses), ZERO), won),
            best=Cast(Max(realized, filter=sells), won),
            worst=Cast(Min(realized, filter=sells), won),
            fees=Cast(Sum("commission"), won),
            taxes=Cast(Sum("tax"), won),
            trades=Count("id"),
            traded_value=Cast(Sum(F("price") * F("quantity")), won),
            # Last: the name hides the column from the annotations after it.
            realized_pnl=Cast(Coalesce(Sum("realized_pnl", filter=sells), ZERO), won),
        )
        .order_by("stock_code")
    )
    sold = [row for row in per_stock if row["sells"]]
    sell_count = sum(row["sells"] for row in sold)
    win_count = sum(row["wins"] for row in sold)
    loss_count = sum(row["losses"] for row in sold)
    gross_win = Decimal(sum(row["gross_win"] for row in sold))
    gross_loss = -Decimal(sum(row["gross_loss"] for row in sold))
    stats = TradeStats(
        sells=sell_count,
        wins=win_count,
        losses=loss_count,
        win_rate_pct=round(win_count / sell_count * 100, 4) if sell_count else None,
        profit_factor=round(float(gross_win / gross_loss), 4) if gross_loss > 0 else None,
        average_win=(gross_win / win_count).quantize(Decimal(1)) if win_count else None,
        average_loss=(-gross_loss / loss_count).quantize(Decimal(1)) if loss_count else None,
        best=Decimal(max(row["best"] for row in sold)) if sold else None,
        worst=Decimal(min(row["worst"] for row in sold)) if sold else None,
    )
    by_stock = [
        {key: row[key] for key in ("stock_code", "realized_pnl", "fees", "taxes", "trades")} for row in per_stock
    ]
    return _Trades(
        stats=stats,
        realized_pnl=Decimal(sum(row["realized_pnl"] for row in per_stock)),
        fees_paid=Decimal(sum(row["fees"] for row in per_stock)),
        taxes_paid=Decimal(sum(row["taxes"] for row in per_stock)),
        turnover=Decimal(sum(row["traded_value"] or 0 for row in per_stock)),
        by_stock=by_stock,
    )


def _series_trades(series: EquitySeries) -> _Trades:
    """The series' trades: what equity_series found in the cache (its key holds the newest ledger row), else read
    and cached."""
    if series.trades is None:
        series.trades = _trades(_trade_rows(series))
        if series.cache_key is not None:
            cache.set(f"{series.cache_key}:trades", series.trades, PAST_CACHE_SECONDS)
    return series.trades


def analytics_data(series: EquitySeries) -> dict:
    """The body of GET portfolio/analytics: every §13 metric over the series' days and the ledger's trades."""
    returns = series.returns
    first, last, net_flow = series.first, series.last, series.net_flow
    starting = series.base.equity if series.base else (ZERO if first else None)
    twr = cumulative_return(returns)
    benchmark = series.benchmark_pct(last) if last else None
    trades = _series_trades(series)
    twr_pct = _pct(twr)
    benchmark_pct = _round(benchmark, 4)
    return {
        "account_id": series.account.pk,
        "period": series.period,
        "start_date": first.date if first else None,
        "end_date": last.date if last else None,
        "starting_equity": starting,
        "ending_equity": last.equity if last else None,
        "net_flow": net_flow,
        "profit_loss": last.equity - starting - net_flow if last else None,
        "time_weighted_return_pct": twr_pct,
        "annualized_return_pct": _pct(annualized_return(returns)),
        "max_drawdown_pct": _pct(max_drawdown(returns)),
        "volatility_pct": _pct(annualized_volatility(returns)),
        "sharpe_ratio": _round(sharpe_ratio(returns, risk_free_daily()), 4),
        "benchmark": {"code": BENCHMARK_CODE, "return_pct": benchmark_pct},
        "excess_return_pct": None if twr_pct is None or benchmark_pct is None else round(twr_pct - benchmark_pct, 4),
        "trades": dict(trades.stats.__dict__),
        "realized_pnl": trades.realized_pnl,
        "fees_paid": trades.fees_paid,
        "taxes_paid": trades.taxes_paid,
        "turnover": trades.turnover,
        "by_stock": [dict(row) for row in trades.by_stock],
    }


# --- writing snapshots ------------------------------------------------------------------------------------------


def snapshot_days_between(first: date, last: date) -> list[date]:
    """The days that get a snapshot: KRX trading days, or every day when market hours are not enforced."""
    days, day = [], first
    while day <= last:
        if not settings.MARKET_HOURS_ENFORCED or is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _prices_on(stock_ids: set[int], day: date, today: date, end: datetime) -> dict[int, Decimal]:
    """Each stock's price at the end of `day`: the live quote for today, else the close of its last candle up to
    then, else its reference price. One query and at most one Redis round trip."""
    last_close = Candle.objects.filter(stock=OuterRef("pk"), start__lt=end).order_by("-start").values("close")[:1]
    stocks = Stock.objects.filter(pk__in=stock_ids).annotate(last_close=Subquery(last_close))
    rows = list(stocks.values_list("pk", "code", "last_close", "reference_price"))
    quotes = latest_prices(code for _, code, _, _ in rows) if day == today else {}
    prices = {}
    for pk, code, close, reference in rows:
        quote = quotes.get(code)
        price = quote.price if quote is not None else (close if close is not None else reference)
        if price is not None:
            prices[pk] = price
    return prices


def _snapshot_batch(account_ids: list[int], cash_at: dict[int, Decimal], day: date, today: date, benchmark) -> list:
    """Snapshots of these accounts for `day`: positions now, minus the trades after the day's end (a fixed number
    of queries, whatever the batch's size)."""
    end = day_start(day + timedelta(days=1))
    positions: dict[tuple[int, int], int] = defaultdict(int)
    last_fill: dict[tuple[int, int], Decimal] = {}
    for account_id, stock_id, quantity, fill in Holding.objects.filter(
        account_id__in=account_ids, quantity__gt=0
    ).values_list("account_id", "stock_id", "quantity", "last_fill_price"):
        positions[account_id, stock_id] += quantity
        if fill is not None:
            last_fill[account_id, stock_id] = fill
    later = (
        Transaction.objects.filter(account_id__in=account_ids, transaction_type__in=TRADE_TYPES, created_at__gte=end)
        .values("account_id", "stock_id")
        .annotate(
            bought=Sum("quantity", filter=Q(transaction_type=TransactionType.BUY), default=0),
            sold=Sum("quantity", filter=Q(transaction_type=TransactionType.SELL), default=0),
        )
        .order_by()
    )
    for row in later:
        positions[row["account_id"], row["stock_id"]] += row["sold"] - row["bought"]
    flows = dict(
        Transaction.objects.filter(
            account_id__in=account_ids,
            transaction_type__in=FLOW_TYPES,
            created_at__gte=day_start(day),
            created_at__lt=end,
        )
        .values("account_id")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("account_id", "total")
    )
    prices = _prices_on({stock_id for (_, stock_id), qty in positions.items() if qty > 0}, day, today, end)
    market_values: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for (account_id, stock_id), quantity in positions.items():
        if quantity > 0:
            price = prices.get(stock_id, last_fill.get((account_id, stock_id), ZERO))
            market_values[account_id] += price * quantity
    return [
        EquitySnapshot(
            account_id=account_id,
            date=day,
            cash=cash_at[account_id],
            market_value=market_values[account_id],
            equity=cash_at[account_id] + market_values[account_id],
            net_flow=flows.get(account_id, ZERO),
            benchmark_close=benchmark,
        )
        for account_id in account_ids
    ]


def snapshots_take(
    *, day: date, replace: bool = True, account_ids: list[int] | None = None, batch_size: int = SNAPSHOT_BATCH_SIZE
) -> int:
    """Write each account's snapshot of `day` (KST): accounts open then, or closed during or after it, that had a
    ledger row by its end. Cash comes from the ledger, holdings from now minus later trades, prices from the live
    store (today) or candles. `replace` overwrites that day's rows (idempotent); otherwise existing rows are kept
    (backfill). Queries: a fixed number per batch of `batch_size` accounts. Returns the number of rows written."""
    written = 0
    for rows in snapshots_compute(day=day, account_ids=account_ids, batch_size=batch_size):
        if replace:
            EquitySnapshot.objects.bulk_create(
                rows,
                update_conflicts=True,
                # MySQL/MariaDB upsert on any unique key (ON DUPLICATE KEY) and refuse a named target.
                unique_fields=["account", "date"]
                if connection.features.supports_update_conflicts_with_target
                else None,
                update_fields=["equity", "cash", "market_value", "net_flow", "benchmark_close", "updated_at"],
            )
        else:
            EquitySnapshot.objects.bulk_create(rows, ignore_conflicts=True)
        written += len(rows)
    return written


def snapshots_compute(
    *, day: date, account_ids: list[int] | None = None, batch_size: int = SNAPSHOT_BATCH_SIZE
) -> Iterator[list[EquitySnapshot]]:
    """Each account's snapshot of `day` as `snapshots_take` writes it, unsaved, a batch at a time: for today, the
    value at live prices (what league standings show through the day, docs/architecture.md §16)."""
    today = seoul_today(timezone.now())
    end = day_start(day + timedelta(days=1))
    benchmark = benchmark_close_now(today) if day == today else _benchmark_close_on(day)
    last_cash = Transaction.objects.filter(account=OuterRef("pk"), created_at__lt=end).order_by("-created_at", "-id")
    accounts = (
        Account.objects.filter(Q(is_open=True) | Q(closed_at__gte=day_start(day)), opened_at__lt=end)
        .annotate(cash_at=Subquery(last_cash.values("cash_balance_after")[:1]))
        .filter(cash_at__isnull=False)
        .order_by("pk")
    )
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
    after = 0
    while True:
        batch = list(accounts.filter(pk__gt=after).values_list("pk", "cash_at")[:batch_size])
        if not batch:
            return
        after = batch[-1][0]
        cash_at = dict(batch)
        yield _snapshot_batch(list(cash_at), cash_at, day, today, benchmark)


def snapshots_backfill(*, first: date | None = None, last: date | None = None) -> int:
    """Rebuild missing days from the ledger and candles, from the first ledger row (or `first`) to yesterday (or
    `last`); rows that exist are kept. Returns the number of rows offered."""
    last = last or seoul_today(timezone.now()) - timedelta(days=1)
    if first is None:
        first_row = Transaction.objects.aggregate(first=Min("created_at"))["first"]
        if first_row is None:
            return 0
        first = seoul_today(first_row)
    return sum(snapshots_take(day=day, replace=False) for day in snapshot_days_between(first, last))


def snapshots_seed_demo(*, account: Account, days: int, seed: int = 16) -> int:
    """A few weeks of plausible history for a demo account that has none: a random walk of daily returns
    (~0.05 % ± 1.2 %) from the opening deposit to today's equity, and KOSPI beside it. The account's opening
    (opened_at and its opening DEPOSIT row's time) moves to the first seeded day so the chain is its own.
    Demo data only; moves no money. Returns the number of rows written (0 when the account has history)."""
    if account.snapshots.exists():
        return 0
    today = seoul_today(timezone.now())
    seeded = snapshot_days_between(today - timedelta(days=days * 2 + 10), today - timedelta(days=1))[-days:]
    if not seeded:
        return 0
    opening = account.transactions.order_by("created_at", "id").first()
    start_equity = opening.amount if opening is not None and opening.amount > 0 else account.starting_cash
    end_equity = portfolio_summary(account=account).equity
    rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
    steps = [rng.gauss(0.0005, 0.012) for _ in seeded]
    # A bridge: the walk starts at the opening deposit and ends at today's equity.
    drift = (math.log(float(end_equity) / float(start_equity)) - sum(steps[1:])) / max(len(steps) - 1, 1)
    kospi = float(_benchmark_close_on(today) or 2500)
    kospi_steps = [0.6 * s + rng.gauss(0, 0.006) for s in steps]
    kospi_levels = []
    for step in reversed(kospi_steps):
        kospi_levels.append(kospi)
        kospi /= math.exp(step)
    kospi_levels.reverse()
    # KOSPI is one market: days another demo account recorded keep their closes (a second demo user's chart and a
    # league's KOSPI line agree with the first's).
    recorded = dict(
        EquitySnapshot.objects.filter(date__in=seeded, benchmark_close__isnull=False)
        .values_list("date", "benchmark_close")
        .distinct()
    )
    rows, level = [], float(start_equity)
    for index, (day, step) in enumerate(zip(seeded, steps, strict=True)):
        if index:
            level *= math.exp(step + drift)
        equity = Decimal(round(level))
        rows.append(
            EquitySnapshot(
                account=account,
                date=day,
                equity=equity,
                cash=equity,
                market_value=ZERO,
                net_flow=start_equity if index == 0 else ZERO,
                benchmark_close=recorded.get(day, Decimal(f"{kospi_levels[index]:.2f}")),
            )
        )
    EquitySnapshot.objects.bulk_create(rows)
    opened_at = day_start(seeded[0]) + timedelta(hours=9)
    Account.objects.filter(pk=account.pk).update(opened_at=opened_at)
    if opening is not None:
        Transaction.objects.filter(pk=opening.pk).update(created_at=opened_at)
    return len(rows)
