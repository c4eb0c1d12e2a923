from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from portfolio.models import Account, Transaction, TransactionType
from portfolio.services import holding_apply_buy, holding_apply_sell
from portfolio.unit_of_work import AccountUnitOfWork
from tests.factories import UserFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def ledger_count():
    return Transaction.objects.count()


def buy(account, stock, quantity, price, commission=0):
    with AccountUnitOfWork.of_account(account_id=account.pk) as work:
        return holding_apply_buy(
            work, stock=stock, quantity=quantity, price=Decimal(price), commission=Decimal(commission)
        )


def sell(account, stock, quantity, price, commission=0, tax=0):
    with AccountUnitOfWork.of_account(account_id=account.pk) as work:
        return holding_apply_sell(
            work, stock=stock, quantity=quantity, price=Decimal(price),
            commission=Decimal(commission), tax=Decimal(tax),
        )  # fmt: skip


def test_registration_opens_an_account_with_the_starting_cash_as_a_deposit(api_client):
    response = api_client.post(
        "/api/v1/auth/register", {"username": "seoyeon", "password": "correct-horse-battery"}, format="json"
    )
    assert response.status_code == 201
    account = Account.objects.get(user__username="seoyeon")
    assert account.cash == Decimal(10_000_000)
    (row,) = account.transactions.all()
    assert (row.transaction_type, row.amount, row.cash_balance_before, row.cash_balance_after) == (
        "DEPOSIT", Decimal(10_000_000), Decimal(0), Decimal(10_000_000),
    )  # fmt: skip


def test_portfolio_summary_of_a_fresh_account(jwt_client):
    body = jwt_client.get("/api/v1/portfolio").json()
    assert body["cash"] == 10_000_000
    assert body["available_cash"] == 10_000_000
    assert body["withdrawable_cash"] == 10_000_000
    assert body["equity"] == 10_000_000
    assert body["market_value"] == 0
    assert body["realized_pnl"] == 0
    assert body["total_return"] == 0
    assert body["total_return_pct"] == 0


def test_deposit_and_withdraw_write_one_ledger_row_each(jwt_client, user):
    response = jwt_client.post("/api/v1/portfolio/deposit", {"amount": 1_500_000}, format="json")
    assert response.status_code == 200
    assert response.json()["cash"] == 11_500_000
    response = jwt_client.post("/api/v1/portfolio/withdraw", {"amount": "500000"}, format="json")
    assert response.status_code == 200
    assert response.json()["cash"] == 11_000_000
    rows = list(Transaction.objects.filter(account__user=user).order_by("id"))
    assert [(r.transaction_type, r.amount) for r in rows] == [
        ("DEPOSIT", 10_000_000), ("DEPOSIT", 1_500_000), ("WITHDRAW", -500_000),
    ]  # fmt: skip
    assert rows[-1].cash_balance_before == 11_500_000
    assert rows[-1].cash_balance_after == 11_000_000


@pytest.mark.parametrize(
    "amount",
    [
        0,
        -1,
        1.5,
        "100.5",
        "abc",
        "",
        None,
        True,
        "1,000",
        1_000_000_000_001,
        "1e13",
        "NaN",
        "Infinity",
        [1],
        {"a": 1},
        "1e3",
        "1_000",
        "１２３",
        "٣",
        " ",
    ],
)
@pytest.mark.parametrize("endpoint", ["deposit", "withdraw"])
def test_bad_amounts_are_400_and_write_nothing(jwt_client, endpoint, amount):
    before = ledger_count()
    response = jwt_client.post(f"/api/v1/portfolio/{endpoint}", {"amount": amount}, format="json")
    error = assert_error(response, 400, "validation_error")
    assert "amount" in error["details"]
    assert ledger_count() == before
    assert Account.objects.get().cash == 10_000_000


def test_missing_amount_is_400(jwt_client):
    assert_error(jwt_client.post("/api/v1/portfolio/deposit", {}, format="json"), 400, "validation_error")


def test_withdrawing_more_than_withdrawable_is_409_and_writes_nothing(jwt_client):
    before = ledger_count()
    error = assert_error(
        jwt_client.post("/api/v1/portfolio/withdraw", {"amount": 10_000_001}, format="json"), 409, "insufficient_funds"
    )
    assert error["details"]["withdrawable_cash"] == 10_000_000
    assert ledger_count() == before


def test_portfolio_endpoints_need_authentication(api_client):
    for path in ["/api/v1/portfolio", "/api/v1/portfolio/holdings", "/api/v1/portfolio/transactions"]:
        assert_error(api_client.get(path), 401, "not_authenticated")
    assert_error(api_client.post("/api/v1/portfolio/deposit", {"amount": 1}, format="json"), 401)


