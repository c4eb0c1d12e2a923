"""Performance analytics (docs/architecture.md §13): every metric against empyrical on the same daily series,
deposits and withdrawals that are never profit, a reset that starts a new chain, trade statistics, the API and its
bad input."""

import math
import random
from datetime import date, timedelta
from decimal import Decimal

import empyrical
import pandas as pd
import pytest
import time_machine
from django.core.management import call_command

from portfolio import analytics
from portfolio.analytics import day_start, equity_series, snapshots_take
from portfolio.models import Account, EquitySnapshot, Transaction
from portfolio.services import account_deposit, account_withdraw, holding_apply_buy, holding_apply_sell
from portfolio.unit_of_work import AccountUnitOfWork
from tests.factories import UserFactory, open_account_for
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 2)


def at(day: date, hour: int = 16):
    return day_start(day) + timedelta(hours=hour)


def buy(account, stock, quantity, price, commission=0):
    with AccountUnitOfWork.of_account(account_id=account.pk) as work:
        holding_apply_buy(work, stock=stock, quantity=quantity, price=Decimal(price), commission=Decimal(commission))


def sell(account, stock, quantity, price, commission=0, tax=0):
    with AccountUnitOfWork.of_account(account_id=account.pk) as work:
        return holding_apply_sell(
            work, stock=stock, quantity=quantity, price=Decimal(price), commission=Decimal(commission),
            tax=Decimal(tax),
        )  # fmt: skip


# --- the metrics against empyrical ----------------------------------------------------------------------------------


