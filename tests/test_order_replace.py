"""정정 (order replace): cancel-and-replace in one unit of work (docs/architecture.md)."""

from decimal import Decimal

import pytest

from portfolio.errors import InsufficientFunds
from portfolio.models import Account, AccountEvent, Holding
from tests.factories import UserFactory, open_account_for
from trading.errors import OrderNotFound, OrderNotReplaceable, OrderRejected
from trading.models import Execution, Order
from trading.services import OrderRequest, order_place, order_replace, orders_match_tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced(samsung, store_price):
    store_price("A005930", 70_000, base=69_000)
    return samsung


def limit_buy(user, price=69_000, quantity=10, **kwargs):
    order, _ = order_place(
        user=user,
        request=OrderRequest(
            stock_code="A005930",
            side="BUY",
            order_type="LIMIT",
            quantity=quantity,
            limit_price=Decimal(price),
            **kwargs,
        ),
    )
    return order


def account_of(user):
    return Account.objects.get(user=user, is_open=True)


def test_a_replace_cancels_the_old_order_and_reserves_for_the_new_one(user, priced):
    old = limit_buy(user)
    new, created = order_replace(user=user, order_id=old.pk, quantity=5, limit_price=Decimal(68_000))
    old.refresh_from_db()
    assert created
    assert (old.status, old.reserved_cash, old.replaced_by.pk) == ("CANCELED", 0, new.pk)
    assert (new.status, new.quantity, new.limit_price, new.replaces_id) == ("OPEN", 5, 68_000, old.pk)
    assert account_of(user).reserved_cash == new.reserved_cash == 340_000 + 51
    events = list(
        AccountEvent.objects.filter(account=account_of(user)).order_by("seq").values_list("event_type", "payload")
    )
    assert [e for e, _ in events[-2:]] == ["order.canceled", "order.accepted"]
    assert (events[-1][1]["replaces"], events[-1][1]["order_id"]) == (old.pk, new.pk)


def test_a_replace_that_makes_the_order_marketable_fills_it_at_once(user, priced):
    old = limit_buy(user)
    new, _ = order_replace(user=user, order_id=old.pk, limit_price=Decimal(71_000))
    assert (new.status, new.filled_quantity, new.average_fill_price) == ("FILLED", 10, 70_000)
    assert Holding.objects.get(account=account_of(user)).quantity == 10


def test_repeating_a_replace_returns_the_replacement_and_changes_nothing(user, priced):
    old = limit_buy(user)
    first, _ = order_replace(user=user, order_id=old.pk, limit_price=Decimal(68_000))
    again, created = order_replace(user=user, order_id=old.pk, limit_price=Decimal(68_000))
    assert (again.pk, created) == (first.pk, False)
    with pytest.raises(OrderNotReplaceable):
        order_replace(user=user, order_id=old.pk, limit_price=Decimal(67_000))
    assert Order.objects.count() == 2


def test_a_filled_order_cannot_be_replaced_and_nothing_is_written(user, priced):
    old = limit_buy(user)
    orders_match_tick(stock=priced, price=Decimal(68_900))
    before = (Order.objects.count(), Execution.objects.count(), AccountEvent.objects.count())
    with pytest.raises(OrderNotReplaceable):
        order_replace(user=user, order_id=old.pk, limit_price=Decimal(68_000))
    assert (Order.objects.count(), Execution.objects.count(), AccountEvent.objects.count()) == before


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({}, OrderRejected),  # nothing to change
        ({"limit_price": Decimal(69_000)}, OrderRejected),  # the same order again
        ({"limit_price": Decimal(69_050)}, OrderRejected),  # off the tick grid (InvalidPrice)
        ({"limit_price": Decimal(100_000)}, OrderRejected),  # beyond +30 % of the previous close
        ({"stop_price": Decimal(70_000)}, OrderRejected),  # a limit order takes no stop price
        ({"quantity": 10_000}, InsufficientFunds),  # more than the cash allows
    ],
)
def test_a_bad_replace_leaves_the_old_order_working(user, priced, change, error):
    old = limit_buy(user)
    reserved = account_of(user).reserved_cash
    with pytest.raises(error):
        order_replace(user=user, order_id=old.pk, **change)
    old.refresh_from_db()
    assert (old.status, Order.objects.count(), account_of(user).reserved_cash) == ("OPEN", 1, reserved)


def test_another_users_order_is_not_found(user, priced):
    old = limit_buy(user)
    stranger = UserFactory()
    open_account_for(stranger)
    with pytest.raises(OrderNotFound):
        order_replace(user=stranger, order_id=old.pk, limit_price=Decimal(68_000))


# --- PATCH trading/orders/{id} ---------------------------------------------------------------

ORDERS = "/api/v1/trading/orders"


def test_patch_replaces_a_working_order_and_links_both(jwt_client, user, priced):
    old = jwt_client.post(
        ORDERS, {"stock_code": "A005930", "side": "BUY", "type": "LIMIT", "quantity": 10, "limit_price": 69_000},
        format="json",
    ).json()  # fmt: skip
    response = jwt_client.patch(f"{ORDERS}/{old['id']}", {"quantity": 4, "limit_price": "68500"}, format="json")
    assert response.status_code == 201, response.content
    new = response.json()
    assert (new["status"], new["quantity"], new["limit_price"], new["replaces"]) == ("OPEN", 4, 68_500, old["id"])
    detail = jwt_client.get(f"{ORDERS}/{old['id']}").json()
    assert (detail["status"], detail["replaced_by"]) == ("CANCELED", new["id"])
    again = jwt_client.patch(f"{ORDERS}/{old['id']}", {"quantity": 4, "limit_price": 68_500}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, new["id"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "order_rejected"),
        ({"quantity": 0}, 400, "validation_error"),
        ({"quantity": "１０"}, 400, "validation_error"),
        ({"limit_price": 69_050}, 400, "invalid_price"),
        ({"limit_price": None}, 400, "validation_error"),
        ({"limit_price": "abc"}, 400, "validation_error"),
    ],
)
def test_patch_with_bad_input_is_4xx_and_writes_nothing(jwt_client, user, priced, body, status, code):
    from tests.helpers import assert_error

    old = limit_buy(user)
    assert_error(jwt_client.patch(f"{ORDERS}/{old.pk}", body, format="json"), status, code)
    old.refresh_from_db()
    assert (old.status, Order.objects.count()) == ("OPEN", 1)


def test_patch_of_a_filled_or_unknown_order(jwt_client, user, priced):
    from tests.helpers import assert_error

    old = limit_buy(user)
    orders_match_tick(stock=priced, price=Decimal(68_900))
    assert_error(
        jwt_client.patch(f"{ORDERS}/{old.pk}", {"limit_price": 68_000}, format="json"), 409, "order_not_replaceable"
    )
    assert_error(jwt_client.patch(f"{ORDERS}/999999", {"limit_price": 68_000}, format="json"), 404, "order_not_found")
