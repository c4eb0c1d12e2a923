"""Staff: the cash correction action on accounts writes one ADJUSTMENT row through account_adjust."""

from decimal import Decimal

import pytest

from portfolio.models import Account, Transaction, TransactionType
from portfolio.services import account_open
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/portfolio/account/"


def adjust(admin_client, account, **form):
    return admin_client.post(
        CHANGELIST, {"action": "adjust_balance", "_selected_action": [account.pk], "apply": "1", **form}, follow=True
    )


def test_the_correction_action_writes_an_adjustment_row_with_the_staff_user(admin_client, admin_user):
    account = account_open(user=UserFactory())
    response = adjust(admin_client, account, amount="5000", reason="goodwill")
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.cash == Decimal(10_005_000)
    row = Transaction.objects.get(account=account, transaction_type=TransactionType.ADJUSTMENT)
    assert (row.amount, row.memo, row.created_by) == (Decimal(5000), "goodwill", admin_user)


BAD_CORRECTIONS = [
    {"amount": "0", "reason": "x"},
    {"amount": "1.5", "reason": "x"},
    {"amount": "5000", "reason": "  "},
    {"amount": "-20000000", "reason": "x"},  # below zero
]


@pytest.mark.parametrize("form", BAD_CORRECTIONS)
def test_a_bad_correction_is_shown_on_the_form_and_writes_nothing(admin_client, form):
    account = account_open(user=UserFactory())
    response = adjust(admin_client, account, **form)
    assert response.status_code == 200
    assert "조정 기록하기".encode() in response.content  # the form again, with its error (Korean first)
    assert Transaction.objects.filter(account=account).count() == 1  # the opening deposit only
    assert Account.objects.get(pk=account.pk).cash == Decimal(10_000_000)
