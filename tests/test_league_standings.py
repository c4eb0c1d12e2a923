"""League standings and the public leaderboard (docs/architecture.md §16), computed from real ledgers and
snapshots: a deposit never lifts a rank, a reset keeps the losses made before it, today counts at live prices, ties
go to the shallower drawdown, and the leaderboard lists only opted-in users."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from leagues.models import LeaderboardEntry, League, Membership, Profile, Standing, Visibility
from leagues.services import league_create, league_join, profile_update
from leagues.standings import compute_all, leaderboard_compute, league_standings_compute
from leagues.tasks import refresh_running_leagues
from portfolio.analytics import day_start, snapshots_take
from portfolio.models import Account, EquitySnapshot
from portfolio.services import account_deposit, account_reset, holding_apply_buy
from portfolio.tasks import snapshot_accounts
from portfolio.unit_of_work import AccountUnitOfWork
from tests.factories import UserFactory, open_account_for

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 11, 2)  # a KRX week: 11-02 .. 11-06


def at(day: date, hour: int) -> datetime:
    return day_start(day) + timedelta(hours=hour)


def buy(user, stock, quantity, price):
    with AccountUnitOfWork.of_user(user=user) as work:
        holding_apply_buy(work, stock=stock, quantity=quantity, price=Decimal(price), commission=Decimal(0))


def close_day(day: date, store_price, price: int) -> None:
    """Samsung closes at `price` and the day's snapshots are taken, as the 15:40 task does."""
    with time_machine.travel(at(day, 16), tick=False):
        store_price("A005930", price)
        snapshots_take(day=day)


def a_week_league(owner, *members) -> League:
    with time_machine.travel(at(MONDAY, 8), tick=False):
        league = league_create(
            owner=owner, name="주간 리그", starts_on=MONDAY, ends_on=MONDAY + timedelta(days=4), visibility="PUBLIC"
        )
        for member in members:
            league_join(user=member, league_id=league.pk)
    return league


def traders(count: int):
    with time_machine.travel(at(MONDAY, 8), tick=False):
        users = [UserFactory() for _ in range(count)]
        for user in users:
            open_account_for(user)
    return users


def standing(league, user) -> Standing:
    return Standing.objects.get(league=league, user=user)


def test_a_big_deposit_does_not_lift_a_rank(samsung, store_price):
    skilled, rich = traders(2)
    league = a_week_league(skilled, rich)
    with time_machine.travel(at(MONDAY, 10), tick=False):
        buy(skilled, samsung, 100, 70_000)  # 7,000,000 of 10,000,000 in the stock
        buy(rich, samsung, 50, 70_000)  # 3,500,000
    close_day(MONDAY, store_price, 70_000)
    with time_machine.travel(at(MONDAY + timedelta(days=1), 11), tick=False):
        account_deposit(user=rich, amount=Decimal(50_000_000))  # five times the account: not profit
    close_day(MONDAY + timedelta(days=1), store_price, 77_000)  # +10 %
    with time_machine.travel(at(MONDAY + timedelta(days=1), 17), tick=False):
        league_standings_compute(league=league)

    first, second = standing(league, skilled), standing(league, rich)
    assert (first.rank, second.rank) == (1, 2)
    assert first.return_pct == pytest.approx(7.0)  # 700,000 on 10,000,000
    # 350,000 earned; the deposit counts as money at work from the day's start (a deposit can never lift a return)
    assert second.return_pct == pytest.approx(350_000 / 60_000_000 * 100, abs=1e-4)  # stored to 4 decimals
    assert first.days == second.days == 2
    assert (first.trades, second.trades) == (1, 1)
    # The rich member's equity did grow six-fold: the rank is on skill, not on money.
    assert EquitySnapshot.objects.get(account__user=rich, date=MONDAY + timedelta(days=1)).equity == 60_350_000


