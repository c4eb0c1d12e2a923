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


@pytest.mark.django_db(transaction=True)
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
