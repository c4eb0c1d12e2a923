"""The unit of work that moves an account (docs/architecture.md): its locks, its writes, its events.

SQLite has no row locks (select_for_update compiles to nothing there), so these tests watch the
one place locks are asked for, `kernel.db.locked`, and fail on every database if a lock is dropped
or taken out of order; the MariaDB leg also proves the waits are real and bounded.
"""

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

import portfolio.events
import portfolio.unit_of_work
from portfolio.events import account_events_prefix
from portfolio.models import Account, AccountEvent, Holding, Transaction
from portfolio.services import account_deposit, ledger_write
from portfolio.unit_of_work import AccountBusy, AccountUnitOfWork, LockOrderError
from tests.factories import StockFactory, UserFactory, open_account_for
from trading.models import Order
from trading.services import OrderRequest, order_cancel, order_place, orders_match_tick

ORDERS = "/api/v1/trading/orders"


@pytest.fixture
def lock_log(monkeypatch):
    """Every locking query the unit of work runs: (model, really FOR UPDATE, joins)."""
    taken = []
    real = portfolio.unit_of_work.locked

    def recording(rows):
        locking = real(rows)
        taken.append((rows.model.__name__, locking.query.select_for_update, bool(locking.query.select_related)))
        return locking

    monkeypatch.setattr(portfolio.unit_of_work, "locked", recording)
    return taken


@pytest.fixture
def priced(samsung, store_price):
    store_price("A005930", 70_000, base=69_000)
    return samsung


def market(side="BUY", quantity=10, **kwargs):
    return OrderRequest(stock_code="A005930", side=side, order_type="MARKET", quantity=quantity, **kwargs)


@pytest.mark.django_db
def test_placement_locks_the_account_then_the_holding_and_nothing_joined(user, priced, lock_log):
    order, _ = order_place(user=user, request=market())
    assert order.status == "FILLED"
    assert lock_log == [("Account", True, False), ("Holding", True, False)]


@pytest.mark.django_db
def test_a_fill_by_the_matcher_locks_account_holding_then_order(user, priced, lock_log):
    order, _ = order_place(
        user=user,
        request=OrderRequest(
            stock_code="A005930", side="BUY", order_type="LIMIT", quantity=1, limit_price=Decimal(69_000)
        ),
    )
    lock_log.clear()
    assert orders_match_tick(stock=priced, price=Decimal(68_900)).fills == 1
    assert lock_log == [("Account", True, False), ("Holding", True, False), ("Order", True, False)]


@pytest.mark.django_db
def test_cancel_and_deposit_take_the_account_lock_first(user, priced, lock_log):
    order, _ = order_place(
        user=user,
        request=OrderRequest(
            stock_code="A005930", side="BUY", order_type="LIMIT", quantity=1, limit_price=Decimal(69_000)
        ),
    )
    lock_log.clear()
    order_cancel(user=user, order_id=order.pk)
    account_deposit(user=user, amount=Decimal(1_000))
    assert [model for model, *_ in lock_log] == ["Account", "Holding", "Order", "Account"]
    assert all(for_update and not joined for _, for_update, joined in lock_log)


@pytest.mark.django_db
def test_locks_out_of_the_canonical_order_are_refused(user):
    low, high = sorted([StockFactory().pk, StockFactory().pk])
    with AccountUnitOfWork.of_user(user=user) as work:
        work.lock_holdings([high])
        with pytest.raises(LockOrderError):
            work.lock_holdings([low])  # a lower stock id after a higher one
    with AccountUnitOfWork.of_user(user=user) as work:
        work.lock_orders(Order.objects.none())
        with pytest.raises(LockOrderError):
            work.lock_holdings([low])  # a holding after orders
    with AccountUnitOfWork.of_user(user=user) as work, pytest.raises(LockOrderError):
        work.holding(low)  # a holding it never locked


@pytest.mark.django_db
def test_a_locking_query_may_not_join(user):
    from kernel.db import locked

    with pytest.raises(ValueError, match="must not join"):
        locked(Account.objects.select_related("user"))


@pytest.mark.django_db
def test_a_market_buy_writes_each_row_once(user, priced):
    order_place(user=user, request=market(client_order_id="once"))  # the holding exists from here on
    with CaptureQueriesContext(connection) as queries:
        order, created = order_place(user=user, request=market(client_order_id="twice"))
    assert (created, order.status) == (True, "FILLED")
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE")]
    tables = [sql.split()[2].strip('"`') if sql.startswith("INSERT") else sql.split()[1].strip('"`') for sql in writes]
    # the order goes in once, already filled; each table is written once
    assert sorted(tables) == sorted(
        ["trading_order", "trading_execution", "portfolio_transaction", "portfolio_holding", "portfolio_account",
         "portfolio_accountevent"]
    )  # fmt: skip
    assert statements.count("SELECT") == 3  # the account, the client_order_id, the holding
    assert list(AccountEvent.objects.filter(account__user=user).values_list("payload__order_id", flat=True))[-2:] == [
        order.pk,
        order.pk,
    ]


