from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.errors import error_response
from kernel.fields import BodylessAction
from kernel.pagination import PagePagination
from marketdata.candles import INTERVALS, parse_moment
from marketdata.codes import normalize_stock_codes
from marketdata.models import Market, Stock
from marketdata.prices import Quote, parse_decimal
from marketdata.relay_commands import relay_command_send
from marketdata.selectors import (
    MOVER_KINDS,
    RelayHealth,
    candles_list,
    market_index_get,
    market_index_history,
    market_indices_current,
    market_movers,
    realtime_quote_get,
    realtime_quotes,
    realtime_quotes_active,
    relay_health_get,
    relay_health_read,
    relay_subscriptions_list,
    stock_get,
    stock_search,
)

DEFAULT_BARS = 300
CANDLES_FROM, CANDLES_UNTIL = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
MAX_BARS = {"1m": 1000, "5m": 1000, "1h": 1000, "1d": 400}  # 1d reads up to ~400 days of minutes


_CODE_PARAMETER = OpenApiParameter(
    "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="Stock code, e.g. A005930 (case-insensitive)"
)


class StockOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stock
        fields = ["code", "name", "name_en", "market", "sector", "currency", "is_active"]


class StockListApi(APIView):
    permission_classes = [permissions.AllowAny]

    class FilterSerializer(serializers.Serializer):
        search = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=100,
            default="",
            help_text="Code (A005930 or 005930), Korean or English name",
        )
        market = serializers.ChoiceField(choices=Market.choices, required=False)

    @extend_schema(tags=["stocks"], parameters=[FilterSerializer], responses={200: StockOutputSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        stocks = stock_search(query=filters.validated_data["search"], market=filters.validated_data.get("market"))
        paginator = PagePagination()
        page = paginator.paginate_queryset(stocks, request, view=self)
        return paginator.get_paginated_response(StockOutputSerializer(page, many=True).data)


class StockDetailApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["stocks"],
        parameters=[_CODE_PARAMETER],
        responses={200: StockOutputSerializer, 404: error_response("`stock_not_found`: no such stock.")},
    )
    def get(self, request, code: str):
        return Response(StockOutputSerializer(stock_get(code=code)).data)


# --- realtime prices (paths kept from the original service) --------------------------------


class QuoteOutputSerializer(serializers.Serializer):
    """The latest stored tick of one stock. Prices and volumes are whole numbers; change is from the previous close."""

    code = serializers.CharField()
    price = serializers.IntegerField()
    change = serializers.IntegerField(allow_null=True)
    change_pct = serializers.DecimalField(max_digits=9, decimal_places=2, coerce_to_string=False, allow_null=True)
    volume = serializers.IntegerField(allow_null=True, help_text="The day's cumulative volume.")
    open = serializers.SerializerMethodField()
    high = serializers.SerializerMethodField()
    low = serializers.SerializerMethodField()
    prev_close = serializers.IntegerField(source="base", allow_null=True)
    dt = serializers.CharField(allow_null=True, help_text="Exchange time as the feed sent it.")
    received_at = serializers.DateTimeField(help_text="When the relay stored it (server time).")
    is_stale = serializers.SerializerMethodField(help_text="Older than PRICE_STALE_SECONDS.")

    def _raw_number(self, quote: Quote, field: str) -> int | None:
        number = parse_decimal(quote.raw.get(field))
        return None if number is None else int(number)

    def get_open(self, quote: Quote) -> int | None:
        return self._raw_number(quote, "open")

    def get_high(self, quote: Quote) -> int | None:
        return self._raw_number(quote, "high")

    def get_low(self, quote: Quote) -> int | None:
        return self._raw_number(quote, "low")

    def get_is_stale(self, quote: Quote) -> bool:
        return not quote.is_fresh()


class RealtimeStockApi(APIView):
    """The latest price of one stock, from the relay's price store (no database query)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["realtime"],
        responses={
            200: QuoteOutputSerializer,
            400: error_response("Malformed stock code (A + six digits or capitals)."),
            404: error_response("No price stored for the code."),
        },
    )
    def get(self, request, stock_code: str):
        return Response(QuoteOutputSerializer(realtime_quote_get(code=stock_code)).data)


class RealtimeStocksMultipleApi(APIView):
    """Latest prices of up to 100 stocks in one Redis round trip."""

    permission_classes = [permissions.AllowAny]

    class FilterSerializer(serializers.Serializer):
        stock_codes = serializers.ListField(child=serializers.CharField(max_length=1000), allow_empty=False)

        def validate_stock_codes(self, values: list[str]) -> list[str]:
            # Repeated (?stock_codes=A005930&stock_codes=A000660) or comma-separated, as the original took them.
            codes, invalid = normalize_stock_codes(
                part for value in values for part in value.split(",") if part.strip()
            )
            if not codes:
                raise serializers.ValidationError(gettext("Give at least one stock code."))
            limit = settings.REALTIME_MULTIPLE_MAX_CODES
            if len(codes) > limit:
                raise serializers.ValidationError(
                    gettext("At most %(limit)s stock codes per request.") % {"limit": limit}
                )
            if invalid:
                raise serializers.ValidationError(
                    gettext("Not stock codes: %(codes)s.") % {"codes": ", ".join(c[:12] for c in invalid[:10])}
                )
            return codes

    class OutputSerializer(serializers.Serializer):
        prices = QuoteOutputSerializer(many=True)
        missing = serializers.ListField(child=serializers.CharField(), help_text="Codes with no stored price.")

    @extend_schema(
        tags=["realtime"],
        parameters=[
            OpenApiParameter(
                "stock_codes",
                OpenApiTypes.STR,
                many=True,
                explode=True,
                required=True,
                description="Repeat it (or separate codes with commas), e.g. A005930 and A000660; at most 100.",
            )
        ],
        responses={200: OutputSerializer, 400: error_response("Missing, malformed or too many codes.")},
    )
    def get(self, request):
        filters = self.FilterSerializer(data={"stock_codes": request.query_params.getlist("stock_codes")})
        filters.is_valid(raise_exception=True)
        codes = filters.validated_data["stock_codes"]
        quotes = realtime_quotes(codes=codes)
        data = {"prices": [quotes[c] for c in codes if c in quotes], "missing": [c for c in codes if c not in quotes]}
        return Response(self.OutputSerializer(data).data)


class RealtimeStocksAllApi(APIView):
    """The stored price of every active listing, in stock master order (one MGET)."""

    permission_classes = [permissions.AllowAny]

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        prices = QuoteOutputSerializer(many=True)

    @extend_schema(tags=["realtime"], responses={200: OutputSerializer})
    def get(self, request):
        quotes = realtime_quotes_active()
        return Response(self.OutputSerializer({"count": len(quotes), "prices": quotes}).data)


class RelayHealthOutputSerializer(serializers.Serializer):
    state = serializers.CharField(required=False, help_text="connecting, connected, reconnecting, stopping, …")
    source = serializers.CharField(required=False)
    connected_since = serializers.CharField(allow_null=True, required=False)
    last_message_at = serializers.CharField(allow_null=True, required=False)
    messages_total = serializers.IntegerField(required=False)
    malformed_total = serializers.IntegerField(required=False)
    reconnects = serializers.IntegerField(required=False)
    subscriptions = serializers.IntegerField(required=False)
    updated_at = serializers.CharField(required=False)
    age_seconds = serializers.FloatField(allow_null=True, help_text="Since the relay wrote this heartbeat.")


def _health_data(health: RelayHealth) -> dict:
    age = None if health.age_seconds is None else round(health.age_seconds, 1)
    return {**health.record, "age_seconds": age}


class RelayHealthApi(APIView):
    """The relay's heartbeat (written every few seconds, kept 30 s); 503 when it is missing or too old."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        tags=["realtime"],
        responses={200: RelayHealthOutputSerializer, 503: error_response("No heartbeat, or one older than 30 s.")},
    )
    def get(self, request):
        return Response(_health_data(relay_health_get()))