def _series(returns):
    return pd.Series(returns, index=pd.bdate_range("2026-01-05", periods=len(returns)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_metric_matches_empyrical_on_the_same_daily_series(seed, settings):
    rng = random.Random(seed)
    returns = [rng.gauss(0.0004, 0.015) for _ in range(120)]
    series = _series(returns)
    assert analytics.cumulative_return(returns) == pytest.approx(empyrical.cum_returns_final(series), rel=1e-9)
    assert analytics.annualized_return(returns) == pytest.approx(empyrical.annual_return(series), rel=1e-9)
    assert analytics.max_drawdown(returns) == pytest.approx(empyrical.max_drawdown(series), rel=1e-9)
    assert analytics.annualized_volatility(returns) == pytest.approx(empyrical.annual_volatility(series), rel=1e-9)
    assert analytics.sharpe_ratio(returns) == pytest.approx(empyrical.sharpe_ratio(series), rel=1e-9)
    settings.ANALYTICS_RISK_FREE_RATE = Decimal("0.035")
    rf = analytics.risk_free_daily()
    assert rf == pytest.approx(0.035 / 252)
    assert analytics.sharpe_ratio(returns, rf) == pytest.approx(empyrical.sharpe_ratio(series, risk_free=rf), rel=1e-9)


def test_a_drawdown_from_the_very_first_day_counts_from_the_starting_value():
    returns = [-0.1, 0.05, -0.2, 0.3]
    assert analytics.max_drawdown(returns) == pytest.approx(empyrical.max_drawdown(_series(returns)), rel=1e-12)
    assert analytics.max_drawdown(returns) == pytest.approx(0.9 * 1.05 * 0.8 - 1)


def test_undefined_ratios_are_none_never_zero():
    assert analytics.cumulative_return([]) is None
    assert analytics.annualized_return([]) is None
    assert analytics.max_drawdown([]) is None
    assert analytics.annualized_volatility([0.01]) is None
    assert analytics.sharpe_ratio([0.01]) is None
    assert analytics.sharpe_ratio([0.0, 0.0, 0.0]) is None  # zero volatility
    stats = analytics.trade_statistics([])
    assert (stats.sells, stats.win_rate_pct, stats.profit_factor, stats.best, stats.average_loss) == (
        0,
        None,
        None,
        None,
        None,
    )
    only_wins = analytics.trade_statistics([Decimal(5), Decimal(7)])
    assert only_wins.profit_factor is None  # no losses: undefined, not infinite
    assert only_wins.win_rate_pct == 100


@pytest.fixture
def auth_client_for():
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        client.force_authenticate(user=user)
        return client

    return make


# --- the chain from snapshots -----------------------------------------------------------------------------------


@pytest.fixture
def trader(samsung, store_price):
    """An account opened on Monday, 100 shares at 50,000; a snapshot each evening as the price moves."""

    def day(n, price, *, deposit=0, withdraw=0):
        when = at(MONDAY + timedelta(days=n))
        with time_machine.travel(when, tick=False):
            if deposit:
                account_deposit(user=user, amount=Decimal(deposit))
            if withdraw:
                account_withdraw(user=user, amount=Decimal(withdraw))
            store_price("A005930", price)
            snapshots_take(day=MONDAY + timedelta(days=n))

    with time_machine.travel(at(MONDAY, 9), tick=False):
        user = UserFactory()
        account = open_account_for(user)
        buy(account, samsung, 100, 50_000)
    day.user, day.account = user, account
    return day


def test_a_deposit_or_a_withdrawal_changes_no_return(trader, auth_client_for):
    trader(0, 50_000)  # 10,000,000: 5,000,000 cash + 5,000,000 shares
    trader(1, 55_000)  # 10,500,000: +5 %
    trader(2, 55_000, deposit=1_000_000)  # 11,500,000: the deposit is no profit, 0 %
    trader(3, 60_500)  # 6,000,000 + 6,050,000: +4.78 %
    trader(4, 60_500, withdraw=2_000_000)  # 10,050,000: the withdrawal is no loss, 0 %
    account = trader.account
    Account.objects.filter(pk=account.pk).update(is_open=None, closed_at=at(MONDAY + timedelta(days=5)))
    series = equity_series(account=Account.objects.get(pk=account.pk), period="ALL")
    assert [p.equity for p in series.points] == [10_000_000, 10_500_000, 11_500_000, 12_050_000, 10_050_000]
    assert [p.net_flow for p in series.points] == [10_000_000, 0, 1_000_000, 0, -2_000_000]
    by_hand = [0.0, 0.05, 0.0, 12_050_000 / 11_500_000 - 1, 0.0]
    assert series.returns == pytest.approx(by_hand, abs=1e-12)
    twr = (1.05 * 12_050_000 / 11_500_000 - 1) * 100

    client = auth_client_for(trader.user)
    body = client.get(f"/api/v1/portfolio/analytics?period=ALL&account_id={account.pk}").json()
    assert body["time_weighted_return_pct"] == pytest.approx(twr, abs=1e-4)
    assert body["net_flow"] == 10_000_000 + 1_000_000 - 2_000_000
    assert body["starting_equity"] == 0
    assert body["profit_loss"] == 10_050_000 - 9_000_000  # the price gain only: 100 shares × 10,500
    returns = _series(by_hand)
    assert body["volatility_pct"] == pytest.approx(empyrical.annual_volatility(returns) * 100, abs=1e-4)
    assert body["sharpe_ratio"] == pytest.approx(empyrical.sharpe_ratio(returns), abs=1e-4)
    assert body["max_drawdown_pct"] == pytest.approx(empyrical.max_drawdown(returns) * 100, abs=1e-4)
    assert body["annualized_return_pct"] == pytest.approx(empyrical.annual_return(returns) * 100, rel=1e-6)
    history = client.get(f"/api/v1/portfolio/history?period=ALL&account_id={account.pk}").json()
    assert [p["return_pct"] for p in history["points"]] == pytest.approx(
        [0, 5, 5, (1.05 * 12_050_000 / 11_500_000 - 1) * 100, twr], abs=1e-4
    )
    assert history["base_value"] == 10_000_000


def test_a_period_starts_from_the_day_before_it_and_ends_today_at_live_prices(trader, auth_client_for, store_price):
    for n, price in enumerate([50_000, 51_000, 52_000, 53_000, 54_000]):
        trader(n, price)
    store_price("A005930", 60_000)  # now
    client = auth_client_for(trader.user)
    with time_machine.travel(at(MONDAY + timedelta(days=9), 10), tick=False):  # Wednesday 11-11: 1W is after 11-04
        store_price("A005930", 60_000)
        body = client.get("/api/v1/portfolio/history?period=1W").json()
        analytics_body = client.get("/api/v1/portfolio/analytics?period=1W").json()
    dates = [p["date"] for p in body["points"]]
    assert dates == [str(MONDAY + timedelta(days=n)) for n in (3, 4, 9)]
    assert body["base_value"] == 5_000_000 + 100 * 52_000  # 11-04's close
    assert body["points"][-1]["equity"] == 5_000_000 + 100 * 60_000  # today's live point
    assert body["points"][-1]["return_pct"] == pytest.approx((11_000_000 / 10_200_000 - 1) * 100, abs=1e-4)
    assert analytics_body["start_date"] == str(MONDAY + timedelta(days=3))
    assert analytics_body["starting_equity"] == 10_200_000
    assert analytics_body["profit_loss"] == 800_000


def test_kospi_is_the_benchmark_over_the_same_days(trader, auth_client_for):
    from marketdata.models import MarketIndex, MarketIndexDay

    kospi = MarketIndex.objects.get_or_create(code="KOSPI", defaults={"name": "코스피", "name_en": "KOSPI"})[0]
    for n, close in enumerate([2500, 2550, 2450]):
        MarketIndexDay.objects.create(
            index=kospi, date=MONDAY + timedelta(days=n - 1), open=close, high=close, low=close, close=close
        )
    trader(0, 50_000)
    trader(1, 51_000)
    account = trader.account
    Account.objects.filter(pk=account.pk).update(is_open=None, closed_at=at(MONDAY + timedelta(days=2)))
    body = auth_client_for(trader.user).get(f"/api/v1/portfolio/analytics?period=ALL&account_id={account.pk}").json()
    # Sunday's close (2500) is the base of the account's first day; Tuesday closed at 2450.
    assert body["benchmark"] == {"code": "KOSPI", "return_pct": pytest.approx(-2.0, abs=1e-4)}
    assert body["time_weighted_return_pct"] == pytest.approx(1.0, abs=1e-4)
    assert body["excess_return_pct"] == pytest.approx(3.0, abs=1e-4)


def test_a_reset_starts_a_new_chain_and_the_old_one_stays_readable(trader, auth_client_for):
    trader(0, 50_000)
    trader(1, 40_000)  # −10 %
    old = trader.account
    with time_machine.travel(at(MONDAY + timedelta(days=40)), tick=False):
        from portfolio.services import account_reset

        new = account_reset(user=trader.user)
    client = auth_client_for(trader.user)
    current = client.get("/api/v1/portfolio/history?period=ALL").json()
    assert current["account_id"] == new.pk
    assert [p["return_pct"] for p in current["points"]] == [0]  # the new account's first (live) day only
    past = client.get(f"/api/v1/portfolio/history?period=ALL&account_id={old.pk}").json()
    assert [p["return_pct"] for p in past["points"]] == pytest.approx([0, -10], abs=1e-4)
    accounts = client.get("/api/v1/portfolio/accounts").json()["results"]
    assert [(a["account_id"], a["is_open"]) for a in accounts] == [(new.pk, True), (old.pk, False)]
    assert accounts[0]["final_equity"] is None
    assert accounts[1]["final_equity"] == 5_000_000 + 100 * 50_000  # holdings at their last fill price
    assert accounts[1]["closed_at"] is not None


# --- trades ---------------------------------------------------------------------------------------------------------


def test_trade_statistics_come_from_sell_executions_after_their_fees(user, samsung, hynix, auth_client, store_price):
    account = Account.objects.get(user=user)
    buy(account, samsung, 10, 70_000, commission=105)
    buy(account, hynix, 4, 200_000, commission=120)
    win = sell(account, samsung, 5, 80_000, commission=60, tax=800)
    loss = sell(account, samsung, 5, 60_000, commission=45, tax=600)
    flat = sell(account, hynix, 2, 200_060, commission=60, tax=800)  # the fees eat the gain
    store_price("A005930", 70_000)
    store_price("A000660", 200_000)
    body = auth_client.get("/api/v1/portfolio/analytics?period=1M").json()
    realized = [int(win.realized_pnl), int(loss.realized_pnl), int(flat.realized_pnl)]
    assert realized[0] > 0 > realized[1]
    assert realized[2] <= 0
    trades = body["trades"]
    wins = [r for r in realized if r > 0]
    losses = [r for r in realized if r < 0]
    assert (trades["sells"], trades["wins"], trades["losses"]) == (3, len(wins), len(losses))
    assert trades["win_rate_pct"] == pytest.approx(len(wins) / 3 * 100, abs=1e-4)
    assert trades["profit_factor"] == pytest.approx(sum(wins) / -sum(losses), abs=1e-4)
    assert trades["best"] == max(realized)
    assert trades["worst"] == min(realized)
    assert trades["average_win"] == round(sum(wins) / len(wins))
    assert body["realized_pnl"] == sum(realized)
    assert body["fees_paid"] == 105 + 120 + 60 + 45 + 60
    assert body["taxes_paid"] == 800 + 600 + 800
    assert body["turnover"] == 700_000 + 800_000 + 400_000 + 300_000 + 400_120
    assert body["by_stock"] == [
        {"stock_code": "A000660", "realized_pnl": realized[2], "fees": 180, "taxes": 800, "trades": 2},
        {"stock_code": "A005930", "realized_pnl": realized[0] + realized[1], "fees": 210, "taxes": 1400, "trades": 3},
    ]
    csv = auth_client.get("/api/v1/portfolio/analytics?period=1M&format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "stock_code,realized_pnl,fees,taxes,trades"
    assert lines[1] == f"A000660,{realized[2]},180,800,2"


def test_an_account_without_snapshots_answers_its_live_point(auth_client, user):
    body = auth_client.get("/api/v1/portfolio/history").json()
    assert body["period"] == "1M"
    assert len(body["points"]) == 1
    assert body["points"][0]["equity"] == 10_000_000
    assert body["points"][0]["return_pct"] == 0
    analytics_body = auth_client.get("/api/v1/portfolio/analytics").json()
    assert analytics_body["volatility_pct"] is None
    assert analytics_body["sharpe_ratio"] is None
    assert analytics_body["trades"]["win_rate_pct"] is None
    csv = auth_client.get("/api/v1/portfolio/history?format=csv")
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "date,equity,net_flow,return_pct,benchmark_return_pct"
    assert lines[1].split(",")[1:4] == ["10000000", "10000000", "0.0"]
    assert not EquitySnapshot.objects.exists()  # reading writes nothing


@pytest.mark.parametrize("path", ["history", "analytics"])
@pytest.mark.parametrize("query", ["period=5Y", "period=1D", "account_id=abc", "account_id=0", "format=xml"])
def test_bad_input_is_400_and_writes_nothing(auth_client, path, query):
    before = (EquitySnapshot.objects.count(), Transaction.objects.count())
    assert_error(auth_client.get(f"/api/v1/portfolio/{path}?{query}"), 400, "validation_error")
    assert (EquitySnapshot.objects.count(), Transaction.objects.count()) == before


@pytest.mark.parametrize("path", ["history", "analytics"])
def test_another_users_account_is_404(auth_client, path):
    stranger = open_account_for(UserFactory())
    EquitySnapshot.objects.create(account=stranger, date=MONDAY, equity=1, cash=1, market_value=0)
    assert_error(auth_client.get(f"/api/v1/portfolio/{path}?account_id={stranger.pk}"), 404, "account_not_found")
    assert_error(auth_client.get(f"/api/v1/portfolio/{path}?account_id=999999999"), 404, "account_not_found")


def test_the_performance_endpoints_need_authentication(api_client):
    for path in ("history", "analytics", "accounts"):
        assert api_client.get(f"/api/v1/portfolio/{path}").status_code == 401


def test_seeded_history_gives_every_metric(auth_client, user):
    call_command("snapshot_accounts", "--seed-demo", user.username, "--days", "20")
    body = auth_client.get("/api/v1/portfolio/analytics?period=3M").json()
    for key in ("time_weighted_return_pct", "annualized_return_pct", "max_drawdown_pct", "volatility_pct"):
        assert isinstance(body[key], float), key
        assert math.isfinite(body[key]), key
    assert body["sharpe_ratio"] is not None
