import csv
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from marketdata.models import Stock
from marketdata.services import DEFAULT_STOCKS_CSV
from tests.factories import StockFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_shipped_csv_has_the_200_largest_listings_with_valid_codes():
    with open(DEFAULT_STOCKS_CSV, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 200
    assert all(re.fullmatch(r"A[0-9A-Z]{6}", row["code"]) for row in rows)
    assert len({row["code"] for row in rows}) == len(rows)
    assert {row["market"] for row in rows} == {"KOSPI", "KOSDAQ"}
    assert all(row["name_en"] for row in rows[:200])
    by_code = {row["code"]: row for row in rows}
    assert by_code["A005930"]["name"] == "삼성전자"
    assert by_code["A005930"]["name_en"] == "Samsung Electronics"
    assert by_code["A000660"]["name_en"] == "SK hynix"


def test_load_stocks_loads_the_csv_and_is_idempotent():
    call_command("load_stocks")
    count = Stock.objects.count()
    assert count >= 200
    samsung = Stock.objects.get(code="A005930")
    assert (samsung.market, samsung.market_cap_rank) == ("KOSPI", 1)
    call_command("load_stocks")
    assert Stock.objects.count() == count


def test_load_stocks_rejects_a_bad_code_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,name_en,market,sector\nA005930,삼성전자,Samsung,KOSPI,\n5930,X,X,KOSPI,\n", "utf-8")
    with pytest.raises(CommandError, match="line 3"):
        call_command("load_stocks", file=bad)
    assert Stock.objects.count() == 0


def test_load_stocks_stores_kosdaq_global_as_kosdaq_and_accepts_new_style_codes(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("code,name,name_en,market,sector\nA0126Z0,신규,New Co,KOSDAQ GLOBAL,\n", "utf-8")
    call_command("load_stocks", file=f)
    assert Stock.objects.get(code="A0126Z0").market == "KOSDAQ"


@pytest.mark.parametrize("query", ["삼성", "samsung", "SAMSUNG", "005930", "a005930"])
def test_search_matches_code_korean_and_english_names(api_client, samsung, hynix, query):
    response = api_client.get("/api/v1/stocks", {"search": query})
    assert response.status_code == 200
    codes = [s["code"] for s in response.json()["results"]]
    assert codes == ["A005930"]


def test_stock_list_is_paginated_in_market_cap_order(api_client, samsung, hynix):
    StockFactory.create_batch(3)
    body = api_client.get("/api/v1/stocks", {"page_size": 2}).json()
    assert body["count"] == 5
    assert [s["code"] for s in body["results"]] == ["A005930", "A000660"]
    assert body["next"]


def test_stock_list_rejects_an_unknown_market_and_out_of_range_page(api_client, samsung):
    assert_error(api_client.get("/api/v1/stocks", {"market": "NYSE"}), 400, "validation_error")
    assert_error(api_client.get("/api/v1/stocks", {"page": 99}), 404, "not_found")


def test_stock_detail_and_unknown_code(api_client, samsung):
    body = api_client.get("/api/v1/stocks/A005930").json()
    assert body["name"] == "삼성전자"
    assert body["market"] == "KOSPI"
    assert_error(api_client.get("/api/v1/stocks/A999999"), 404, "stock_not_found")


def test_market_page_searches_with_and_without_htmx(client, samsung, hynix):
    page = client.get("/market/", {"q": "하이닉스"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<nav" in html  # full page
    table = html.split('data-testid="stock-table"')[1]
    assert "SK하이닉스" in table
    assert "삼성전자" not in table
    partial = client.get("/market/", {"q": "삼성"}, HTTP_HX_REQUEST="true").content.decode()
    assert "삼성전자" in partial
    assert "<nav" not in partial.split("<table")[0]


def test_stock_page_takes_the_short_code_and_groups_the_volume(client, samsung):
    from marketdata.prices import store_tick

    assert client.get("/stocks/005930/")["Location"] == "/stocks/A005930/"  # as the pages print codes
    store_tick({"code": "A005930", "close": 70_000, "base": 69_000, "volume": 1_234_567})
    assert "1,234,567" in client.get("/stocks/A005930/").content.decode()
