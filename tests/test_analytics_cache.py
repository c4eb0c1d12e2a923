"""The cached part of GET portfolio/analytics and history (days before today, the ledger's trades): a fill, a deposit
or a snapshot shows at once, two users never read each other's entries, and a cached answer costs a fixed, small
number of queries. Each answer is compared with the same request answered with nothing cached."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from portfolio.analytics import day_start, snapshots_take
from portfolio.models import Account, EquitySnapshot
from portfolio.services import account_deposit
from tests.factories import UserFactory, open_account_for
from tests.test_analytics import buy, sell

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)  # a Friday
NOW = day_start(TODAY) + timedelta(hours=11)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def client_for():
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        client.force_authenticate(user=user)
        return client

    return make


def with_history(user, *, start_equity: int, step: int, days: int = 30) -> Account:
    """An account opened a month ago with a daily snapshot since (the part that is cached)."""
    with time_machine.travel(NOW - timedelta(days=days + 1), tick=False):
        account = open_account_for(user, starting_cash=Decimal(start_equity))
    EquitySnapshot.objects.bulk_create(
        EquitySnapshot(
            account=account, date=TODAY - timedelta(days=days - n), equity=start_equity + n * step,
            cash=start_equity + n * step, market_value=0, net_flow=start_equity if n == 0 else 0,
            benchmark_close=Decimal("2500.00") + n,
        )
        for n in range(days)
    )  # fmt: skip
    return account


def uncached(client, path, redis_client):
    """The same request with every analytics entry gone: what the answer is without the cache."""
    for key in redis_client.scan_iter(match="*analytics:*"):
        redis_client.delete(key)
    return client.get(path).json()


def cached_entries(redis_client) -> int:
    return sum(1 for _ in redis_client.scan_iter(match="*analytics:*"))


@pytest.fixture
def trader(now, samsung, store_price, client_for):
    user = UserFactory()
    account = with_history(user, start_equity=10_000_000, step=10_000)
    store_price("A005930", 50_000)
    return user, account, client_for(user)


@pytest.mark.parametrize("path", ["analytics?period=1M", "history?period=1Y"])
def test_a_cached_answer_is_served_from_the_cache(trader, path, redis_client):
    _, _, client = trader
    first = client.get(f"/api/v1/portfolio/{path}").json()
    assert cached_entries(redis_client) > 0
    assert client.get(f"/api/v1/portfolio/{path}").json() == first


def test_a_fill_shows_in_the_next_answer(trader, samsung, redis_client):
    _, account, client = trader
    before = client.get("/api/v1/portfolio/analytics?period=1M").json()
    assert before["trades"]["sells"] == 0
    buy(account, samsung, 10, 50_000, commission=75)
    sell(account, samsung, 4, 55_000, commission=33, tax=400)
    after = client.get("/api/v1/portfolio/analytics?period=1M").json()
    assert after["trades"]["sells"] == 1
    assert after["trades"]["wins"] == 1
    assert after["fees_paid"] == 75 + 33
    assert after["by_stock"][0]["trades"] == 2
    assert after["ending_equity"] != before["ending_equity"]  # fees and tax left; shares now valued at 50,000
    assert after == uncached(client, "/api/v1/portfolio/analytics?period=1M", redis_client)


def test_a_deposit_shows_in_the_next_answer(trader, redis_client):
    user, _, client = trader
    before = client.get("/api/v1/portfolio/analytics?period=1M").json()
    account_deposit(user=user, amount=Decimal(1_000_000))
    after = client.get("/api/v1/portfolio/analytics?period=1M").json()
    assert after["net_flow"] == before["net_flow"] + 1_000_000
    assert after["ending_equity"] == before["ending_equity"] + 1_000_000
    assert after["time_weighted_return_pct"] == before["time_weighted_return_pct"]  # a deposit is no profit
    assert after == uncached(client, "/api/v1/portfolio/analytics?period=1M", redis_client)


def test_a_new_snapshot_or_a_rewritten_one_shows_in_the_next_answer(trader, store_price, redis_client):
    _, account, client = trader
    EquitySnapshot.objects.filter(account=account, date=TODAY - timedelta(days=1)).delete()
    before = client.get("/api/v1/portfolio/history?period=1M").json()
    assert str(TODAY - timedelta(days=1)) not in [p["date"] for p in before["points"]]
    # snapshot_accounts writes yesterday's row (a backfill: rows that exist are kept)
    snapshots_take(day=TODAY - timedelta(days=1), replace=False)
    after = client.get("/api/v1/portfolio/history?period=1M").json()
    assert str(TODAY - timedelta(days=1)) in [p["date"] for p in after["points"]]
    assert after == uncached(client, "/api/v1/portfolio/history?period=1M", redis_client)

    # snapshot_accounts rewriting a day in place (same number of rows) shows too: the ledger says 10,000,000.
    analytics_before = client.get("/api/v1/portfolio/analytics?period=1M").json()
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):  # a later run; it stamps updated_at
        snapshots_take(day=TODAY - timedelta(days=10), replace=True)
    assert EquitySnapshot.objects.get(account=account, date=TODAY - timedelta(days=10)).equity == 10_000_000
    analytics_after = client.get("/api/v1/portfolio/analytics?period=1M").json()
    assert analytics_after["volatility_pct"] != analytics_before["volatility_pct"]  # a dip, then a rise
    assert analytics_after == uncached(client, "/api/v1/portfolio/analytics?period=1M", redis_client)


def test_two_users_never_see_each_others_cached_values(now, client_for, redis_client):
    alice, bob = UserFactory(), UserFactory()
    alice_account = with_history(alice, start_equity=10_000_000, step=20_000)
    bob_account = with_history(bob, start_equity=10_000_000, step=-20_000)
    alice_client, bob_client = client_for(alice), client_for(bob)
    answers = {}
    for _ in range(2):  # the second round is served from the cache
        for name, client in (("alice", alice_client), ("bob", bob_client)):
            for path in ("analytics?period=1M", "history?period=1M", "analytics?period=ALL"):
                answers.setdefault((name, path), []).append(client.get(f"/api/v1/portfolio/{path}").json())
    for (name, _path), (first, second) in answers.items():
        assert first == second
        assert first["account_id"] == (alice_account if name == "alice" else bob_account).pk
    # Alice's month rose, Bob's fell (today both are back at their cash).
    assert answers["alice", "history?period=1M"][0]["points"][-2]["return_pct"] > 0
    assert answers["bob", "history?period=1M"][0]["points"][-2]["return_pct"] < 0
    assert (
        answers["alice", "analytics?period=1M"][0]["sharpe_ratio"]
        != answers["bob", "analytics?period=1M"][0]["sharpe_ratio"]
    )
    for name, client in (("alice", alice_client), ("bob", bob_client)):
        for path in ("analytics?period=1M", "history?period=1M"):
            assert answers[name, path][0] == uncached(client, f"/api/v1/portfolio/{path}", redis_client)


def test_a_closed_account_is_cached_apart_from_the_open_one(trader, client_for, redis_client):
    user, old, client = trader
    from portfolio.services import account_reset

    new = account_reset(user=user)
    current = client.get("/api/v1/portfolio/analytics?period=1M").json()
    past = client.get(f"/api/v1/portfolio/analytics?period=1M&account_id={old.pk}").json()
    assert (current["account_id"], past["account_id"]) == (new.pk, old.pk)
    assert current["start_date"] == str(TODAY)  # the new chain: today's live point only
    assert past["start_date"] == str(TODAY - timedelta(days=29))  # the day after the period's base
    assert past == uncached(client, f"/api/v1/portfolio/analytics?period=1M&account_id={old.pk}", redis_client)


def test_a_cached_analytics_request_costs_three_queries(trader, samsung, django_assert_max_num_queries):
    _, account, client = trader
    buy(account, samsung, 10, 50_000)
    sell(account, samsung, 5, 51_000)
    client.get("/api/v1/portfolio/analytics?period=1Y")  # fills the cache
    # the open account, the cache key (with today's flows and KOSPI), the holdings
    with django_assert_max_num_queries(3):
        body = client.get("/api/v1/portfolio/analytics?period=1Y").json()
    assert body["trades"]["sells"] == 1
