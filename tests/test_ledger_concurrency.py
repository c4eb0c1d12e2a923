"""Real threads, each with its own database connection, against one account (docs/architecture.md §4)."""

import random
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection, connections

from portfolio.errors import InsufficientFunds
from portfolio.models import Account, Transaction
from portfolio.services import account_deposit, account_withdraw
from tests.factories import UserFactory, open_account_for

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 50
OPERATIONS = 20


def test_50_threads_of_random_deposits_and_withdrawals_lose_no_update():
    user = UserFactory()
    open_account_for(user, starting_cash=Decimal(100_000))
    start = threading.Barrier(THREADS)
    succeeded_net: list[Decimal] = []
    refused: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def trader(seed: int):
        rng = random.Random(seed)
        net, refusals = Decimal(0), 0
        try:
            start.wait()
            for _ in range(OPERATIONS):
                amount = Decimal(rng.randint(1, 50_000))
                if rng.random() < 0.5:
                    account_deposit(user=user, amount=amount)
                    net += amount
                else:
                    try:
                        account_withdraw(user=user, amount=amount)
                        net -= amount
                    except InsufficientFunds:
                        refusals += 1
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            failures.append(exc)
        finally:
            with lock:
                succeeded_net.append(net)
                refused.append(refusals)
            connection.close()

    threads = [threading.Thread(target=trader, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()
    assert not failures, failures[:3]
    assert all(not t.is_alive() for t in threads)

    account = Account.objects.get(user=user)
    rows = Transaction.objects.filter(account=account)
    expected_cash = Decimal(100_000) + sum(succeeded_net)
    assert account.cash == expected_cash  # no lost update
    assert rows.count() == 1 + THREADS * OPERATIONS - sum(refused)
    assert sum(r.amount for r in rows) == account.cash
    # never below zero at any point: every intermediate balance is in the ledger
    assert min(r.cash_balance_after for r in rows) >= 0
    assert sum(refused) > 0, "the test should exercise refused withdrawals too"
    for alias in connections:
        connections[alias].close()
