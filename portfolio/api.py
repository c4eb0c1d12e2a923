"""Portfolio API (DESIGN.md §9): summary, holdings, ledger, deposit/withdraw/reset, watchlists."""

import csv
from decimal import Decimal

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.errors import error_response
from kernel.fields import BodylessAction, DayRangeFilter, WonField, visible_text
from kernel.pagination import PagePagination
from kernel.text_fields import StrictCharField
from marketdata.codes import stock_code_validator
from marketdata.selectors import stock_get
from portfolio import selectors, services
from portfolio.models import TransactionType

NO_ACCOUNT = error_response("`account_not_found`: you have no open account.")
ACCOUNT_BUSY = error_response("`account_busy`: another request is moving this account; retry after `Retry-After`.")


def _won(value: Decimal | None):
    return None if value is None else int(value)


class AccountOutputSerializer(serializers.Serializer):
    """Balances of the open account."""

    account_id = serializers.IntegerField(source="account.pk")
    cash = serializers.IntegerField(source="account.cash")
    reserved_cash = serializers.IntegerField(source="account.reserved_cash")
    available_cash = serializers.IntegerField(source="account.available_cash")
    withdrawable_cash = serializers.IntegerField()
    starting_cash = serializers.IntegerField(source="account.starting_cash")
    opened_at = serializers.DateTimeField(source="account.opened_at")


class PortfolioOutputSerializer(AccountOutputSerializer):
    market_value = serializers.IntegerField()
    equity = serializers.IntegerField()
    unrealized_pnl = serializers.IntegerField()
    realized_pnl = serializers.IntegerField()
    net_deposits = serializers.IntegerField()
    total_return = serializers.IntegerField()
    total_return_pct = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    holdings_count = serializers.SerializerMethodField()
    as_of = serializers.DateTimeField()

    def get_holdings_count(self, summary) -> int:
        return len(summary.holdings)


class HoldingOutputSerializer(serializers.Serializer):
    stock_code = serializers.CharField(source="stock.code")
    stock_name = serializers.CharField(source="stock.name")
    stock_name_en = serializers.CharField(source="stock.name_en")
    quantity = serializers.IntegerField()
    reserved_quantity = serializers.IntegerField(source="holding.reserved_quantity")
    available_quantity = serializers.IntegerField(source="holding.available_quantity")
    average_cost = serializers.DecimalField(
        source="holding.average_cost", max_digits=20, decimal_places=2, coerce_to_string=False
    )
    cost_basis = serializers.IntegerField()
    price = serializers.IntegerField(allow_null=True)
    price_is_stale = serializers.BooleanField(help_text="true: valued at the last fill price, no fresh quote")
    day_change_pct = serializers.DecimalField(
        source="change_pct", max_digits=8, decimal_places=2, coerce_to_string=False, allow_null=True
    )
    market_value = serializers.IntegerField()
    unrealized_pnl = serializers.IntegerField()
    unrealized_pnl_pct = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, allow_null=True
    )


class PortfolioApi(APIView):
    @extend_schema(tags=["portfolio"], responses={200: PortfolioOutputSerializer, 404: NO_ACCOUNT})
    def get(self, request):
        account = selectors.account_get_open(user=request.user)
        return Response(PortfolioOutputSerializer(selectors.portfolio_summary(account=account)).data)


class HoldingsApi(APIView):
    @extend_schema(tags=["portfolio"], responses={200: HoldingOutputSerializer(many=True), 404: NO_ACCOUNT})
    def get(self, request):
        summary = selectors.portfolio_summary(account=selectors.account_get_open(user=request.user))
        paginator = PagePagination()
        page = paginator.paginate_queryset(summary.holdings, request, view=self)
        return paginator.get_paginated_response(HoldingOutputSerializer(page, many=True).data)


class TransactionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    transaction_type = serializers.CharField()
    stock_code = serializers.CharField(source="stock.code", allow_null=True, default=None)
    stock_name = serializers.CharField(source="stock.name", allow_null=True, default=None)
    quantity = serializers.IntegerField()
    price = serializers.IntegerField(allow_null=True)
    amount = serializers.IntegerField()
    commission = serializers.IntegerField()
    tax = serializers.IntegerField()
    realized_pnl = serializers.IntegerField(allow_null=True)
    cash_balance_before = serializers.IntegerField()
    cash_balance_after = serializers.IntegerField()
    settlement_date = serializers.DateField(allow_null=True)
    memo = serializers.CharField()
    created_at = serializers.DateTimeField()