def deposit_then_fail(user, *, write_first: bool):
    with AccountUnitOfWork.of_user(user=user) as work:
        ledger_write(work, transaction_type="DEPOSIT", amount=Decimal(5_000))
        work.record_event("cash.changed", {"amount": 5_000})
        if write_first:
            work.commit()
        raise RuntimeError("something after the change failed")


@pytest.mark.django_db
def test_nothing_pending_is_written_when_the_unit_fails(user):
    account = Account.objects.get(user=user, is_open=True)
    rows_before, events_before = Transaction.objects.count(), AccountEvent.objects.count()
    with pytest.raises(RuntimeError, match="after the change"):
        deposit_then_fail(user, write_first=False)
    account.refresh_from_db()
    assert account.cash == Decimal(10_000_000)
    assert (Transaction.objects.count(), AccountEvent.objects.count()) == (rows_before, events_before)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_unit_publishes_no_event_and_a_committed_one_publishes_after_commit(redis_client, monkeypatch):
    user = UserFactory()
    open_account_for(user)
    pubsub = redis_client.pubsub()
    pubsub.subscribe(account_events_prefix() + str(user.pk))
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"

    with pytest.raises(RuntimeError, match="after the change"):
        deposit_then_fail(user, write_first=True)  # rows written inside the transaction, which then rolls back
    assert pubsub.get_message(timeout=0.5) is None
    assert not AccountEvent.objects.filter(account__user=user, event_type="cash.changed").exists()

    published_inside_a_transaction = []
    publish = portfolio.events._publish

    def watching(user_id, messages):
        published_inside_a_transaction.append(connection.in_atomic_block)
        publish(user_id, messages)

    monkeypatch.setattr(portfolio.events, "_publish", watching)
    account_deposit(user=user, amount=Decimal(7_000))
    (message,) = json.loads(pubsub.get_message(timeout=2)["data"])
    assert (message["event"], message["data"]["amount"]) == ("cash.changed", 7_000)
    assert published_inside_a_transaction == [False]
    pubsub.close()


@pytest.mark.django_db(transaction=True)
def test_a_stop_buy_the_account_cannot_pay_is_rejected_alone_by_its_savepoint(samsung, store_price):
    user = UserFactory()
    open_account_for(user, starting_cash=Decimal(1_000_000))
    store_price("A005930", 70_000, base=69_000)
    stop, _ = order_place(
        user=user,
        request=OrderRequest(
            stock_code="A005930", side="BUY", order_type="STOP", quantity=12, stop_price=Decimal(71_000)
        ),
    )
    resting, _ = order_place(
        user=user,
        request=OrderRequest(
            stock_code="A005930", side="BUY", order_type="LIMIT", quantity=1, limit_price=Decimal(69_000)
        ),
    )
    # the price gaps far up: 12 × 90,000 is more than the account holds
    result = orders_match_tick(stock=samsung, price=Decimal(90_000))
    stop.refresh_from_db()
    resting.refresh_from_db()
    assert (result.triggered, result.rejected, stop.status) == (1, 1, "REJECTED")
    assert resting.status == "OPEN"
    account = Account.objects.get(user=user, is_open=True)
    assert account.reserved_cash == resting.reserved_cash
    assert not Holding.objects.filter(account=account, quantity__gt=0).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.mariadb
def test_a_lock_wait_that_times_out_is_account_busy_not_a_hang():
    if connection.vendor != "mysql":
        pytest.skip("row-lock waits are MariaDB's; SQLite serialises writers on its database lock instead")
    user = UserFactory()
    open_account_for(user)
    holding, release, outcome = threading.Event(), threading.Event(), []

    def holder():
        try:
            with transaction.atomic():
                Account.objects.select_for_update().get(user=user, is_open=True)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    def depositor():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
            account_deposit(user=user, amount=Decimal(1_000))
            outcome.append("deposited")
        except AccountBusy as exc:
            outcome.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=holder)
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=depositor)
    second.start()
    second.join(15)
    release.set()
    first.join(15)
    (busy,) = outcome
    assert isinstance(busy, AccountBusy)
    assert (busy.status_code, busy.code, busy.details["retry_after_seconds"]) == (503, "account_busy", 1)
    assert Account.objects.get(user=user, is_open=True).cash == Decimal(10_000_000)