def test_a_deposit_invested_the_same_morning_earns_only_the_market_move(samsung, store_price):
    skilled, gamer = traders(2)
    league = a_week_league(skilled, gamer)
    close_day(MONDAY, store_price, 70_000)
    with time_machine.travel(at(MONDAY + timedelta(days=1), 9), tick=False):
        buy(skilled, samsung, 100, 70_000)  # 7,000,000 of 10,000,000 in the stock: +7 % on a +10 % day
        account_deposit(user=gamer, amount=Decimal(90_000_000))  # ten times the account, all of it in the stock
        buy(gamer, samsung, 1_420, 70_000)  # 99,400,000
    close_day(MONDAY + timedelta(days=1), store_price, 77_000)
    with time_machine.travel(at(MONDAY + timedelta(days=1), 17), tick=False):
        league_standings_compute(league=league)
    # Flows at the day's end would read (109,940,000 − 90,000,000) / 10,000,000 − 1 = +99.4 %: a bought rank.
    gamed = standing(league, gamer)
    assert gamed.return_pct == pytest.approx(9_940_000 / 100_000_000 * 100, abs=1e-4)  # +9.94 %: the move, once
    assert gamed.return_pct < 10.0
    assert (standing(league, gamer).rank, standing(league, skilled).rank) == (1, 2)  # it did hold more stock


def test_a_reset_inside_a_league_keeps_the_losses_made_before_it(samsung, store_price):
    loser, steady = traders(2)
    league = a_week_league(steady, loser)
    with time_machine.travel(at(MONDAY, 10), tick=False):
        buy(loser, samsung, 100, 70_000)
    close_day(MONDAY, store_price, 70_000)
    close_day(MONDAY + timedelta(days=1), store_price, 56_000)  # −20 % on 7,000,000: −14 % of the account
    with time_machine.travel(at(MONDAY + timedelta(days=2), 10), tick=False):
        fresh = account_reset(user=loser)  # a clean 10,000,000 account
    close_day(MONDAY + timedelta(days=2), store_price, 56_000)
    with time_machine.travel(at(MONDAY + timedelta(days=2), 17), tick=False):
        league_standings_compute(league=league)

    assert fresh.starting_cash == 10_000_000
    assert Account.objects.filter(user=loser).count() == 2
    lost, kept = standing(league, loser), standing(league, steady)
    assert lost.return_pct == pytest.approx(-14.0)  # not the fresh account's 0 %
    assert lost.max_drawdown_pct == pytest.approx(-14.0)
    assert kept.return_pct == pytest.approx(0.0)
    assert (kept.rank, lost.rank) == (1, 2)


def test_today_counts_at_live_prices_while_the_league_runs(samsung, store_price):
    bull, bear = traders(2)
    league = a_week_league(bull, bear)
    with time_machine.travel(at(MONDAY, 10), tick=False):
        buy(bull, samsung, 100, 70_000)
    close_day(MONDAY, store_price, 70_000)
    with time_machine.travel(at(MONDAY + timedelta(days=1), 11), tick=False):
        store_price("A005930", 84_000)  # +20 % this morning, no snapshot of today yet
        league_standings_compute(league=league)
        assert standing(league, bull).return_pct == pytest.approx(14.0)
        assert standing(league, bull).rank == 1
        assert not EquitySnapshot.objects.filter(date=MONDAY + timedelta(days=1)).exists()  # nothing written
        store_price("A005930", 63_000)  # and −10 % by noon
        league_standings_compute(league=league)
        assert standing(league, bull).return_pct == pytest.approx(-7.0)
        assert (standing(league, bear).rank, standing(league, bull).rank) == (1, 2)


def snapshots(user, equities: list[int], first: date = MONDAY) -> None:
    account = Account.objects.get(user=user, is_open=True)
    EquitySnapshot.objects.bulk_create(
        EquitySnapshot(
            account=account,
            date=first + timedelta(days=index),
            equity=Decimal(equity),
            cash=Decimal(equity),
            market_value=Decimal(0),
            net_flow=Decimal(10_000_000 if index == 0 else 0),
        )
        for index, equity in enumerate(equities)
    )


def test_a_tie_goes_to_the_shallower_drawdown(db):
    bumpy, smooth = traders(2)
    idle = UserFactory()  # a member with no account at all
    league = a_week_league(bumpy, smooth, idle)
    snapshots(bumpy, [10_000_000, 9_000_000, 11_000_000])
    snapshots(smooth, [10_000_000, 10_500_000, 11_000_000])
    with time_machine.travel(at(MONDAY + timedelta(days=2), 17), tick=False):
        league_standings_compute(league=league)
    assert standing(league, bumpy).return_pct == standing(league, smooth).return_pct == pytest.approx(10.0)
    assert standing(league, smooth).rank == 1
    assert standing(league, bumpy).rank == 2
    assert standing(league, bumpy).max_drawdown_pct == pytest.approx(-10.0)
    # No account, so no value: listed, not ranked.
    assert standing(league, idle).rank is None
    assert standing(league, idle).return_pct is None