# --- staff: the relay's dynamic subscriptions ------------------------------------------------


class RelaySubscriptionsApi(APIView):
    """Topics the relay keeps subscribed, and its heartbeat (null when it is not reporting)."""

    permission_classes = [permissions.IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        subscriptions = serializers.ListField(child=serializers.CharField())
        total_count = serializers.IntegerField()
        health = RelayHealthOutputSerializer(allow_null=True)

    @extend_schema(tags=["admin"], responses={200: OutputSerializer})
    def get(self, request):
        topics = relay_subscriptions_list()
        health = relay_health_read()
        return Response(
            {
                "subscriptions": topics,
                "total_count": len(topics),
                "health": None if health is None else _health_data(health),
            }
        )


class CommandOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text="What the relay answered.")
    message = serializers.CharField()
    command_id = serializers.CharField()
    topic = serializers.CharField()


_TOPIC_PARAMETER = OpenApiParameter(
    "topic", OpenApiTypes.STR, required=True, description="e.g. /topic/v1/kr/stock/trade/A005930"
)
_COMMAND_ERRORS = {
    400: error_response("Malformed topic; nothing was published."),
    503: error_response("No relay is listening for commands."),
    504: error_response("The relay did not answer within 30 s."),
}


class _RelayCommandApi(BodylessAction, APIView):
    permission_classes = [permissions.IsAdminUser]
    command_type: str

    def _send(self, request) -> Response:
        topic = request.query_params.get("topic", "")
        result = relay_command_send(type=self.command_type, topic=topic)
        return Response(
            CommandOutputSerializer(
                {"success": result.success, "message": result.message, "command_id": result.command_id, "topic": topic}
            ).data
        )


