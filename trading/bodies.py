"""The order as the API answers it, built directly for the hot paths (placing, replacing).

`trading.api.OrderDetailOutputSerializer` documents this shape and renders it elsewhere; building
it through the serializer cost more than all of a market buy's SQL (DRF deep-copies every declared
field per instance). Values are formatted by the same DRF field classes, and a test keeps both
outputs equal for every kind of order.
"""

from __future__ import annotations

from rest_framework import serializers

from trading.models import Execution, Order

_datetime = serializers.DateTimeField()
_fill_price = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=False, allow_null=True)


def _when(value):
    return None if value is None else _datetime.to_representation(value)


def _won(value):
    return None if value is None else int(value)


def execution_body(execution: Execution, stock_code: str) -> dict:
    return {
        "id": execution.pk,
        "order_id": execution.order_id,
        "stock_code": stock_code,
        "side": execution.side,
        "quantity": int(execution.quantity),
        "price": int(execution.price),
        "commission": int(execution.commission),
        "tax": int(execution.tax),
        "amount": int(execution.amount),
        "created_at": _when(execution.created_at),
    }


def order_body(order: Order, *, replaced_by: int | None) -> dict:
    """What OrderDetailOutputSerializer(order).data is, for an order whose `fills` are loaded."""
    stock = order.stock
    return {
        "id": order.pk,
        "client_order_id": order.client_order_id,
        "stock_code": stock.code,
        "stock_name": stock.name,
        "side": order.side,
        "type": order.order_type,
        "time_in_force": order.time_in_force,
        "quantity": int(order.quantity),
        "filled_quantity": int(order.filled_quantity),
        "remaining_quantity": int(order.remaining_quantity),
        "limit_price": _won(order.limit_price),
        "stop_price": _won(order.stop_price),
        "average_fill_price": None
        if order.average_fill_price is None
        else _fill_price.to_representation(order.average_fill_price),
        "status": order.status,
        "reserved_cash": int(order.reserved_cash),
        "reserved_quantity": int(order.reserved_quantity),
        "reject_reason": order.reject_reason,
        "expires_at": _when(order.expires_at),
        "triggered_at": _when(order.triggered_at),
        "created_at": _when(order.created_at),
        "updated_at": _when(order.updated_at),
        "closed_at": _when(order.closed_at),
        "replaces": order.replaces_id,
        "executions": [execution_body(execution, stock.code) for execution in order.fills or ()],
        "replaced_by": replaced_by,
    }