def test_days_before_the_league_do_not_count(db):
    early, late = traders(2)
    with time_machine.travel(at(MONDAY - timedelta(days=7), 8), tick=False):
        league = league_create(
            owner=early, name="리그", starts_on=MONDAY, ends_on=MONDAY + timedelta(days=4), visibility="PUBLIC"
        )
        league_join(user=late, league_id=league.pk)
    # A great week before the start, then a flat league for one, a 1 % gain for the other.
    snapshots(early, [10_000_000, 20_000_000, 20_000_000, 20_000_000], first=MONDAY - timedelta(days=2))
    snapshots(late, [10_000_000, 10_000_000, 10_000_000, 10_100_000], first=MONDAY - timedelta(days=2))
    with time_machine.travel(at(MONDAY + timedelta(days=1), 17), tick=False):
        league_standings_compute(league=league)
    assert standing(league, early).return_pct == pytest.approx(0.0)
    assert standing(league, late).return_pct == pytest.approx(1.0)
    assert standing(league, late).rank == 1


def test_an_upcoming_league_lists_its_members_unranked(db):
    owner, member = traders(2)
    with time_machine.travel(at(MONDAY, 8), tick=False):
        league = league_create(
            owner=owner, name="다음 주", starts_on=MONDAY + timedelta(days=7), ends_on=MONDAY + timedelta(days=11),
            visibility="PUBLIC",
        )  # fmt: skip
        league_join(user=member, league_id=league.pk)
        assert league_standings_compute(league=league) == 2
    assert list(Standing.objects.filter(league=league).values_list("rank", flat=True)) == [None, None]


def opt_in(user, nickname: str) -> None:
    profile_update(user=user, nickname=nickname, leaderboard_opt_in=True)


def test_the_leaderboard_ranks_only_opted_in_users_and_sharpe_needs_five_days(db):
    steady, lucky, shy, fresh = traders(4)
    opt_in(steady, "꾸준한투자자")
    opt_in(lucky, "한방")
    opt_in(fresh, "새내기")
    profile_update(user=shy, nickname="조용히")  # a nickname, not opted in
    snapshots(steady, [10_000_000, 10_100_000, 10_150_000, 10_300_000, 10_350_000, 10_500_000])
    snapshots(lucky, [10_000_000, 9_000_000, 12_000_000, 11_000_000, 12_500_000, 12_000_000])
    snapshots(shy, [10_000_000, 30_000_000, 30_000_000, 30_000_000, 30_000_000, 30_000_000])
    snapshots(fresh, [10_000_000, 10_200_000], first=MONDAY + timedelta(days=4))
    with time_machine.travel(at(MONDAY + timedelta(days=6), 1), tick=False):
        written = leaderboard_compute()
    entries = {(e.period, e.user_id): e for e in LeaderboardEntry.objects.all()}
    assert written == len(entries) == 9  # three users, three periods; the shy one never
    assert not any(user_id == shy.pk for _, user_id in entries)
    everything = entries["all", lucky.pk], entries["all", steady.pk], entries["all", fresh.pk]
    assert [e.rank_by_return for e in everything] == [1, 2, 3]  # +20 %, +5 %, +2 %
    assert everything[0].return_pct == pytest.approx(20.0)
    # By Sharpe: the steady climber beats the lucky one; two days are not enough to be ranked.
    assert entries["all", steady.pk].rank_by_sharpe == 1
    assert entries["all", lucky.pk].rank_by_sharpe == 2
    assert entries["all", fresh.pk].rank_by_sharpe is None
    assert entries["all", steady.pk].days == 6
    assert entries["all", steady.pk].as_of == MONDAY + timedelta(days=5)
    # The week is the 7 days up to the last snapshot: its first day's return starts from the day before it.
    week = entries["week", steady.pk]
    assert week.days == 6
    assert week.return_pct == pytest.approx(5.0)


def test_the_week_window_starts_from_the_day_before_it(db):
    (climber,) = traders(1)
    opt_in(climber, "등산가")
    snapshots(climber, [10_000_000 + 100_000 * day for day in range(12)], first=MONDAY)
    with time_machine.travel(at(MONDAY + timedelta(days=12), 1), tick=False):
        leaderboard_compute()
    week = LeaderboardEntry.objects.get(period="week", user=climber)
    assert week.days == 7
    assert week.return_pct == pytest.approx((11_100_000 / 10_400_000 - 1) * 100, abs=1e-4)


