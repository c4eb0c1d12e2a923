"""Data migrations, run backwards and forwards on the real test database."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("portfolio", "0002_transaction_execution_transaction_order")]
AFTER = [("portfolio", "0003_account_last_event_seq")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # forget the plan of an earlier migrate
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    """Each test leaves the database at the newest migrations, as the rest of the suite expects."""
    yield
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_existing_accounts_continue_numbering_after_their_newest_event(django_user_model):
    old = migrate(BEFORE)
    try:
        Account, AccountEvent = old.get_model("portfolio", "Account"), old.get_model("trading", "AccountEvent")
        User = old.get_model(*django_user_model._meta.label.split("."))
        busy = Account.objects.create(user=User.objects.create(username="busy"), cash=0, starting_cash=Decimal(1))
        quiet = Account.objects.create(user=User.objects.create(username="quiet"), cash=0, starting_cash=Decimal(1))
        for seq in (1, 2, 7):
            AccountEvent.objects.create(account=busy, seq=seq, event_type="cash.changed", payload={})
    finally:
        new = migrate(AFTER)
    Account = new.get_model("portfolio", "Account")
    assert Account.objects.get(pk=busy.pk).last_event_seq == 7
    assert Account.objects.get(pk=quiet.pk).last_event_seq == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_account_events_move_to_portfolio_with_every_row_and_seq(django_user_model):
    old = migrate(AFTER + [("trading", "0001_initial")])
    Account, AccountEvent = old.get_model("portfolio", "Account"), old.get_model("trading", "AccountEvent")
    User = old.get_model(*django_user_model._meta.label.split("."))
    account = Account.objects.create(
        user=User.objects.create(username="mover"), cash=0, starting_cash=Decimal(1), last_event_seq=3
    )
    for seq in (1, 2, 3):
        AccountEvent.objects.create(account=account, seq=seq, event_type="cash.changed", payload={"n": seq})

    new = migrate([("portfolio", "0005_accountevent_table")])

    moved = new.get_model("portfolio", "AccountEvent")
    assert moved._meta.db_table == "portfolio_accountevent"
    rows = list(moved.objects.filter(account_id=account.pk).order_by("seq").values_list("seq", "payload"))
    assert rows == [(1, {"n": 1}), (2, {"n": 2}), (3, {"n": 3})]
    with pytest.raises(LookupError):
        new.get_model("trading", "AccountEvent")