def test_holdings_are_valued_at_fresh_prices_and_fall_back_to_the_last_fill(
    jwt_client, user, samsung, hynix, store_price
):
    account = Account.objects.get(user=user)
    buy(account, samsung, 10, 70_000, commission=105)
    buy(account, hynix, 2, 200_000, commission=60)
    store_price("A005930", 72_000, base=71_000)
    store_price("A000660", 250_000, received_at=timezone.now() - timedelta(hours=1))  # stale

    holdings = {h["stock_code"]: h for h in jwt_client.get("/api/v1/portfolio/holdings").json()["results"]}
    samsung_row = holdings["A005930"]
    assert samsung_row["quantity"] == 10
    assert samsung_row["average_cost"] == 70_010.5  # (700,000 + 105) / 10
    assert samsung_row["price"] == 72_000
    assert samsung_row["price_is_stale"] is False
    assert samsung_row["market_value"] == 720_000
    assert samsung_row["unrealized_pnl"] == 720_000 - 700_105
    assert samsung_row["day_change_pct"] == 1.41
    hynix_row = holdings["A000660"]
    assert hynix_row["price"] == 200_000
    assert hynix_row["price_is_stale"] is True

    summary = jwt_client.get("/api/v1/portfolio").json()
    assert summary["cash"] == 10_000_000 - 700_105 - 400_060
    assert summary["market_value"] == 720_000 + 400_000
    assert summary["equity"] == summary["cash"] + summary["market_value"]
    assert summary["total_return"] == summary["equity"] - 10_000_000


def test_sell_records_realized_pnl_and_proceeds_settle_t_plus_2(auth_client, user, samsung):
    jwt_client = auth_client  # a JWT would expire across the month this test travels
    account = Account.objects.get(user=user)
    # Tuesday 2026-12-29 10:00 KST; 12-31 and 1-1 are exchange holidays, so T+2 is Monday 2027-01-04
    with time_machine.travel(datetime(2026, 12, 29, 1, 0, tzinfo=UTC), tick=False):
        buy(account, samsung, 10, 70_000, commission=105)
        row = sell(account, samsung, 4, 75_000, commission=45, tax=600)
        assert row.realized_pnl == Decimal(300_000 - 45 - 600) - Decimal("70010.5") * 4
        assert row.settlement_date == date(2027, 1, 4)
        body = jwt_client.get("/api/v1/portfolio").json()
        proceeds = 300_000 - 45 - 600
        assert body["cash"] == 10_000_000 - 700_105 + proceeds
        assert body["withdrawable_cash"] == body["cash"] - proceeds
        assert body["realized_pnl"] == int(row.realized_pnl)
        assert_error(
            jwt_client.post("/api/v1/portfolio/withdraw", {"amount": body["cash"]}, format="json"),
            409,
            "insufficient_funds",
        )
    with time_machine.travel(datetime(2027, 1, 1, 1, 0, tzinfo=UTC), tick=False):
        body = jwt_client.get("/api/v1/portfolio").json()
        assert body["withdrawable_cash"] < body["cash"]
    with time_machine.travel(datetime(2027, 1, 4, 1, 0, tzinfo=UTC), tick=False):
        body = jwt_client.get("/api/v1/portfolio").json()
        assert body["withdrawable_cash"] == body["cash"]


def test_selling_more_than_held_is_refused(user, samsung):
    from portfolio.errors import InsufficientQuantity

    account = Account.objects.get(user=user)
    buy(account, samsung, 1, 70_000)
    before = ledger_count()
    with pytest.raises(InsufficientQuantity):
        sell(account, samsung, 2, 70_000)
    assert ledger_count() == before


def test_the_summary_uses_a_constant_number_of_queries(jwt_client, user, django_assert_max_num_queries, store_price):
    from tests.factories import StockFactory

    account = Account.objects.get(user=user)
    for stock in StockFactory.create_batch(100):
        buy(account, stock, 1, 10_000)
        store_price(stock.code, 10_500)
    # auth (JWT user lookup) + account + holdings + ledger aggregate; prices in one MGET
    with django_assert_max_num_queries(4):
        response = jwt_client.get("/api/v1/portfolio/holdings", {"page_size": 200})
    assert response.json()["count"] == 100
    assert all(h["price"] == 10_500 for h in response.json()["results"])


def test_ledger_filters_pagination_and_csv(jwt_client, user, samsung, hynix):
    account = Account.objects.get(user=user)
    buy(account, samsung, 1, 70_000)
    buy(account, hynix, 1, 200_000)
    jwt_client.post("/api/v1/portfolio/deposit", {"amount": 1000}, format="json")

    body = jwt_client.get("/api/v1/portfolio/transactions").json()
    assert body["count"] == 4
    assert body["results"][0]["transaction_type"] == "DEPOSIT"  # newest first
    buys = jwt_client.get("/api/v1/portfolio/transactions", {"type": "BUY"}).json()
    assert {r["stock_code"] for r in buys["results"]} == {"A005930", "A000660"}
    only_samsung = jwt_client.get("/api/v1/portfolio/transactions", {"stock": "A005930"}).json()
    assert [r["stock_name"] for r in only_samsung["results"]] == ["삼성전자"]
    today = timezone.localdate()
    assert jwt_client.get("/api/v1/portfolio/transactions", {"date_from": today, "date_to": today}).json()["count"] == 4
    tomorrow = today + timedelta(days=1)
    assert jwt_client.get("/api/v1/portfolio/transactions", {"date_from": tomorrow}).json()["count"] == 0

    csv_response = jwt_client.get("/api/v1/portfolio/transactions", {"format": "csv", "type": "BUY"})
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    lines = b"".join(csv_response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("id,created_at,transaction_type,stock_code")
    assert len(lines) == 3
    assert "삼성전자" in "\n".join(lines)


@pytest.mark.parametrize(
    "params",
    [
        {"type": "GIFT"},
        {"stock": "5930"},
        {"date_from": "yesterday"},
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
        {"format": "xml"},
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"page": 0},
        {"page": -1},
        {"page": "abc"},
        {"page": "1.5"},
        {"page_size": 0},
        {"page_size": "abc"},
    ],
)
def test_ledger_rejects_bad_filters(jwt_client, params):
    error = assert_error(jwt_client.get("/api/v1/portfolio/transactions", params), 400, "validation_error")
    assert set(error["details"]) <= {*params, "non_field_errors"}


