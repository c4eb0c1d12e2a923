"""Orders API (docs/architecture.md §9): place, list, detail, cancel, executions."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.errors import error_response
from kernel.fields import BodylessAction, DayRangeFilter, StrictIntegerField, WonField
from kernel.pagination import PagePagination
from kernel.text_fields import StrictRegexField
from kernel.throttles import WindowedUserRateThrottle
from marketdata.codes import stock_code_validator
from portfolio.selectors import account_get_open
from trading import selectors
from trading.bodies import order_body
from trading.models import OrderStatus, OrderType, Side, TimeInForce
from trading.services import OrderRequest, order_cancel, order_place, order_replace


class OrderThrottle(WindowedUserRateThrottle):
    """200 order placements per minute per user, as Alpaca's paper API allows."""

    scope = "orders"


class ExecutionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    stock_code = serializers.CharField(source="stock.code")
    side = serializers.CharField()
    quantity = serializers.IntegerField()
    price = serializers.IntegerField()
    commission = serializers.IntegerField()
    tax = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="signed cash change")
    created_at = serializers.DateTimeField()


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client_order_id = serializers.CharField(allow_null=True)
    stock_code = serializers.CharField(source="stock.code")
    stock_name = serializers.CharField(source="stock.name")
    side = serializers.CharField()
    type = serializers.CharField(source="order_type")
    time_in_force = serializers.CharField()
    quantity = serializers.IntegerField()
    filled_quantity = serializers.IntegerField()
    remaining_quantity = serializers.IntegerField()
    limit_price = serializers.IntegerField(allow_null=True)
    stop_price = serializers.IntegerField(allow_null=True)
    average_fill_price = serializers.DecimalField(
        max_digits=20, decimal_places=2, coerce_to_string=False, allow_null=True
    )
    status = serializers.CharField()
    reserved_cash = serializers.IntegerField()
    reserved_quantity = serializers.IntegerField()
    reject_reason = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    triggered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    replaces = serializers.IntegerField(
        source="replaces_id", allow_null=True, help_text="정정: the order this one replaced, if any"
    )


class OrderDetailOutputSerializer(OrderOutputSerializer):
    executions = ExecutionOutputSerializer(many=True, source="fills")
    replaced_by = serializers.SerializerMethodField(help_text="정정: the order that replaced this one, if any")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_replaced_by(self, order) -> int | None:
        return selectors.order_replacement_id(order)


ORDER_EXAMPLES = [
    OpenApiExample(
        "Market buy",
        request_only=True,
        value={"stock_code": "A005930", "side": "BUY", "type": "MARKET", "quantity": 10, "client_order_id": "c-1"},
    ),
    OpenApiExample(
        "Limit buy (day)",
        request_only=True,
        value={
            "stock_code": "A005930",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": 10,
            "limit_price": 70000,
            "time_in_force": "DAY",
        },
    ),  # fmt: skip
    OpenApiExample(
        "Limit sell, immediate or cancel",
        request_only=True,
        value={
            "stock_code": "A000660",
            "side": "SELL",
            "type": "LIMIT",
            "quantity": 5,
            "limit_price": 200000,
            "time_in_force": "IOC",
        },
    ),  # fmt: skip
    OpenApiExample(
        "Stop sell (stop loss, good till canceled)",
        request_only=True,
        value={
            "stock_code": "A005930",
            "side": "SELL",
            "type": "STOP",
            "quantity": 10,
            "stop_price": 65000,
            "time_in_force": "GTC",
        },
    ),  # fmt: skip
    OpenApiExample(
        "Stop-limit buy",
        request_only=True,
        value={
            "stock_code": "A005930",
            "side": "BUY",
            "type": "STOP_LIMIT",
            "quantity": 10,
            "stop_price": 72000,
            "limit_price": 72500,
        },
    ),  # fmt: skip
]


