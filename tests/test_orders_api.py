from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from portfolio.models import Account, AccountEvent, Holding, Transaction
from tests.factories import UserFactory, open_account_for
from tests.helpers import assert_error
from trading import rules
from trading.models import Execution, Order
from trading.services import orders_expire, orders_match_tick

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/trading/orders"


@pytest.fixture
def priced(samsung, store_price):
    store_price("A005930", 70_000, base=69_000)
    return samsung


def place(client, **body):
    order = {"stock_code": "A005930", "side": "BUY", "type": "MARKET", "quantity": 10, **body}
    return client.post(ORDERS, {k: v for k, v in order.items() if v is not ...}, format="json")


def account_of(user):
    return Account.objects.get(user=user, is_open=True)


def counts():
    return Order.objects.count(), Transaction.objects.count(), Execution.objects.count()


def test_market_buy_fills_at_the_latest_price_with_commission(jwt_client, user, priced):
    response = place(jwt_client, client_order_id="c-1")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "FILLED"
    assert body["filled_quantity"] == 10
    assert body["average_fill_price"] == 70_000
    assert body["reserved_cash"] == 0
    (execution,) = body["executions"]
    assert execution["commission"] == 105  # 700,000 × 0.015 %, rounded down
    account = account_of(user)
    assert account.cash == 10_000_000 - 700_105
    assert account.reserved_cash == 0
    row = Transaction.objects.get(transaction_type="BUY")
    assert (row.amount, row.commission, row.order_id, row.execution_id) == (-700_105, 105, body["id"], execution["id"])
    holding = Holding.objects.get(account=account, stock=priced)
    assert (holding.quantity, holding.average_cost) == (10, Decimal("70010.5"))
    assert list(AccountEvent.objects.filter(account=account).values_list("event_type", flat=True)) == [
        "order.accepted",
        "order.filled",
    ]


def test_market_sell_pays_commission_and_tax_and_books_realized_pnl(jwt_client, user, priced, store_price):
    place(jwt_client)
    store_price("A005930", 75_000, base=69_000)
    body = place(jwt_client, side="SELL", quantity=4).json()
    assert body["status"] == "FILLED"
    (execution,) = body["executions"]
    assert execution["commission"] == 45  # 300,000 × 0.015 %
    assert execution["tax"] == 600  # 300,000 × 0.20 %
    row = Transaction.objects.get(transaction_type="SELL")
    assert row.amount == 300_000 - 45 - 600
    assert row.realized_pnl == Decimal(300_000 - 45 - 600) - Decimal("70010.5") * 4
    assert Holding.objects.get(account=account_of(user)).quantity == 6


def test_market_order_without_a_fresh_price_is_409_and_writes_nothing(jwt_client, samsung, store_price):
    before = counts()
    assert_error(place(jwt_client), 409, "no_fresh_price")
    store_price("A005930", 70_000, received_at=timezone.now() - timedelta(minutes=5))
    assert_error(place(jwt_client), 409, "no_fresh_price")
    assert counts() == before


def test_limit_buy_below_the_market_rests_and_reserves_cash(jwt_client, user, priced):
    body = place(jwt_client, type="LIMIT", limit_price=69_000).json()
    assert body["status"] == "OPEN"
    assert body["reserved_cash"] == 690_000 + 103
    account = account_of(user)
    assert account.reserved_cash == 690_103
    portfolio = jwt_client.get("/api/v1/portfolio").json()
    assert portfolio["available_cash"] == 10_000_000 - 690_103
    assert Transaction.objects.count() == 1  # no ledger row for an order that has not filled


def test_marketable_limit_fills_at_the_market_price_not_the_limit(jwt_client, user, priced):
    body = place(jwt_client, type="LIMIT", limit_price="71000").json()
    assert body["status"] == "FILLED"
    assert body["average_fill_price"] == 70_000
    assert account_of(user).reserved_cash == 0