def test_a_page_past_the_end_is_404(jwt_client):
    assert_error(jwt_client.get("/api/v1/portfolio/transactions", {"page": 2}), 404)
    assert jwt_client.get("/api/v1/portfolio/transactions", {"page": "last"}).status_code == 200


def test_reset_closes_the_account_and_keeps_its_history(jwt_client, user):
    jwt_client.post("/api/v1/portfolio/withdraw", {"amount": 3_000_000}, format="json")
    old = Account.objects.get(user=user)
    response = jwt_client.post("/api/v1/portfolio/reset")
    assert response.status_code == 201
    assert response.json()["cash"] == 10_000_000
    assert response.json()["account_id"] != old.pk
    old.refresh_from_db()
    assert old.closed_at is not None
    assert old.is_open is None
    assert old.cash == 7_000_000
    assert old.transactions.count() == 2
    assert Account.objects.filter(user=user, is_open=True).count() == 1
    body = jwt_client.get("/api/v1/portfolio/transactions").json()
    assert body["count"] == 1  # the new account's opening deposit


def test_a_reset_with_a_body_it_cannot_parse_is_refused_and_resets_nothing(jwt_client, user):
    response = jwt_client.post("/api/v1/portfolio/reset", "{", content_type="application/json")
    assert_error(response, 400, "malformed_request")
    assert Account.objects.filter(user=user).count() == 1


def test_the_database_allows_one_open_account_per_user(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(user=user, cash=0, starting_cash=0)


def test_another_user_sees_only_their_own_ledger(jwt_client, user):
    other = UserFactory()
    from portfolio.services import account_open

    account_open(user=other)
    rows = jwt_client.get("/api/v1/portfolio/transactions").json()["results"]
    assert {r["id"] for r in rows} == set(Transaction.objects.filter(account__user=user).values_list("id", flat=True))


@pytest.mark.corrupts_ledger
def test_audit_ledger_exits_1_and_reports_a_broken_balance(user):
    from django.core.management import call_command

    Account.objects.filter(user=user).update(cash=Decimal(123))
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_ledger")
    assert exit_info.value.code == 1
    from portfolio.audit import ledger_audit

    violations, accounts, rows = ledger_audit()
    assert [v.check for v in violations] == ["cash_equals_ledger"]
    assert (accounts, rows) == (1, 1)


@pytest.mark.corrupts_ledger
def test_audit_ledger_catches_a_broken_chain_and_a_holding_without_executions(user, samsung):
    from portfolio.audit import ledger_audit
    from portfolio.models import Holding

    account = Account.objects.get(user=user)
    Transaction.objects.create(
        account=account, transaction_type=TransactionType.DEPOSIT, amount=5, cash_balance_before=1,
        cash_balance_after=6,
    )  # fmt: skip
    Holding.objects.create(account=account, stock=samsung, quantity=3)
    checks = sorted(v.check for v in ledger_audit()[0])
    assert checks == ["cash_equals_ledger", "holding_equals_executions", "rows_chain"]


@pytest.mark.corrupts_ledger
def test_audit_ledger_catches_an_event_seq_that_would_repeat(user, auth_client):
    from portfolio.audit import ledger_audit

    assert auth_client.post("/api/v1/portfolio/deposit", {"amount": 1000}, format="json").status_code == 200
    account = Account.objects.get(user=user)
    assert account.last_event_seq == 1
    Account.objects.filter(pk=account.pk).update(last_event_seq=0)  # the next event would be #1 again
    assert [v.check for v in ledger_audit()[0]] == ["event_seq"]


def test_audit_ledger_is_clean_for_a_healthy_ledger(user, capsys):
    from django.core.management import call_command

    call_command("audit_ledger")
    assert "0 violations" in capsys.readouterr().out


@pytest.mark.parametrize("query", ["page_size=", "page_size=0", "page=abc", "page=0"])
def test_a_csv_export_with_a_bad_page_parameter_is_400(jwt_client, query):
    response = jwt_client.get(f"/api/v1/portfolio/transactions?format=csv&{query}")
    assert_error(response, 400, "validation_error")
