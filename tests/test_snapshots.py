"""Equity snapshots (docs/architecture.md §13): one row per account and KST day, idempotent, a bounded number of
queries,
rebuilt from the ledger and candles, the beat task and the demo's seeded history."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketdata.calendar import seoul_today
from marketdata.models import Candle
from portfolio.analytics import day_start, snapshots_take
from portfolio.models import Account, EquitySnapshot, Holding
from portfolio.services import account_deposit, holding_apply_buy, holding_apply_sell
from portfolio.tasks import snapshot_accounts
from portfolio.unit_of_work import AccountUnitOfWork
from tests.factories import UserFactory, open_account_for

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 2)


def kst(day: date, hour: int = 16) -> datetime:
    return day_start(day) + timedelta(hours=hour)


def kst_today() -> date:
    return seoul_today(timezone.now())


def buy(account, stock, quantity, price):
    with AccountUnitOfWork.of_account(account_id=account.pk) as work:
        holding_apply_buy(work, stock=stock, quantity=quantity, price=Decimal(price), commission=Decimal(0))


def sell(account, stock, quantity, price):
    with AccountUnitOfWork.of_account(account_id=account.pk) as work:
        holding_apply_sell(
            work, stock=stock, quantity=quantity, price=Decimal(price), commission=Decimal(0), tax=Decimal(0)
        )


def test_a_second_run_replaces_the_days_row(user, samsung, store_price):
    account = Account.objects.get(user=user)
    buy(account, samsung, 10, 70_000)
    store_price("A005930", 70_000)
    assert snapshots_take(day=kst_today()) == 1
    store_price("A005930", 80_000)
    assert snapshots_take(day=kst_today()) == 1
    rows = list(EquitySnapshot.objects.filter(account=account))
    assert len(rows) == 1
    assert rows[0].market_value == 800_000
    assert rows[0].cash == 10_000_000 - 700_000
    assert rows[0].equity == rows[0].cash + rows[0].market_value
    assert rows[0].net_flow == 10_000_000  # the opening deposit was today


def test_the_number_of_queries_does_not_grow_with_the_accounts(samsung, hynix, store_price):
    store_price("A005930", 70_000)
    store_price("A000660", 200_000)
    users = []

    def add_accounts(count):
        for _ in range(count):
            user = UserFactory()
            users.append(user)
            account = open_account_for(user)
            buy(account, samsung, 3, 70_000)
            buy(account, hynix, 1, 200_000)

    today = kst_today()
    add_accounts(3)
    with CaptureQueriesContext(connection) as few:
        assert snapshots_take(day=today) == 3
    add_accounts(12)
    with CaptureQueriesContext(connection) as many:
        assert snapshots_take(day=today) == 15
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as batched:
        assert snapshots_take(day=today, batch_size=5) == 15
    assert len(batched) <= len(few) * 3 + 1  # a fixed number per batch
    assert EquitySnapshot.objects.filter(date=today).count() == 15
    assert all(s.market_value == 3 * 70_000 + 200_000 for s in EquitySnapshot.objects.all())


def test_backfill_rebuilds_past_days_from_the_ledger_and_candles(samsung):
    with time_machine.travel(kst(MONDAY, 9), tick=False):
        user = UserFactory()
        account = open_account_for(user)
        buy(account, samsung, 10, 50_000)
    with time_machine.travel(kst(MONDAY + timedelta(days=2), 10), tick=False):
        sell(account, samsung, 4, 60_000)
        account_deposit(user=user, amount=Decimal(1_000_000))
    # Monday's last candle closes at 52,000; no candle on Tuesday (its last known price is Monday's);
    # Wednesday's last candle closes at 61,000.
    for day, closes in ((MONDAY, [51_000, 52_000]), (MONDAY + timedelta(days=2), [59_000, 61_000])):
        for minute, close in enumerate(closes):
            Candle.objects.create(
                stock=samsung, start=kst(day, 10) + timedelta(minutes=minute), open=close, high=close, low=close,
                close=close, volume=1,
            )  # fmt: skip
    with time_machine.travel(kst(MONDAY + timedelta(days=5), 12), tick=False):
        call_command("snapshot_accounts", "--backfill", "--from", "2026-11-01")
        call_command("snapshot_accounts", "--backfill", "--from", "2026-11-01")  # existing rows kept, none doubled
    rows = {s.date: s for s in EquitySnapshot.objects.filter(account=account)}
    assert sorted(rows) == [MONDAY + timedelta(days=n) for n in range(5)]  # from the account's first day
    monday, tuesday, wednesday = rows[MONDAY], rows[MONDAY + timedelta(days=1)], rows[MONDAY + timedelta(days=2)]
    assert (monday.cash, monday.market_value, monday.net_flow) == (9_500_000, 520_000, 10_000_000)
    assert (tuesday.market_value, tuesday.net_flow) == (520_000, 0)
    assert wednesday.cash == 9_500_000 + 240_000 + 1_000_000
    assert (wednesday.market_value, wednesday.net_flow) == (6 * 61_000, 1_000_000)
    assert wednesday.equity == wednesday.cash + wednesday.market_value


def test_accounts_that_did_not_exist_yet_get_no_snapshot(samsung):
    with time_machine.travel(kst(MONDAY + timedelta(days=3), 9), tick=False):
        open_account_for(UserFactory())
    assert snapshots_take(day=MONDAY) == 0
    assert not EquitySnapshot.objects.exists()


def test_the_beat_task_snapshots_yesterday_when_trading_runs_around_the_clock(settings, user):
    settings.MARKET_HOURS_ENFORCED = False
    today = kst_today()
    with time_machine.travel(kst(today + timedelta(days=1), 0) + timedelta(minutes=5), tick=False):
        assert snapshot_accounts() == 1
    snapshot = EquitySnapshot.objects.get()
    assert snapshot.date == today  # the day that just ended
    assert snapshot.equity == 10_000_000


def test_the_beat_task_skips_a_krx_holiday_when_hours_are_enforced(settings):
    settings.MARKET_HOURS_ENFORCED = True
    with time_machine.travel(kst(date(2026, 12, 28), 9), tick=False):
        open_account_for(UserFactory())
    with time_machine.travel(kst(date(2026, 12, 31), 15) + timedelta(minutes=40), tick=False):  # year-end closure
        assert snapshot_accounts() == 0
    assert not EquitySnapshot.objects.exists()
    with time_machine.travel(kst(date(2026, 12, 30), 15) + timedelta(minutes=40), tick=False):
        assert snapshot_accounts() == 1
    assert EquitySnapshot.objects.get().date == date(2026, 12, 30)


def test_the_command_refuses_bad_dates_and_writes_nothing(user):
    with pytest.raises(CommandError):
        call_command("snapshot_accounts", "--date", "2026-13-01")
    with pytest.raises(CommandError):
        call_command("snapshot_accounts", "--date", "2999-01-01")
    with pytest.raises(CommandError):
        call_command("snapshot_accounts", "--seed-demo", "nobody")
    assert not EquitySnapshot.objects.exists()


def test_the_demo_seed_writes_a_curve_that_ends_at_todays_equity(jwt_client, user, samsung, store_price):
    account = Account.objects.get(user=user)
    buy(account, samsung, 10, 70_000)
    store_price("A005930", 75_000)
    call_command("snapshot_accounts", "--seed-demo", user.username, "--days", "15")
    rows = list(EquitySnapshot.objects.filter(account=account).order_by("date"))
    assert len(rows) == 15
    assert rows[0].equity == rows[0].net_flow == 10_000_000
    assert rows[-1].equity == 10_000_000 - 700_000 + 750_000  # the bridge ends at today's live equity
    assert all(r.net_flow == 0 for r in rows[1:])
    assert len({r.equity for r in rows}) > 5  # a curve, not a line
    body = jwt_client.get("/api/v1/portfolio/history?period=ALL").json()
    assert len(body["points"]) == 16
    assert body["points"][-1]["net_flow"] == 0  # the opening deposit moved to the first seeded day
    assert abs(body["points"][-1]["return_pct"] - body["points"][-2]["return_pct"]) < 1e-6
    call_command("snapshot_accounts", "--seed-demo", user.username)  # has history: writes nothing
    assert EquitySnapshot.objects.filter(account=account).count() == 15
    assert Holding.objects.get(account=account).quantity == 10
