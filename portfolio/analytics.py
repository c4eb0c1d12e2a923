"""Performance analytics (DESIGN.md §13): equity snapshots, time-weighted return, risk, trade statistics, KOSPI.

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

import math
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, Count, F, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from marketdata.calendar import SEOUL, is_trading_day, seoul_today
from marketdata.indices import latest_index_values
from marketdata.models import Candle, MarketIndexDay, Stock
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


def annualized_volatility(returns: list[float]) -> float | None:
    if len(returns) < 2:
        return None
    return statistics.stdev(returns) * math.sqrt(TRADING_DAYS_PER_YEAR)


def risk_free_daily() -> float:
    return float(settings.ANALYTICS_RISK_FREE_RATE) / TRADING_DAYS_PER_YEAR


def sharpe_ratio(returns: list[float], risk_free: float = 0.0) -> float | None:
    """Annualized; None with fewer than two days or (numerically) zero volatility."""
    if len(returns) < 2:
        return None
    excess = [r - risk_free for r in returns]
    deviation = statistics.stdev(excess)
    if deviation < 1e-12:
        return None
    return _finite(statistics.fmean(excess) / deviation * math.sqrt(TRADING_DAYS_PER_YEAR))


# --- the equity series of one account ------------------------------------------------------------------------


@dataclass(frozen=True)
class EquityPoint:
    date: date
    equity: Decimal
    net_flow: Decimal
    benchmark_close: Decimal | None
    cash: Decimal = ZERO
    market_value: Decimal = ZERO


@dataclass
class EquitySeries:
    """The period's points (the last one today's live value for an open account) and the point before them."""

    account: Account
    period: str
    base: EquityPoint | None  # the last snapshot before the period; None when the account started inside it
    points: list[EquityPoint]
    benchmark_base: Decimal | None
    returns: list[float] = field(init=False)

    def __post_init__(self):
        self.returns = []
        previous = self.base.equity if self.base else None
        for point in self.points:
            self.returns.append(daily_return(previous, point.equity, point.net_flow))
            previous = point.equity

    @property
    def base_value(self) -> Decimal | None:
        """The equity the chain starts from: the day before the period, or what the account's first day paid in."""
        if self.base is not None:
            return self.base.equity
        if not self.points:
            return None
        first = self.points[0]
        return first.net_flow if first.net_flow > 0 else first.equity

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


def _benchmark_close_on(day: date) -> Decimal | None:
    """KOSPI's close of `day` or the last one before it (the shipped daily history)."""
    return (
        MarketIndexDay.objects.filter(index__code=BENCHMARK_CODE, date__lte=day)
        .order_by("-date")
        .values_list("close", flat=True)
        .first()
    )


def benchmark_close_now(today: date) -> Decimal | None:
    """KOSPI now: the live value (Redis) when it is today's, else the last daily close."""
    quote = latest_index_values([BENCHMARK_CODE]).get(BENCHMARK_CODE)
    if quote is not None and seoul_today(quote.received_at) == today:
        return quote.price
    return _benchmark_close_on(today)


def _live_point(account: Account, today: date) -> EquityPoint:
    """Today at live prices, valued like the portfolio page (a fresh quote, else the last fill price): two queries
    and one Redis round trip."""
    holdings = list(account.holdings.filter(quantity__gt=0).values_list("stock__code", "quantity", "last_fill_price"))
    quotes = latest_prices(code for code, _, _ in holdings)
    market_value = ZERO
    for code, quantity, last_fill in holdings:
        quote = quotes.get(code)
        price = quote.price if quote is not None and quote.is_fresh() else last_fill
        market_value += (price or ZERO) * quantity
    flow = account.transactions.filter(transaction_type__in=FLOW_TYPES, created_at__gte=day_start(today)).aggregate(
        total=Sum("amount")
    )["total"]
    return EquityPoint(
        date=today,
        equity=account.cash + market_value,
        net_flow=flow or ZERO,
        benchmark_close=benchmark_close_now(today),
        cash=account.cash,
        market_value=market_value,
    )


