"""Real threads with their own database connections racing on one account (docs/architecture.md §2–3, §7)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from portfolio.errors import InsufficientFunds, InsufficientQuantity
from portfolio.models import Account, Holding
from tests.factories import StockFactory, UserFactory, open_account_for
from trading.errors import OrderNotCancelable
from trading.models import Order
from trading.services import OrderRequest, order_cancel, order_place, orders_match_tick

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(count: int, target) -> list:
    """Start `count` threads at once; return what each returned or raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def runner(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.fixture
def market(store_price):
    stock = StockFactory(code="A005930", name="삼성전자")
    store_price("A005930", 10_000)
    return stock


def buy_request(quantity=10, **extra):
    return OrderRequest(stock_code="A005930", side="BUY", order_type="MARKET", quantity=quantity, **extra)


def test_100_market_buys_worth_3x_the_cash_fill_exactly_the_affordable_ones(market, settings):
    settings.MARKET_BUY_BUFFER = Decimal(0)  # reserve exactly price × qty + commission
    user = UserFactory()
    open_account_for(user, starting_cash=Decimal(3_400_000))
    # each buy costs 100,000 + 15 commission; 3,400,000 pays for 33 of them; 100 ask for ~3x
    results = run_threads(100, lambda i: order_place(user=user, request=buy_request()))
    filled = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert len(filled) + len(refused) == 100, [r for r in results if not isinstance(r, tuple | InsufficientFunds)][:3]
    assert len(filled) == 33
    account = Account.objects.get(user=user)
    assert account.cash == 3_400_000 - 33 * 100_015
    assert account.cash >= 0
    assert account.reserved_cash == 0
    assert Holding.objects.get(account=account).quantity == 330
    assert Order.objects.filter(status="FILLED").count() == 33


def test_concurrent_sells_cannot_sell_more_than_the_holding(market):
    user = UserFactory()
    open_account_for(user)
    order_place(user=user, request=buy_request(quantity=50))
    results = run_threads(
        20, lambda i: order_place(user=user, request=OrderRequest("A005930", "SELL", "MARKET", quantity=7))
    )
    filled = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, InsufficientQuantity)]
    assert len(filled) == 7  # 7 × 7 = 49 of 50 shares
    assert len(refused) == 13
    assert Holding.objects.get(account__user=user).quantity == 1


def test_cancel_racing_a_fill_has_exactly_one_winner(market):
    user = UserFactory()
    open_account_for(user)
    for _ in range(10):
        order, _ = order_place(
            user=user, request=OrderRequest("A005930", "BUY", "LIMIT", quantity=10, limit_price=Decimal(9_900))
        )

        def race(i, order_id=order.pk):
            if i == 0:
                return order_cancel(user=user, order_id=order_id)
            return orders_match_tick(stock=market, price=Decimal(9_800))

        cancel_result, match_result = run_threads(2, race)
        order.refresh_from_db()
        if order.status == "CANCELED":
            assert match_result.fills == 0
        else:
            assert order.status == "FILLED"
            assert isinstance(cancel_result, OrderNotCancelable)
        assert order.reserved_cash == 0
    account = Account.objects.get(user=user)
    assert account.reserved_cash == 0  # released exactly once, whoever won


def test_20_identical_requests_with_one_client_order_id_make_one_order(market):
    user = UserFactory()
    open_account_for(user)
    request = OrderRequest("A005930", "BUY", "LIMIT", quantity=5, limit_price=Decimal(9_900), client_order_id="same")
    results = run_threads(20, lambda i: order_place(user=user, request=request))
    assert all(isinstance(r, tuple) for r in results), results
    assert {order.pk for order, _ in results} == {Order.objects.get().pk}
    assert sum(created for _, created in results) == 1
    assert Account.objects.get(user=user).reserved_cash == Order.objects.get().reserved_cash
