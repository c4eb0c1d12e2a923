"""Portfolio API (docs/architecture.md §9): summary, holdings, ledger, deposit/withdraw/reset, watchlists."""

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
from portfolio import analytics, selectors, services
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


# --- performance (docs/architecture.md §13) ----------------------------------------------------------------------

NO_SUCH_ACCOUNT = error_response("`account_not_found`: no open account, or `account_id` is not one of yours.")
PERIOD_HELP = "1W, 1M, 3M, 6M, 1Y (calendar days back from today, KST) or ALL"


class PerformanceFilterSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=list(analytics.PERIOD_DAYS), default="1M", help_text=PERIOD_HELP)
    account_id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="one of your accounts (default: the open one)"
    )
    format = serializers.ChoiceField(
        choices=["json", "csv"], required=False, default="json", help_text="csv: a spreadsheet (UTF-8 with BOM)"
    )


def _performance_series(request) -> tuple[analytics.EquitySeries, str]:
    filters = PerformanceFilterSerializer(data=request.query_params)
    filters.is_valid(raise_exception=True)
    params = filters.validated_data
    account = selectors.account_get_for(user=request.user, account_id=params.get("account_id"))
    return analytics.equity_series(account=account, period=params["period"]), params["format"]


def _csv_response(columns: list[str], rows: list[dict], filename: str) -> StreamingHttpResponse:
    def lines():
        writer = csv.writer(_Echo())
        yield "\ufeff"  # BOM: Excel opens Korean names correctly
        yield writer.writerow(columns)
        for row in rows:
            yield writer.writerow(["" if row[c] is None else row[c] for c in columns])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _pct_field(help_text: str):
    return serializers.FloatField(allow_null=True, help_text=help_text)


class HistoryPointOutputSerializer(serializers.Serializer):
    date = serializers.DateField()
    equity = serializers.IntegerField()
    net_flow = serializers.IntegerField(help_text="deposits − withdrawals (and staff adjustments) of the day")
    return_pct = serializers.FloatField(help_text="cumulative time-weighted return since the period's start, %")
    benchmark_return_pct = _pct_field("KOSPI's cumulative return over the same days, %; null without index data")


class HistoryOutputSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    period = serializers.ChoiceField(choices=list(analytics.PERIOD_DAYS))
    base_value = serializers.IntegerField(
        allow_null=True, help_text="the equity the chain starts from; null when a closed account has no snapshots"
    )
    points = HistoryPointOutputSerializer(many=True)


HISTORY_CSV_COLUMNS = ["date", "equity", "net_flow", "return_pct", "benchmark_return_pct"]
BY_STOCK_CSV_COLUMNS = ["stock_code", "realized_pnl", "fees", "taxes", "trades"]


class HistoryApi(APIView):
    @extend_schema(
        tags=["portfolio"],
        parameters=[PerformanceFilterSerializer],
        responses={
            (200, "application/json"): HistoryOutputSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description=f"With `format=csv`: {', '.join(HISTORY_CSV_COLUMNS)}, a row a day."
            ),
            404: NO_SUCH_ACCOUNT,
        },
        description="The account's equity a day (snapshots; the open account's last point is today at live "
        "prices), with the time-weighted return and KOSPI's return over the same days. Deposits and "
        "withdrawals are never profit.",
    )
    def get(self, request):
        series, output = _performance_series(request)
        data = HistoryOutputSerializer(analytics.history_data(series)).data
        if output == "csv":
            return _csv_response(HISTORY_CSV_COLUMNS, data["points"], "stocking-history.csv")
        return Response(data)


