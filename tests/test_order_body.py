"""trading.bodies renders exactly what the documented serializer renders, for every kind of order."""

from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer

from trading.api import OrderDetailOutputSerializer
from trading.bodies import order_body
from trading.selectors import order_replacement_id, order_with_executions
from trading.services import OrderRequest, order_cancel, order_place, order_replace, orders_match_tick

pytestmark = pytest.mark.django_db


def request(**kwargs):
    fields = {"stock_code": "A005930", "side": "BUY", "order_type": "MARKET", "quantity": 3, **kwargs}
    return OrderRequest(**fields)


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


def both(order):
    order = order_with_executions(order)
    return rendered(OrderDetailOutputSerializer(order).data), rendered(
        order_body(order, replaced_by=order_replacement_id(order))
    )


def test_the_fast_body_equals_the_serializer_for_every_kind_of_order(user, samsung, store_price):
    store_price("A005930", 70_000, base=69_000)
    market, _ = order_place(user=user, request=request(client_order_id="m-1"))
    sell, _ = order_place(user=user, request=request(side="SELL", quantity=1))
    resting, _ = order_place(user=user, request=request(order_type="LIMIT", limit_price=Decimal(68_000)))
    partly, _ = order_place(user=user, request=request(order_type="LIMIT", limit_price=Decimal(69_000), quantity=5))
    stop, _ = order_place(
        user=user, request=request(order_type="STOP_LIMIT", stop_price=Decimal(72_000), limit_price=Decimal(72_500))
    )
    orders_match_tick(stock=samsung, price=Decimal(68_900), volume=None)
    canceled = order_cancel(user=user, order_id=resting.pk)
    replaced, _ = order_replace(user=user, order_id=stop.pk, limit_price=Decimal(73_000))
    stop.refresh_from_db()
    for order in (market, sell, partly, canceled, stop, replaced):
        order.refresh_from_db()
        order.fills = None
        serializer_body, fast_body = both(order)
        assert fast_body == serializer_body, order
    # straight from placement, before any reread (the path the API takes)
    fresh, _ = order_place(user=user, request=request(quantity=1))
    assert rendered(order_body(fresh, replaced_by=None)) == rendered(OrderDetailOutputSerializer(fresh).data)