class RelaySubscribeApi(_RelayCommandApi):
    """Ask the relay to subscribe to a trade topic; waits (polling every 0.5 s, up to 30 s) for its answer."""

    command_type = "subscribe"

    @extend_schema(
        tags=["admin"],
        parameters=[_TOPIC_PARAMETER],
        request=None,
        responses={200: CommandOutputSerializer, **_COMMAND_ERRORS},
    )
    def post(self, request):
        return self._send(request)


class RelayUnsubscribeApi(_RelayCommandApi):
    """Ask the relay to unsubscribe from a trade topic; waits (polling every 0.5 s, up to 30 s) for its answer."""

    command_type = "unsubscribe"

    @extend_schema(
        tags=["admin"],
        parameters=[_TOPIC_PARAMETER],
        request=None,
        responses={200: CommandOutputSerializer, **_COMMAND_ERRORS},
    )
    def delete(self, request):
        return self._send(request)


# --- candles ---------------------------------------------------------------------------------


class StockCandlesApi(APIView):
    """OHLCV bars for charts (lightweight-charts' shape): 1-minute candles, aggregated on read.

    `from`/`to` take ISO 8601 (naive means Asia/Seoul) or epoch seconds. Defaults: the last
    300 bars up to now, the minute in progress included. 1d bars are Asia/Seoul calendar days.
    """

    permission_classes = [permissions.AllowAny]

    class FilterSerializer(serializers.Serializer):
        interval = serializers.ChoiceField(choices=list(INTERVALS), default="1m")
        from_ = serializers.CharField(
            required=False, max_length=40, help_text="ISO 8601 or epoch seconds; default: 300 bars back"
        )
        to = serializers.CharField(required=False, max_length=40, help_text="ISO 8601 or epoch seconds; default: now")

        def get_fields(self):
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")  # "from" is a Python keyword
            return fields

        def _moment(self, value: str, field: str) -> datetime:
            moment = parse_moment(value)
            if moment is None:
                raise serializers.ValidationError(
                    {field: gettext("Give ISO 8601 (2026-11-25T09:00+09:00) or epoch seconds.")}
                )
            if not CANDLES_FROM <= moment < CANDLES_UNTIL:  # keeps bar arithmetic inside datetime's range
                raise serializers.ValidationError({field: gettext("Give a time from 1970 to 2099.")})
            return moment

        def validate(self, attrs):
            interval = INTERVALS[attrs["interval"]]
            span = timedelta(seconds=interval.seconds)
            end = self._moment(attrs["to"], "to") if "to" in attrs else timezone.now()
            start = self._moment(attrs["from"], "from") if "from" in attrs else end - span * (DEFAULT_BARS - 1)
            if start > end:
                raise serializers.ValidationError({"from": gettext("from is after to.")})
            limit = MAX_BARS[interval.name]
            if (end - start) / span > limit:
                raise serializers.ValidationError(
                    {
                        "from": gettext("At most %(limit)s %(interval)s bars per request.")
                        % {"limit": limit, "interval": interval.name}
                    }
                )
            return {"interval": interval, "start": start, "end": end}

    class BarOutputSerializer(serializers.Serializer):
        time = serializers.IntegerField(help_text="Epoch seconds (UTC) of the bar's first minute.")
        open = serializers.IntegerField()
        high = serializers.IntegerField()
        low = serializers.IntegerField()
        close = serializers.IntegerField()
        volume = serializers.IntegerField()

    @extend_schema(
        tags=["stocks"],
        parameters=[_CODE_PARAMETER, FilterSerializer],
        responses={
            200: inline_serializer(
                "StockCandles",
                {
                    "code": serializers.CharField(),
                    "interval": serializers.CharField(),
                    "candles": BarOutputSerializer(many=True),
                },
            ),
            400: error_response("Unknown interval, unreadable dates, from after to, or too long a range."),
            404: error_response("No such stock."),
        },
    )
    def get(self, request, code: str):
        stock = stock_get(code=code)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        bars = candles_list(stock=stock, interval=params["interval"], start=params["start"], end=params["end"])
        return Response(
            {
                "code": stock.code,
                "interval": params["interval"].name,
                "candles": self.BarOutputSerializer(bars, many=True).data,
            }
        )


# --- market: indices and movers (docs/architecture.md §9) -------------------------------------------------

INDEX_HISTORY_FROM, INDEX_HISTORY_UNTIL = date(1980, 1, 1), date(2099, 12, 31)


class IndexValueOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="KOSPI or KOSDAQ")
    name = serializers.CharField(help_text="코스피, 코스닥")
    name_en = serializers.CharField()
    value = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    change = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False, allow_null=True)
    change_pct = serializers.DecimalField(max_digits=9, decimal_places=2, coerce_to_string=False, allow_null=True)
    dt = serializers.CharField(allow_null=True, help_text="When the value was computed or published.")
    is_stale = serializers.BooleanField(
        help_text="Older than PRICE_STALE_SECONDS, or the last daily close when no live value is stored."
    )
    source = serializers.CharField(
        help_text="Where the value comes from: simulator, toss, … or krx_close (the last shipped daily close)."
    )


class MarketIndicesApi(APIView):
    """KOSPI and KOSDAQ now: the live value, else the last daily close (is_stale true)."""

    permission_classes = [permissions.AllowAny]

    class OutputSerializer(serializers.Serializer):
        indices = IndexValueOutputSerializer(many=True)

    @extend_schema(tags=["market"], responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer({"indices": market_indices_current()}).data)


class MarketIndexHistoryApi(APIView):
    """An index's daily bars (KRX closes), oldest first; `from`/`to` are dates (YYYY-MM-DD), both optional."""

    permission_classes = [permissions.AllowAny]

    class FilterSerializer(serializers.Serializer):
        from_ = serializers.DateField(required=False, help_text="First day (YYYY-MM-DD); default: the first stored")
        to = serializers.DateField(required=False, help_text="Last day (YYYY-MM-DD); default: the last stored")

        def get_fields(self):
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")  # "from" is a Python keyword
            return fields

        def validate(self, attrs):
            for field in ("from", "to"):
                if field in attrs and not INDEX_HISTORY_FROM <= attrs[field] <= INDEX_HISTORY_UNTIL:
                    raise serializers.ValidationError({field: _("Give a date from 1980 to 2099.")})
            if "from" in attrs and "to" in attrs and attrs["from"] > attrs["to"]:
                raise serializers.ValidationError({"from": _("from is after to.")})
            return attrs

    class DayOutputSerializer(serializers.Serializer):
        date = serializers.DateField()
        open = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
        high = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
        low = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
        close = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
        volume = serializers.IntegerField(allow_null=True)

    @extend_schema(
        tags=["market"],
        parameters=[
            OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description="KOSPI or KOSDAQ"),
            FilterSerializer,
        ],
        responses={
            200: inline_serializer(
                "MarketIndexHistory",
                {
                    "code": serializers.CharField(),
                    "name": serializers.CharField(),
                    "days": DayOutputSerializer(many=True),
                },
            ),
            400: error_response("Unreadable dates, a date outside 1980–2099, or from after to."),
            404: error_response("`index_not_found`: no such index."),
        },
    )
    def get(self, request, code: str):
        index = market_index_get(code=code)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        days = market_index_history(
            index=index, start=filters.validated_data.get("from"), end=filters.validated_data.get("to")
        )
        # Up to ~8,000 plain rows: the JSON encoder writes dates and Decimals directly (no serializer per row).
        return Response({"code": index.code, "name": index.name, "days": days})


class MarketMoversApi(APIView):
    """Today's biggest gainers, losers or volume among active stocks, from the latest prices (one Redis MGET)."""

    permission_classes = [permissions.AllowAny]

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=list(MOVER_KINDS), default="gainers")
        market = serializers.ChoiceField(choices=Market.choices, required=False, help_text="Default: both markets")
        limit = serializers.IntegerField(min_value=1, max_value=100, default=10)

    class MoverOutputSerializer(serializers.Serializer):
        code = serializers.CharField(source="stock.code")
        name = serializers.CharField(source="stock.name")
        name_en = serializers.CharField(source="stock.name_en")
        market = serializers.CharField(source="stock.market")
        price = serializers.IntegerField(source="quote.price")
        change = serializers.IntegerField(source="quote.change", allow_null=True)
        change_pct = serializers.DecimalField(
            source="quote.change_pct", max_digits=9, decimal_places=2, coerce_to_string=False, allow_null=True
        )
        volume = serializers.IntegerField(source="quote.volume", allow_null=True, help_text="The day's volume.")
        dt = serializers.CharField(source="quote.dt", allow_null=True)
        is_stale = serializers.SerializerMethodField(help_text="Older than PRICE_STALE_SECONDS.")

        def get_is_stale(self, mover) -> bool:
            return not mover.quote.is_fresh()

    @extend_schema(
        tags=["market"],
        parameters=[FilterSerializer],
        responses={
            200: inline_serializer(
                "MarketMovers",
                {
                    "kind": serializers.CharField(),
                    "market": serializers.CharField(allow_null=True),
                    "movers": MoverOutputSerializer(many=True),
                },
            ),
            400: error_response("Unknown kind or market, or a limit outside 1–100."),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        movers = market_movers(kind=params["kind"], market=params.get("market"), limit=params["limit"])
        return Response(
            {
                "kind": params["kind"],
                "market": params.get("market"),
                "movers": self.MoverOutputSerializer(movers, many=True).data,
            }
        )