def test_the_daily_snapshot_task_recomputes_standings_and_the_leaderboard(samsung, store_price, settings):
    settings.MARKET_HOURS_ENFORCED = True
    owner, member = traders(2)
    league = a_week_league(owner, member)
    opt_in(owner, "리그장")
    with time_machine.travel(at(MONDAY, 10), tick=False):
        buy(owner, samsung, 100, 70_000)
    with time_machine.travel(at(MONDAY, 15) + timedelta(minutes=40), tick=False):
        store_price("A005930", 77_000)
        Standing.objects.filter(league=league).update(rank=None, return_pct=None)
        snapshot_accounts()  # eager Celery in tests: the hook's task runs at once
    assert standing(league, owner).return_pct == pytest.approx(7.0)
    assert standing(league, owner).rank == 1
    assert LeaderboardEntry.objects.get(period="all", user=owner).return_pct == pytest.approx(7.0)
    assert League.objects.get(pk=league.pk).standings_computed_at is not None


def test_an_ended_league_counts_its_last_full_day_once_more_and_is_then_left_alone(db):
    owner, member = traders(2)
    league = a_week_league(owner, member)
    snapshots(owner, [10_000_000, 10_500_000, 12_000_000])
    snapshots(member, [10_000_000, 10_200_000, 10_000_000])
    with time_machine.travel(at(MONDAY + timedelta(days=2), 17), tick=False):
        # Ended at noon on Wednesday: Wednesday, cut short, never counts; Tuesday was its last full day.
        League.objects.filter(pk=league.pk).update(ended_at=at(MONDAY + timedelta(days=2), 12))
        assert compute_all()["leagues"] == 1
    with time_machine.travel(at(MONDAY + timedelta(days=3), 17), tick=False):
        snapshots(owner, [20_000_000], first=MONDAY + timedelta(days=3))
        assert compute_all()["leagues"] == 0  # nothing left to compute for it
        league_standings_compute(league=League.objects.get(pk=league.pk))  # and a late recomputation agrees
    assert standing(league, owner).return_pct == pytest.approx(5.0)  # the days after the end never counted


def test_members_removed_from_a_league_leave_its_standings(db):
    owner, member = traders(2)
    league = a_week_league(owner, member)
    Membership.objects.filter(league=league, user=member).delete()
    with time_machine.travel(at(MONDAY + timedelta(days=1), 17), tick=False):
        assert league_standings_compute(league=league) == 1
    assert list(Standing.objects.filter(league=league).values_list("user_id", flat=True)) == [owner.pk]


def test_profiles_and_visibility_are_plain_rows(db):
    # A guard for the models the computation reads: a private league needs its code, every league has one.
    (owner,) = traders(1)
    league = a_week_league(owner)
    assert league.visibility == Visibility.PUBLIC
    assert len(league.join_code) == 8
    assert Profile.objects.count() == 0


def test_running_leagues_refresh_during_the_session_only(samsung, store_price, settings):
    settings.MARKET_HOURS_ENFORCED = True
    bull, bear = traders(2)
    league = a_week_league(bull, bear)
    with time_machine.travel(at(MONDAY, 10), tick=False):
        buy(bull, samsung, 100, 70_000)
        store_price("A005930", 77_000)
        assert refresh_running_leagues() == 1
    assert standing(league, bull).return_pct == pytest.approx(7.0)
    with time_machine.travel(at(MONDAY, 20), tick=False):  # after the close: the snapshot's run has the last word
        store_price("A005930", 84_000)
        assert refresh_running_leagues() == 0
    assert standing(league, bull).return_pct == pytest.approx(7.0)


def test_a_weekend_adds_no_day_of_returns_when_trading_follows_krx(samsung, store_price, settings):
    settings.MARKET_HOURS_ENFORCED = True
    bull, bear = traders(2)
    league = a_week_league(bull, bear)
    League.objects.filter(pk=league.pk).update(ends_on=MONDAY + timedelta(days=13))
    with time_machine.travel(at(MONDAY, 10), tick=False):
        buy(bull, samsung, 100, 70_000)
    for day in range(5):
        close_day(MONDAY + timedelta(days=day), store_price, 70_000 + 1_000 * day)
    with time_machine.travel(at(MONDAY + timedelta(days=5), 11), tick=False):  # Saturday
        store_price("A005930", 90_000)  # a stray quote on a closed day counts for nothing
        league_standings_compute(league=League.objects.get(pk=league.pk))
    assert standing(league, bull).days == 5
    assert standing(league, bull).return_pct == pytest.approx(4.0)  # Friday's close: 74,000