class TradeStatsOutputSerializer(serializers.Serializer):
    sells = serializers.IntegerField(help_text="SELL executions in the period")
    wins = serializers.IntegerField(help_text="sells with realized P&L (after commission and tax) > 0")
    losses = serializers.IntegerField(help_text="sells with realized P&L < 0")
    win_rate_pct = _pct_field("wins / sells, %; null without sells")
    profit_factor = serializers.FloatField(allow_null=True, help_text="gross wins / gross losses; null without losses")
    average_win = serializers.IntegerField(allow_null=True)
    average_loss = serializers.IntegerField(allow_null=True)
    best = serializers.IntegerField(allow_null=True)
    worst = serializers.IntegerField(allow_null=True)


class StockPnlOutputSerializer(serializers.Serializer):
    stock_code = serializers.CharField()
    realized_pnl = serializers.IntegerField()
    fees = serializers.IntegerField()
    taxes = serializers.IntegerField()
    trades = serializers.IntegerField(help_text="BUY and SELL executions")


class BenchmarkOutputSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["KOSPI"])
    return_pct = _pct_field("over the same days, %")


class AnalyticsOutputSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    period = serializers.ChoiceField(choices=list(analytics.PERIOD_DAYS))
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    starting_equity = serializers.IntegerField(
        allow_null=True, help_text="equity the day before the period (0 when the account started inside it)"
    )
    ending_equity = serializers.IntegerField(allow_null=True)
    net_flow = serializers.IntegerField(help_text="deposits − withdrawals in the period")
    profit_loss = serializers.IntegerField(allow_null=True, help_text="ending − starting − net_flow")
    time_weighted_return_pct = _pct_field("chained daily returns, %")
    annualized_return_pct = _pct_field("(1 + TWR) ^ (252 / days) − 1, %")
    max_drawdown_pct = _pct_field("deepest fall from a peak, % (≤ 0)")
    volatility_pct = _pct_field("annualized (252 days) standard deviation of daily returns, %")
    sharpe_ratio = serializers.FloatField(allow_null=True, help_text="annualized; null below two days or at zero risk")
    benchmark = BenchmarkOutputSerializer()
    excess_return_pct = _pct_field("TWR − KOSPI's return, percentage points")
    trades = TradeStatsOutputSerializer()
    realized_pnl = serializers.IntegerField()
    fees_paid = serializers.IntegerField()
    taxes_paid = serializers.IntegerField()
    turnover = serializers.IntegerField(help_text="traded value (price × quantity) of buys and sells")
    by_stock = StockPnlOutputSerializer(many=True)


class AnalyticsApi(APIView):
    @extend_schema(
        tags=["portfolio"],
        parameters=[PerformanceFilterSerializer],
        responses={
            (200, "application/json"): AnalyticsOutputSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description=f"With `format=csv`: the per-stock table ({', '.join(BY_STOCK_CSV_COLUMNS)}).",
            ),
            404: NO_SUCH_ACCOUNT,
        },
        description="Performance over the period: time-weighted return, risk, trade statistics and KOSPI. "
        "Undefined ratios (no sells, zero volatility, one day) are null.",
    )
    def get(self, request):
        series, output = _performance_series(request)
        data = AnalyticsOutputSerializer(analytics.analytics_data(series)).data
        if output == "csv":
            return _csv_response(BY_STOCK_CSV_COLUMNS, data["by_stock"], "stocking-by-stock.csv")
        return Response(data)


class AccountListOutputSerializer(serializers.Serializer):
    account_id = serializers.IntegerField(source="account.pk")
    is_open = serializers.SerializerMethodField()
    starting_cash = serializers.IntegerField(source="account.starting_cash")
    opened_at = serializers.DateTimeField(source="account.opened_at")
    closed_at = serializers.DateTimeField(source="account.closed_at", allow_null=True)
    final_equity = serializers.IntegerField(
        allow_null=True, help_text="closed accounts: cash plus holdings at their last fill price; null while open"
    )

    def get_is_open(self, record) -> bool:
        return bool(record.account.is_open)


class AccountsApi(APIView):
    @extend_schema(tags=["portfolio"], responses={200: AccountListOutputSerializer(many=True)})
    def get(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.accounts_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(AccountListOutputSerializer(page, many=True).data)