def test_resting_limit_fills_when_a_tick_crosses_and_never_beyond_the_limit(jwt_client, user, priced):
    order_id = place(jwt_client, type="LIMIT", limit_price=69_000).json()["id"]
    assert orders_match_tick(stock=priced, price=Decimal(69_100)).fills == 0
    result = orders_match_tick(stock=priced, price=Decimal(68_500))
    assert result.fills == 1
    order = Order.objects.get(pk=order_id)
    assert order.status == "FILLED"
    assert order.average_fill_price == 68_500
    account = account_of(user)
    assert account.reserved_cash == 0
    assert account.cash == 10_000_000 - 685_000 - 102


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"quantity": 0}, "validation_error", "quantity"),
        ({"quantity": -1}, "validation_error", "quantity"),
        ({"quantity": 1.5}, "validation_error", "quantity"),
        ({"quantity": "ten"}, "validation_error", "quantity"),
        ({"quantity": 1_000_001}, "validation_error", "quantity"),
        ({"type": "LIMIT"}, "order_rejected", "limit_price"),
        ({"type": "MARKET", "limit_price": 70_000}, "order_rejected", "limit_price"),
        ({"type": "STOP"}, "order_rejected", "stop_price"),
        ({"type": "MARKET", "time_in_force": "GTC"}, "order_rejected", "time_in_force"),
        ({"side": "HOLD"}, "validation_error", "side"),
        ({"type": "TRAILING"}, "validation_error", "type"),
        ({"stock_code": "005930"}, "validation_error", "stock_code"),
        ({"type": "LIMIT", "limit_price": 70_000.5}, "validation_error", "limit_price"),
        ({"client_order_id": "has spaces"}, "validation_error", "client_order_id"),
    ],
)
def test_bad_orders_are_400_and_write_nothing(jwt_client, priced, body, code, field):
    before = counts()
    error = assert_error(place(jwt_client, **body), 400, code)
    assert field in error["details"]
    assert counts() == before


def test_off_grid_and_out_of_band_prices_name_the_nearest_valid_ones(jwt_client, priced):
    before = counts()
    error = assert_error(place(jwt_client, type="LIMIT", limit_price=70_050), 400, "invalid_price")
    assert error["details"]["nearest"] == [70_000, 70_100]
    assert "70,000" in error["message"]
    assert "70,100" in error["message"]
    error = assert_error(place(jwt_client, type="LIMIT", limit_price=100_000), 400, "invalid_price")
    assert error["details"]["band"] == [48_300, 89_700]  # 69,000 ± 30 %, on the grid
    assert_error(place(jwt_client, type="STOP", stop_price=40_000, side="BUY"), 400, "invalid_price")
    assert counts() == before


def test_unknown_and_inactive_stocks(jwt_client, priced):
    assert_error(place(jwt_client, stock_code="A999999"), 404, "stock_not_found")
    priced.is_active = False
    priced.save()
    assert_error(place(jwt_client), 400, "order_rejected")
    assert Order.objects.count() == 0


def test_buying_beyond_available_cash_is_409(jwt_client, priced):
    before = counts()
    error = assert_error(place(jwt_client, quantity=200), 409, "insufficient_funds")  # 14,000,000 > 10,000,000
    assert error["details"]["available_cash"] == 10_000_000
    assert counts() == before


def test_selling_more_than_the_unreserved_quantity_is_409(jwt_client, priced):
    place(jwt_client, quantity=10)
    place(jwt_client, side="SELL", type="LIMIT", quantity=6, limit_price=80_000)
    before = counts()
    error = assert_error(place(jwt_client, side="SELL", quantity=5), 409, "insufficient_quantity")
    assert error["details"]["available_quantity"] == 4
    assert counts() == before


