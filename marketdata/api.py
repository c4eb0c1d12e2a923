from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata.models import Market, Stock
from marketdata.selectors import stock_get, stock_search
from stocking.pagination import PagePagination


class StockOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stock
        fields = ["code", "name", "name_en", "market", "sector", "currency", "is_active"]


class StockListApi(APIView):
    permission_classes = [permissions.AllowAny]

    class FilterSerializer(serializers.Serializer):
        search = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
        market = serializers.ChoiceField(choices=Market.choices, required=False)

    @extend_schema(
        tags=["stocks"],
        parameters=[
            OpenApiParameter(
                "search", OpenApiTypes.STR, description="Code (A005930 or 005930), Korean or English name"
            ),
            OpenApiParameter("market", OpenApiTypes.STR, enum=[m for m, _ in Market.choices]),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: StockOutputSerializer(many=True)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        stocks = stock_search(query=filters.validated_data["search"], market=filters.validated_data.get("market"))
        paginator = PagePagination()
        page = paginator.paginate_queryset(stocks, request, view=self)
        return paginator.get_paginated_response(StockOutputSerializer(page, many=True).data)


class StockDetailApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=["stocks"], responses={200: StockOutputSerializer})
    def get(self, request, code: str):
        return Response(StockOutputSerializer(stock_get(code=code)).data)