def _points(snapshots) -> list[EquityPoint]:
    """Whole-won columns read as integers: a Decimal converter per value cost more than the rest of a year's read."""
    rows = snapshots.values_list(
        "date", Cast("equity", BigIntegerField()), Cast("net_flow", BigIntegerField()), "benchmark_close"
    )
    return [EquityPoint(day, Decimal(equity), Decimal(flow), close) for day, equity, flow, close in rows]


def equity_series(*, account: Account, period: str, today: date | None = None) -> EquitySeries:
    """The account's snapshots in the period plus, for an open account, today valued at live prices."""
    today = today or seoul_today(timezone.now())
    days = PERIOD_DAYS[period]
    snapshots = account.snapshots.filter(date__lte=today)
    base = None
    if days is not None:
        start = today - timedelta(days=days)
        # One read usually finds the day before the period too (a trading day is rarely two weeks away).
        points = _points(snapshots.filter(date__gt=start - timedelta(days=14)).order_by("date"))
        before = [p for p in points if p.date <= start]
        if not before:
            before = _points(snapshots.filter(date__lte=start).order_by("-date")[:1])
        base = before[-1] if before else None
        points = [p for p in points if p.date > start]
    else:
        points = _points(snapshots.order_by("date"))
    if account.is_open:
        points = [p for p in points if p.date != today]
        points.append(_live_point(account, today))
    if base is not None:
        benchmark_base = base.benchmark_close
    elif points:
        before = points[0].date - timedelta(days=1)
        benchmark_base = _benchmark_close_on(before) or points[0].benchmark_close
    else:
        benchmark_base = None
    return EquitySeries(account=account, period=period, base=base, points=points, benchmark_base=benchmark_base)


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


def _by_stock(rows) -> list[dict]:
    """Per stock: realized P&L of its sells, fees, taxes, executions and traded value, summed by the database."""
    won = BigIntegerField()
    sells = Q(transaction_type=TransactionType.SELL)
    return list(
        rows.values(stock_code=F("stock__code"))
        .annotate(
            realized_pnl=Cast(Coalesce(Sum("realized_pnl", filter=sells), ZERO), won),
            fees=Cast(Sum("commission"), won),
            taxes=Cast(Sum("tax"), won),
            trades=Count("id"),
            traded_value=Cast(Sum(F("price") * F("quantity")), won),
        )
        .order_by("stock_code")
    )


def analytics_data(series: EquitySeries) -> dict:
    """The body of GET portfolio/analytics: every §13 metric over the series' days and the ledger's trades."""
    returns = series.returns
    first, last = (series.points[0], series.points[-1]) if series.points else (None, None)
    starting = series.base.equity if series.base else (ZERO if first else None)
    net_flow = sum((p.net_flow for p in series.points), ZERO)
    twr = cumulative_return(returns)
    benchmark = series.benchmark_pct(last) if last else None
    trade_rows = _trade_rows(series)
    realized = [
        Decimal(pnl)
        for pnl in trade_rows.filter(transaction_type=TransactionType.SELL).values_list(
            Cast(Coalesce("realized_pnl", ZERO), BigIntegerField()), flat=True
        )
    ]
    by_stock = _by_stock(trade_rows)
    fees = Decimal(sum(row["fees"] for row in by_stock))
    taxes = Decimal(sum(row["taxes"] for row in by_stock))
    turnover = Decimal(sum(row.pop("traded_value") or 0 for row in by_stock))
    trades = trade_statistics(realized)
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
        "trades": trades.__dict__,
        "realized_pnl": sum(realized, ZERO),
        "fees_paid": fees,
        "taxes_paid": taxes,
        "turnover": turnover,
        "by_stock": by_stock,
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
    written, after = 0, 0
    while True:
        batch = list(accounts.filter(pk__gt=after).values_list("pk", "cash_at")[:batch_size])
        if not batch:
            return written
        after = batch[-1][0]
        cash_at = dict(batch)
        rows = _snapshot_batch(list(cash_at), cash_at, day, today, benchmark)
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
                benchmark_close=Decimal(f"{kospi_levels[index]:.2f}"),
            )
        )
    EquitySnapshot.objects.bulk_create(rows)
    opened_at = day_start(seeded[0]) + timedelta(hours=9)
    Account.objects.filter(pk=account.pk).update(opened_at=opened_at)
    if opening is not None:
        Transaction.objects.filter(pk=opening.pk).update(created_at=opened_at)
    return len(rows)