def test_cancel_releases_the_reservation_once(jwt_client, user, priced):
    order_id = place(jwt_client, type="LIMIT", limit_price=69_000).json()["id"]
    response = jwt_client.post(f"{ORDERS}/{order_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELED"
    assert account_of(user).reserved_cash == 0
    assert_error(jwt_client.post(f"{ORDERS}/{order_id}/cancel"), 409, "order_not_cancelable")
    assert account_of(user).reserved_cash == 0


def test_a_cancel_with_a_body_it_cannot_parse_is_refused_and_cancels_nothing(jwt_client, user, priced):
    order_id = place(jwt_client, type="LIMIT", limit_price=69_000).json()["id"]
    cancel = f"{ORDERS}/{order_id}/cancel"
    assert_error(jwt_client.post(cancel, "{not json", content_type="application/json"), 400, "malformed_request")
    assert jwt_client.post(cancel, "cancel it", content_type="text/plain").status_code == 415
    assert Order.objects.get(pk=order_id).status == "OPEN"
    assert jwt_client.post(cancel, "", content_type="application/json").status_code == 200  # no body is fine


def test_cancel_writes_each_changed_row_once_and_leaves_other_rows_alone(jwt_client, user, priced):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    place(jwt_client, quantity=5)  # a holding to sell from
    buy_id = place(jwt_client, type="LIMIT", limit_price=69_000).json()["id"]
    sell_id = place(jwt_client, side="SELL", type="LIMIT", limit_price=71_000, quantity=2).json()["id"]
    with CaptureQueriesContext(connection) as buy_cancel:
        assert jwt_client.post(f"{ORDERS}/{buy_id}/cancel").status_code == 200
    with CaptureQueriesContext(connection) as sell_cancel:
        assert jwt_client.post(f"{ORDERS}/{sell_id}/cancel").status_code == 200

    def updates(queries, table):
        return sum(q["sql"].startswith(f'UPDATE "{table}"') or q["sql"].startswith(f"UPDATE `{table}`")
                   for q in queries.captured_queries)  # fmt: skip

    assert (updates(buy_cancel, "portfolio_account"), updates(buy_cancel, "portfolio_holding")) == (1, 0)
    assert (updates(sell_cancel, "portfolio_account"), updates(sell_cancel, "portfolio_holding")) == (1, 1)
    holding = Holding.objects.get(account=account_of(user))
    assert (holding.quantity, holding.reserved_quantity) == (5, 0)


def test_a_filled_order_cannot_be_canceled(jwt_client, priced):
    order_id = place(jwt_client).json()["id"]
    assert_error(jwt_client.post(f"{ORDERS}/{order_id}/cancel"), 409, "order_not_cancelable")


def test_another_users_order_is_404(jwt_client, priced):
    other = UserFactory()
    open_account_for(other)
    from trading.services import OrderRequest, order_place

    theirs, _ = order_place(
        user=other, request=OrderRequest(stock_code="A005930", side="BUY", order_type="LIMIT", quantity=1,
                                         limit_price=Decimal(69_000))
    )  # fmt: skip
    assert_error(jwt_client.get(f"{ORDERS}/{theirs.pk}"), 404, "order_not_found")
    assert_error(jwt_client.post(f"{ORDERS}/{theirs.pk}/cancel"), 404, "order_not_found")
    assert Order.objects.get(pk=theirs.pk).status == "OPEN"
    assert jwt_client.get(ORDERS).json()["count"] == 0


def test_client_order_id_makes_retries_idempotent(jwt_client, user, priced):
    first = place(jwt_client, type="LIMIT", limit_price=69_000, client_order_id="retry-1")
    again = place(jwt_client, type="LIMIT", limit_price=69_000, client_order_id="retry-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Order.objects.count() == 1
    error = assert_error(
        place(jwt_client, type="LIMIT", limit_price=68_000, client_order_id="retry-1"), 409, "idempotency_conflict"
    )
    assert error["details"]["order_id"] == first.json()["id"]
    assert account_of(user).reserved_cash == first.json()["reserved_cash"]


def test_ioc_and_fok_limits_that_cannot_fill_now_are_canceled(jwt_client, user, priced):
    for tif in ("IOC", "FOK"):
        body = place(jwt_client, type="LIMIT", limit_price=69_000, time_in_force=tif).json()
        assert body["status"] == "CANCELED"
        assert body["filled_quantity"] == 0
    assert account_of(user).reserved_cash == 0


def test_realistic_fill_model_caps_at_tick_volume_and_slips_market_orders(
    jwt_client, user, priced, settings, store_price
):
    settings.FILL_MODEL = "realistic"
    store_price("A005930", 70_000, base=69_000, volume=3)
    body = place(jwt_client, quantity=10).json()
    assert body["filled_quantity"] == 3  # the tick traded 3 shares
    assert body["average_fill_price"] == 70_100  # one tick against the buyer
    assert body["status"] == "CANCELED"  # a market order never rests
    fok = place(jwt_client, quantity=10, time_in_force="FOK").json()
    assert (fok["status"], fok["filled_quantity"]) == ("CANCELED", 0)
    assert account_of(user).reserved_cash == 0


def test_realistic_model_shares_a_ticks_volume_among_resting_orders(jwt_client, priced, settings):
    settings.FILL_MODEL = "realistic"
    first = place(jwt_client, type="LIMIT", limit_price=69_000, quantity=5).json()["id"]
    second = place(jwt_client, type="LIMIT", limit_price=69_000, quantity=5).json()["id"]
    orders_match_tick(stock=priced, price=Decimal(68_900), volume=7)
    assert Order.objects.get(pk=first).filled_quantity == 5  # time priority
    assert Order.objects.get(pk=second).filled_quantity == 2
    assert Order.objects.get(pk=second).status == "PARTIALLY_FILLED"


def test_an_order_detail_lists_its_fills_newest_first_in_one_query(jwt_client, priced, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.FILL_MODEL = "realistic"
    order_id = place(jwt_client, type="LIMIT", limit_price=69_000, quantity=5).json()["id"]
    orders_match_tick(stock=priced, price=Decimal(68_900), volume=2)
    orders_match_tick(stock=priced, price=Decimal(68_800), volume=3)
    with CaptureQueriesContext(connection) as queries:
        body = jwt_client.get(f"{ORDERS}/{order_id}").json()
    assert [(e["quantity"], e["price"], e["stock_code"]) for e in body["executions"]] == [
        (3, 68_800, "A005930"),
        (2, 68_900, "A005930"),
    ]
    assert sum("trading_execution" in q["sql"] for q in queries.captured_queries) == 1
    assert not any(q["sql"].startswith('SELECT "marketdata_stock"') for q in queries.captured_queries)


def test_a_market_buy_answers_with_its_fill_without_reading_anything_back(jwt_client, user, priced):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        body = place(jwt_client).json()
    (execution,) = body["executions"]
    assert execution == {
        **execution,
        "id": Execution.objects.get().pk,
        "order_id": body["id"],
        "stock_code": "A005930",
        "quantity": 10,
        "price": 70_000,
    }
    sql = [q["sql"].upper() for q in queries.captured_queries]
    assert not any(s.startswith("SELECT") and "TRADING_EXECUTION" in s for s in sql)
    assert not any("MAX(" in s for s in sql)  # event seq comes from the locked account row
    assert account_of(user).last_event_seq == 2  # order.accepted, order.filled


def test_stop_sell_triggers_on_a_falling_tick_and_fills_at_market(jwt_client, user, priced):
    place(jwt_client, quantity=10)
    stop = place(jwt_client, side="SELL", type="STOP", stop_price=65_000, quantity=10, time_in_force="GTC").json()
    assert stop["status"] == "OPEN"
    assert orders_match_tick(stock=priced, price=Decimal(65_100)).triggered == 0
    result = orders_match_tick(stock=priced, price=Decimal(64_900))
    assert (result.triggered, result.fills) == (1, 1)
    order = Order.objects.get(pk=stop["id"])
    assert (order.status, order.average_fill_price) == ("FILLED", 64_900)
    assert order.triggered_at is not None


def test_stop_limit_buy_becomes_a_resting_limit_after_its_trigger(jwt_client, user, priced):
    body = place(jwt_client, type="STOP_LIMIT", stop_price=72_000, limit_price=72_500).json()
    assert body["status"] == "OPEN"
    orders_match_tick(stock=priced, price=Decimal(72_600))  # triggers, but above the limit
    order = Order.objects.get(pk=body["id"])
    assert (order.status, order.book, order.trigger_price) == ("OPEN", "BUY_LIMIT", 72_500)
    orders_match_tick(stock=priced, price=Decimal(72_400))
    order.refresh_from_db()
    assert (order.status, order.average_fill_price) == ("FILLED", 72_400)


def test_day_orders_expire_at_midnight_seoul_and_release_cash(jwt_client, user, priced):
    day = place(jwt_client, type="LIMIT", limit_price=69_000).json()
    gtc = place(jwt_client, type="LIMIT", limit_price=69_000, time_in_force="GTC").json()
    assert orders_expire(now=timezone.now()) == 0
    assert orders_expire(now=timezone.now() + timedelta(days=1)) == 1
    assert Order.objects.get(pk=day["id"]).status == "EXPIRED"
    assert Order.objects.get(pk=gtc["id"]).status == "OPEN"
    assert account_of(user).reserved_cash == gtc["reserved_cash"]


def test_market_hours_are_enforced_when_configured(auth_client, priced, settings, store_price):
    settings.MARKET_HOURS_ENFORCED = True
    with time_machine.travel(datetime(2026, 11, 28, 2, 0, tzinfo=UTC), tick=False):  # Saturday 11:00 KST
        assert_error(place(auth_client, type="LIMIT", limit_price=69_000), 409, "market_closed")
    with time_machine.travel(datetime(2026, 12, 31, 1, 0, tzinfo=UTC), tick=False):  # exchange holiday
        assert_error(place(auth_client, type="LIMIT", limit_price=69_000), 409, "market_closed")
    assert Order.objects.count() == 0
    with time_machine.travel(datetime(2026, 11, 30, 1, 0, tzinfo=UTC), tick=False):  # Monday 10:00 KST
        store_price("A005930", 70_000, base=69_000)
        body = place(auth_client, type="LIMIT", limit_price=69_000).json()
        assert body["status"] == "OPEN"
        assert body["expires_at"].startswith("2026-11-30T15:30:00+09:00")


def test_order_placement_is_throttled_per_user(jwt_client, priced, api_client):
    from trading.api import OrderThrottle

    original = OrderThrottle.THROTTLE_RATES
    OrderThrottle.THROTTLE_RATES = {**original, "orders": "3/min"}
    next_minute = (int(timezone.now().timestamp()) // 60 + 1) * 60
    start = datetime.fromtimestamp(next_minute + 40, UTC)  # 20 s before that minute's window ends
    try:
        with time_machine.travel(start, tick=False):
            for _ in range(3):
                assert place(jwt_client, type="LIMIT", limit_price=60_000, quantity=1).status_code == 201
            response = place(jwt_client, type="LIMIT", limit_price=60_000, quantity=1)
            other = UserFactory()
            open_account_for(other)
            api_client.force_authenticate(other)
            assert place(api_client, type="LIMIT", limit_price=60_000, quantity=1).status_code == 201  # per user
        with time_machine.travel(start + timedelta(seconds=20), tick=False):  # the next window
            assert place(jwt_client, type="LIMIT", limit_price=60_000, quantity=1).status_code == 201
    finally:
        OrderThrottle.THROTTLE_RATES = original
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) == 20
    assert Order.objects.count() == 5  # the throttled request wrote nothing
    assert jwt_client.get(ORDERS).status_code == 200  # reading is not throttled by the order scope


def test_lists_filter_by_status_and_stock_and_executions_list(jwt_client, priced, hynix, store_price):
    store_price("A000660", 200_000)
    place(jwt_client, quantity=1)
    place(jwt_client, type="LIMIT", limit_price=60_000, quantity=1)
    place(jwt_client, stock_code="A000660", quantity=1)
    assert jwt_client.get(ORDERS).json()["count"] == 3
    assert jwt_client.get(ORDERS, {"status": "WORKING"}).json()["count"] == 1
    assert jwt_client.get(ORDERS, {"status": "FILLED", "stock": "A000660"}).json()["count"] == 1
    assert_error(jwt_client.get(ORDERS, {"status": "DONE"}), 400)
    executions = jwt_client.get("/api/v1/trading/executions").json()
    assert executions["count"] == 2
    assert {e["stock_code"] for e in executions["results"]} == {"A005930", "A000660"}


@pytest.mark.parametrize("path", [ORDERS, "/api/v1/trading/executions"])
@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01"},
        {"page": "abc"},
        {"stock": "5930"},
    ],
)
def test_lists_reject_bad_filters(jwt_client, priced, path, params):
    assert_error(jwt_client.get(path, params), 400, "validation_error")


def test_account_reset_cancels_working_orders(jwt_client, user, priced):
    place(jwt_client, quantity=10)
    place(jwt_client, type="LIMIT", limit_price=69_000)
    place(jwt_client, side="SELL", type="LIMIT", quantity=10, limit_price=80_000)
    assert jwt_client.post("/api/v1/portfolio/reset").status_code == 201
    assert not Order.objects.filter(status__in=["OPEN", "PARTIALLY_FILLED"]).exists()
    old = Account.objects.get(user=user, is_open=None)
    assert old.reserved_cash == 0
    assert Holding.objects.get(account=old, stock=priced).reserved_quantity == 0


def test_a_stop_buy_the_account_cannot_pay_for_at_trigger_is_rejected_and_released(priced):
    from trading.services import OrderRequest, order_place

    poor = UserFactory()
    open_account_for(poor, starting_cash=Decimal(80_000))
    order, _ = order_place(
        user=poor, request=OrderRequest("A005930", "BUY", "STOP", quantity=1, stop_price=Decimal(72_000))
    )
    assert order.reserved_cash == 75_600 + 11  # stop × (1 + 5 % buffer) + commission
    result = orders_match_tick(stock=priced, price=Decimal(85_000))  # gaps far above the stop
    assert (result.triggered, result.fills, result.rejected) == (1, 0, 1)
    order.refresh_from_db()
    assert order.status == "REJECTED"
    assert "not enough cash" in order.reject_reason
    account = account_of(poor)
    assert (account.cash, account.reserved_cash) == (80_000, 0)
    seqs = list(AccountEvent.objects.filter(account=account).order_by("seq").values_list("seq", "event_type"))
    assert seqs == [(1, "order.accepted"), (2, "order.rejected")]  # no gap from the rolled-back attempt


def test_one_tick_fills_an_earlier_order_of_the_account_and_rejects_its_unaffordable_stop_buy(priced):
    """The matcher holds an account's writes in memory across its orders; a stop buy's rolled-back
    attempt must neither lose the earlier fill nor leave a gap in the events."""
    from trading.services import OrderRequest, order_place

    trader = UserFactory()
    open_account_for(trader, starting_cash=Decimal(830_000))
    order_place(user=trader, request=OrderRequest("A005930", "BUY", "MARKET", quantity=1, time_in_force="IOC"))
    sell, _ = order_place(
        user=trader, request=OrderRequest("A005930", "SELL", "LIMIT", quantity=1, limit_price=Decimal(80_000))
    )
    stop, _ = order_place(
        user=trader, request=OrderRequest("A005930", "BUY", "STOP", quantity=10, stop_price=Decimal(72_000))
    )
    account = account_of(trader)
    cash_before = account.cash
    result = orders_match_tick(stock=priced, price=Decimal(89_000))  # 10 × 89,000 > cash even after the sale
    assert (result.candidates, result.fills, result.triggered, result.rejected) == (2, 1, 1, 1)
    sell.refresh_from_db()
    stop.refresh_from_db()
    assert (sell.status, stop.status, stop.reserved_cash) == ("FILLED", "REJECTED", 0)
    account.refresh_from_db()
    proceeds = Decimal(89_000) - rules.commission_for(Decimal(89_000)) - rules.sell_tax_for(Decimal(89_000))
    assert (account.cash, account.reserved_cash) == (cash_before + proceeds, 0)
    assert Holding.objects.get(account=account, stock=priced).quantity == 0
    events = list(AccountEvent.objects.filter(account=account).order_by("seq").values_list("seq", "event_type"))
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
    assert [kind for _, kind in events[-2:]] == ["order.filled", "order.rejected"]


def test_a_resting_buy_that_fees_raised_since_placement_make_unaffordable_is_rejected_alone(priced, settings):
    """Only a fee change can make a resting limit buy cost more than it reserved. The account's
    transaction for the tick rolls back whole (an earlier fill included), the order is rejected
    and its reservation released, and the earlier order fills on the next tick."""
    from trading.services import OrderRequest, order_place

    trader = UserFactory()
    open_account_for(trader, starting_cash=Decimal(139_000))
    first, second = (
        order_place(user=trader, request=OrderRequest("A005930", "BUY", "LIMIT", quantity=1,
                                                      limit_price=Decimal(69_000), time_in_force="GTC"))[0]
        for _ in range(2)
    )  # fmt: skip
    assert first.reserved_cash == second.reserved_cash == 69_010  # 10 won commission
    settings.COMMISSION_RATE = Decimal("0.01")  # now 690: the cash covers the first fill, not the second
    counts_before = counts()

    result = orders_match_tick(stock=priced, price=Decimal(69_000))

    assert (result.fills, result.rejected) == (0, 1)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.filled_quantity) == ("OPEN", 0)  # its fill rolled back with the account
    assert (second.status, second.reserved_cash) == ("REJECTED", 0)
    assert "current fees" in second.reject_reason
    account = account_of(trader)
    assert (account.cash, account.reserved_cash) == (139_000, 69_010)
    assert counts() == counts_before  # no execution and no ledger row from the rolled-back attempt
    events = list(AccountEvent.objects.filter(account=account).order_by("seq").values_list("seq", "event_type"))
    assert events == [(1, "order.accepted"), (2, "order.accepted"), (3, "order.rejected")]

    assert orders_match_tick(stock=priced, price=Decimal(69_000)).fills == 1
    first.refresh_from_db()
    account.refresh_from_db()
    assert (first.status, account.cash, account.reserved_cash) == ("FILLED", 139_000 - 69_690, 0)


@pytest.mark.parametrize(
    "quantity", ["１０", "١٠", "1_0", " 10 ", "10 ", "+10", "1e1", 10.0, 10.5, True, [10], "", None]
)
def test_a_quantity_is_a_json_integer_or_plain_ascii_digits_only(jwt_client, priced, quantity):
    before = counts()
    error = assert_error(place(jwt_client, quantity=quantity), 400, "validation_error")
    assert "quantity" in error["details"]
    assert counts() == before


@pytest.mark.parametrize("quantity", [10, "10"])
def test_a_quantity_as_an_integer_or_a_digit_string_is_taken(jwt_client, priced, quantity):
    response = place(jwt_client, quantity=quantity)
    assert response.status_code == 201, response.content
    assert response.json()["quantity"] == 10