CSV_COLUMNS = [
    "id", "created_at", "transaction_type", "stock_code", "stock_name", "quantity", "price", "amount",
    "commission", "tax", "realized_pnl", "cash_balance_before", "cash_balance_after", "settlement_date", "memo",
]  # fmt: skip


class _Echo:
    def write(self, value):
        return value


def _csv_rows(rows):
    writer = csv.writer(_Echo())
    yield "\ufeff"  # BOM: Excel opens Korean names correctly
    yield writer.writerow(CSV_COLUMNS)
    for row in rows.iterator(chunk_size=2000):
        data = TransactionOutputSerializer(row).data
        yield writer.writerow(["" if data[c] is None else data[c] for c in CSV_COLUMNS])


class TransactionsApi(APIView):
    class FilterSerializer(DayRangeFilter):
        type = serializers.ChoiceField(choices=TransactionType.choices, required=False)
        stock = serializers.CharField(
            required=False, validators=[stock_code_validator], max_length=7, help_text="stock code, e.g. A005930"
        )
        format = serializers.ChoiceField(
            choices=["json", "csv"],
            required=False,
            default="json",
            help_text="csv: every row as a spreadsheet (UTF-8 with BOM), no pages",
        )

    @extend_schema(
        tags=["portfolio"],
        parameters=[FilterSerializer],
        responses={
            (200, "application/json"): TransactionOutputSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description=f"With `format=csv`: a header row ({', '.join(CSV_COLUMNS)}), then rows."
            ),
            404: NO_ACCOUNT,
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        rows = selectors.transactions_list(
            account=selectors.account_get_open(user=request.user),
            transaction_type=params.get("type"),
            stock_code=params.get("stock"),
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
        )
        if params["format"] == "csv":
            PagePagination().check_params(request)  # no pages in a CSV, but a bad page parameter is still a 400
            response = StreamingHttpResponse(_csv_rows(rows), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="stocking-ledger.csv"'
            return response
        paginator = PagePagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(TransactionOutputSerializer(page, many=True).data)


class AmountInputSerializer(serializers.Serializer):
    amount = WonField(help_text="whole won, 1 … 1,000,000,000,000")


def _account_response(account, status_code=status.HTTP_200_OK) -> Response:
    balances = {"account": account, "withdrawable_cash": selectors.account_withdrawable_cash(account=account)}
    return Response(AccountOutputSerializer(balances).data, status=status_code)


class DepositApi(APIView):
    @extend_schema(
        tags=["portfolio"],
        request=AmountInputSerializer,
        responses={200: AccountOutputSerializer, 404: NO_ACCOUNT, 503: ACCOUNT_BUSY},
        examples=[OpenApiExample("Deposit 1,000,000 won", value={"amount": 1000000}, request_only=True)],
    )
    def post(self, request):
        data = AmountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _account_response(services.account_deposit(user=request.user, amount=data.validated_data["amount"]))


class WithdrawApi(APIView):
    @extend_schema(
        tags=["portfolio"],
        request=AmountInputSerializer,
        responses={
            200: AccountOutputSerializer,
            404: NO_ACCOUNT,
            409: error_response("`insufficient_funds`: more than `withdrawable_cash`."),
            503: ACCOUNT_BUSY,
        },
        description="Up to `withdrawable_cash`: available cash minus sale proceeds that settle after today (T+2). "
        "More answers 409 `insufficient_funds`.",
        examples=[OpenApiExample("Withdraw 500,000 won", value={"amount": "500000"}, request_only=True)],
    )
    def post(self, request):
        data = AmountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _account_response(services.account_withdraw(user=request.user, amount=data.validated_data["amount"]))


class ResetApi(BodylessAction, APIView):
    @extend_schema(
        tags=["portfolio"],
        request=None,
        responses={
            201: AccountOutputSerializer,
            404: NO_ACCOUNT,
            429: error_response("`reset_limited`: accounts are reset at most so often; see `Retry-After`."),
            503: ACCOUNT_BUSY,
        },
        description="Close the open account (open orders canceled, history kept read-only) and open a fresh one "
        "with the starting cash.",
    )
    def post(self, request):
        return _account_response(services.account_reset(user=request.user), status.HTTP_201_CREATED)


# --- watchlists ---------------------------------------------------------------


class WatchlistItemOutputSerializer(serializers.Serializer):
    stock_code = serializers.CharField(source="stock.code")
    stock_name = serializers.CharField(source="stock.name")
    stock_name_en = serializers.CharField(source="stock.name_en")
    market = serializers.CharField(source="stock.market")
    position = serializers.IntegerField()
    added_at = serializers.DateTimeField()


class WatchlistOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()
    items = WatchlistItemOutputSerializer(many=True, source="items.all")
    created_at = serializers.DateTimeField()


class WatchlistNameInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=50, help_text="unique per user, case-insensitive", validators=[visible_text])


class WatchlistsApi(APIView):
    @extend_schema(tags=["watchlists"], responses={200: WatchlistOutputSerializer(many=True)})
    def get(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.watchlists_for(user=request.user), request, view=self)
        return paginator.get_paginated_response(WatchlistOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=["watchlists"],
        request=WatchlistNameInputSerializer,
        responses={
            201: WatchlistOutputSerializer,
            409: error_response("`duplicate` name, or `limit_reached`: too many watchlists."),
        },
        examples=[OpenApiExample("Create", value={"name": "반도체"}, request_only=True)],
    )
    def post(self, request):
        data = WatchlistNameInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        watchlist = services.watchlist_create(user=request.user, name=data.validated_data["name"])
        watchlist = selectors.watchlist_get(user=request.user, watchlist_id=watchlist.pk)
        return Response(WatchlistOutputSerializer(watchlist).data, status=status.HTTP_201_CREATED)


class WatchlistDetailApi(APIView):
    @extend_schema(tags=["watchlists"], responses={200: WatchlistOutputSerializer})
    def get(self, request, watchlist_id: int):
        return Response(
            WatchlistOutputSerializer(selectors.watchlist_get(user=request.user, watchlist_id=watchlist_id)).data
        )

    @extend_schema(
        tags=["watchlists"],
        request=WatchlistNameInputSerializer,
        responses={200: WatchlistOutputSerializer, 409: error_response("`duplicate`: you have a watchlist so named.")},
    )
    def patch(self, request, watchlist_id: int):
        data = WatchlistNameInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.watchlist_rename(user=request.user, watchlist_id=watchlist_id, name=data.validated_data["name"])
        return Response(
            WatchlistOutputSerializer(selectors.watchlist_get(user=request.user, watchlist_id=watchlist_id)).data
        )

    @extend_schema(tags=["watchlists"], responses={204: None})
    def delete(self, request, watchlist_id: int):
        services.watchlist_delete(user=request.user, watchlist_id=watchlist_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WatchlistItemsApi(APIView):
    class InputSerializer(serializers.Serializer):
        stock_code = serializers.CharField(max_length=7, validators=[stock_code_validator])

    @extend_schema(
        tags=["watchlists"],
        request=InputSerializer,
        responses={
            201: WatchlistOutputSerializer,
            404: error_response("`watchlist_not_found`, or `stock_not_found`: no such stock."),
            409: error_response("`duplicate`: already on the list, or `limit_reached`: the list is full."),
        },
        examples=[OpenApiExample("Add Samsung Electronics", value={"stock_code": "A005930"}, request_only=True)],
    )
    def post(self, request, watchlist_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stock = stock_get(code=data.validated_data["stock_code"])
        services.watchlist_add_stock(user=request.user, watchlist_id=watchlist_id, stock=stock)
        watchlist = selectors.watchlist_get(user=request.user, watchlist_id=watchlist_id)
        return Response(WatchlistOutputSerializer(watchlist).data, status=status.HTTP_201_CREATED)


class WatchlistItemApi(APIView):
    @extend_schema(tags=["watchlists"], responses={204: None})
    def delete(self, request, watchlist_id: int, stock_code: str):
        stock = stock_get(code=stock_code)
        services.watchlist_remove_stock(user=request.user, watchlist_id=watchlist_id, stock=stock)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WatchlistOrderApi(APIView):
    class InputSerializer(serializers.Serializer):
        stock_codes = serializers.ListField(
            child=serializers.CharField(max_length=7, validators=[stock_code_validator]), max_length=500
        )

    @extend_schema(
        tags=["watchlists"],
        request=InputSerializer,
        responses={200: WatchlistOutputSerializer},
        examples=[OpenApiExample("Reorder", value={"stock_codes": ["A000660", "A005930"]}, request_only=True)],
    )
    def put(self, request, watchlist_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.watchlist_reorder(
            user=request.user, watchlist_id=watchlist_id, stock_codes=data.validated_data["stock_codes"]
        )
        watchlist = selectors.watchlist_get(user=request.user, watchlist_id=watchlist_id)
        return Response(WatchlistOutputSerializer(watchlist).data)