class OrdersApi(APIView):
    class InputSerializer(serializers.Serializer):
        stock_code = serializers.CharField(max_length=7, validators=[stock_code_validator])
        side = serializers.ChoiceField(choices=Side.choices)
        type = serializers.ChoiceField(choices=OrderType.choices)
        quantity = StrictIntegerField(min_value=1, max_value=settings.ORDER_MAX_QUANTITY)
        limit_price = WonField(required=False, allow_null=True, max_value=10_000_000)
        stop_price = WonField(required=False, allow_null=True, max_value=10_000_000)
        time_in_force = serializers.ChoiceField(choices=TimeInForce.choices, default=TimeInForce.DAY)
        client_order_id = StrictRegexField(
            r"^[A-Za-z0-9._:-]{1,64}\Z", required=False, allow_null=True,
            error_messages={"invalid": _("1–64 letters, digits or . _ : -")},
        )  # fmt: skip

    class FilterSerializer(DayRangeFilter):
        status = serializers.ChoiceField(choices=[*OrderStatus.values, "WORKING"], required=False)
        stock = serializers.CharField(required=False, max_length=7, validators=[stock_code_validator])

    def get_throttles(self):
        return [OrderThrottle()] if self.request.method == "POST" else super().get_throttles()

    @extend_schema(
        tags=["orders"],
        parameters=[FilterSerializer],
        responses={200: OrderOutputSerializer(many=True), 404: error_response("`account_not_found`: no open account.")},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        rows = selectors.orders_list(
            account=account_get_open(user=request.user),
            status=params.get("status"),
            stock_code=params.get("stock"),
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
        )
        paginator = PagePagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["orders"],
        request=InputSerializer,
        responses={
            201: OrderDetailOutputSerializer,
            200: OrderDetailOutputSerializer,
            400: error_response("`validation_error`, or `invalid_price` (off the tick grid or the ±30 % band)."),
            404: error_response("`stock_not_found`, or `account_not_found`: no open account."),
            409: error_response(
                "`insufficient_funds`, `insufficient_quantity`, `no_fresh_price`, `market_closed` or "
                "`idempotency_conflict` (the `client_order_id` was used for a different order)."
            ),
            503: error_response("`account_busy`: another request is moving the account; see `Retry-After`."),
        },
        examples=ORDER_EXAMPLES,
        description=(
            "Place an order. MARKET fills now at the latest price (409 `no_fresh_price` if none is fresh); LIMIT "
            "fills now if marketable, else rests; STOP/STOP_LIMIT wait for their trigger. Limit and stop prices "
            "must sit on the KRX tick grid inside ±30 % of the previous close. A retry with the same "
            "`client_order_id` answers 200 with the original order."
        ),
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        order, created = order_place(
            user=request.user,
            request=OrderRequest(
                stock_code=values["stock_code"],
                side=values["side"],
                order_type=values["type"],
                quantity=values["quantity"],
                limit_price=values.get("limit_price"),
                stop_price=values.get("stop_price"),
                time_in_force=values["time_in_force"],
                client_order_id=values.get("client_order_id"),
            ),
        )
        return Response(
            order_body(
                selectors.order_with_executions(order),
                replaced_by=None if created else selectors.order_replacement_id(order),
            ),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class OrderDetailApi(APIView):
    class ReplaceInputSerializer(serializers.Serializer):
        quantity = StrictIntegerField(required=False, min_value=1, max_value=settings.ORDER_MAX_QUANTITY)
        limit_price = WonField(required=False, max_value=10_000_000)
        stop_price = WonField(required=False, max_value=10_000_000)

    def get_throttles(self):
        return [OrderThrottle()] if self.request.method == "PATCH" else super().get_throttles()

    @extend_schema(tags=["orders"], responses={200: OrderDetailOutputSerializer})
    def get(self, request, order_id: int):
        return Response(OrderDetailOutputSerializer(selectors.order_get(user=request.user, order_id=order_id)).data)

    @extend_schema(
        tags=["orders"],
        request=ReplaceInputSerializer,
        responses={
            201: OrderDetailOutputSerializer,
            200: OrderDetailOutputSerializer,
            400: error_response("`validation_error`, `order_rejected` (nothing changes) or `invalid_price`."),
            404: error_response("`order_not_found`."),
            409: error_response(
                "`order_not_replaceable` (filled, canceled, or replaced by another change), `insufficient_funds`, "
                "`insufficient_quantity`, `no_fresh_price` or `market_closed`."
            ),
            503: error_response("`account_busy`: another request is moving the account; see `Retry-After`."),
        },
        description=(
            "정정: replace a working order. Cancels it and places a new order with the same side, type and time in "
            "force at the new quantity (default: what was left) and prices, in one step; the new order's `replaces` "
            "and the old one's `replaced_by` link them. Cash, the tick grid and the price band are checked again. "
            "Sending the same change again answers 200 with the replacement."
        ),
    )
    def patch(self, request, order_id: int):
        data = self.ReplaceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order, created = order_replace(user=request.user, order_id=order_id, **data.validated_data)
        return Response(
            order_body(
                selectors.order_with_executions(order),
                replaced_by=None if created else selectors.order_replacement_id(order),
            ),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class OrderCancelApi(BodylessAction, APIView):
    @extend_schema(
        tags=["orders"],
        request=None,
        responses={
            200: OrderDetailOutputSerializer,
            409: error_response("`order_not_cancelable`: already filled, canceled or expired."),
            503: error_response("`account_busy`: another request is moving the account; see `Retry-After`."),
        },
    )
    def post(self, request, order_id: int):
        order_cancel(user=request.user, order_id=order_id)
        return Response(OrderDetailOutputSerializer(selectors.order_get(user=request.user, order_id=order_id)).data)


class ExecutionsApi(APIView):
    class FilterSerializer(DayRangeFilter):
        stock = serializers.CharField(required=False, max_length=7, validators=[stock_code_validator])

    @extend_schema(
        tags=["orders"],
        parameters=[FilterSerializer],
        responses={
            200: ExecutionOutputSerializer(many=True),
            404: error_response("`account_not_found`: no open account."),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = selectors.executions_list(
            account=account_get_open(user=request.user),
            stock_code=filters.validated_data.get("stock"),
            date_from=filters.validated_data.get("date_from"),
            date_to=filters.validated_data.get("date_to"),
        )
        paginator = PagePagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(ExecutionOutputSerializer(page, many=True).data)
