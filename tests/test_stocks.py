import csv
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from marketdata.models import Candle, Stock
from marketdata.services import DEFAULT_LISTING_CSV, DEFAULT_STOCKS_CSV
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


LISTING_HEADER = "Code,Name,Market,Close,Volume,Marcap,Stocks\n"


def _listing(path, *rows: str):
    """A KRX listing in the vendored format; each row "Code,Name,Market,Close,Volume,Marcap,Stocks"."""
    path.write_text(LISTING_HEADER + "".join(f"{row}\n" for row in rows), "utf-8")
    return path


def _load(listing, **files):
    call_command("load_stocks", listing=listing, descriptions=files.get("descriptions"), names=files.get("names"))


def _shipped_listing_rows() -> list[dict]:
    with open(DEFAULT_LISTING_CSV, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_load_stocks_loads_every_kospi_and_kosdaq_listing_of_the_shipped_krx_file():
    rows = _shipped_listing_rows()
    in_scope = {f"A{row['Code']}" for row in rows if row["Market"] != "KONEX"}
    konex = {f"A{row['Code']}" for row in rows if row["Market"] == "KONEX"}
    assert len(in_scope) >= 2700
    assert konex

    call_command("load_stocks")

    assert set(Stock.objects.values_list("code", flat=True)) == in_scope  # KONEX skipped
    assert set(Stock.objects.values_list("market", flat=True)) == {"KOSPI", "KOSDAQ"}
    assert Stock.objects.filter(is_active=True).count() == len(in_scope)
    samsung = Stock.objects.get(code="A005930")
    assert (samsung.name, samsung.name_en, samsung.market) == ("삼성전자", "Samsung Electronics", "KOSPI")
    assert samsung.reference_price == Decimal(199400)
    assert samsung.shares_outstanding == 5_919_637_922
    assert samsung.market_cap_rank == 1
    assert samsung.industry
    assert samsung.sector == "반도체"
    assert Stock.objects.get(code="A000660").market_cap_rank == 2
    assert Stock.objects.exclude(name_en="").count() >= 700  # the overlay's English names are kept
    alphanumeric = Stock.objects.get(code="A0126Z0")  # new-style code, listed since 2024
    assert alphanumeric.reference_price > 0
    kosdaq_global = next(row for row in rows if row["Market"] == "KOSDAQ GLOBAL")
    assert Stock.objects.get(code=f"A{kosdaq_global['Code']}").market == "KOSDAQ"
    ranks = list(Stock.objects.order_by("market_cap_rank").values_list("market_cap_rank", flat=True))
    assert ranks == list(range(1, len(in_scope) + 1))


def test_load_stocks_twice_updates_the_same_rows():
    call_command("load_stocks")
    before = dict(Stock.objects.values_list("code", "pk"))
    call_command("load_stocks")
    assert dict(Stock.objects.values_list("code", "pk")) == before


def test_a_reload_updates_rows_in_place_and_keeps_what_points_at_them(tmp_path):
    _load(
        _listing(tmp_path / "a.csv", "005930,삼성전자,KOSPI,199400,1,100,10", "0126Z0,신규,KOSDAQ GLOBAL,5000,1,50,10")
    )
    samsung = Stock.objects.get(code="A005930")
    candle = Candle.objects.create(
        stock=samsung, start=datetime(2026, 3, 20, 0, 0, tzinfo=UTC), open=1, high=1, low=1, close=1
    )

    # The next day: a new close, a new name, and the small listing grew past Samsung.
    _load(
        _listing(tmp_path / "b.csv", "005930,삼성전자보통주,KOSPI,201000,1,100,10", "0126Z0,신규,KOSDAQ,6000,1,500,10")
    )

    samsung.refresh_from_db()
    assert (samsung.name, samsung.reference_price, samsung.market_cap_rank) == ("삼성전자보통주", Decimal(201000), 2)
    assert Stock.objects.get(code="A0126Z0").market_cap_rank == 1
    assert Candle.objects.filter(pk=candle.pk, stock=samsung).exists()  # the row was not deleted and recreated


def test_a_code_no_longer_listed_becomes_inactive_and_is_never_deleted(tmp_path):
    _load(_listing(tmp_path / "a.csv", "005930,삼성전자,KOSPI,199400,1,100,10", "000660,SK하이닉스,KOSPI,9000,1,90,10"))
    _load(_listing(tmp_path / "b.csv", "005930,삼성전자,KOSPI,199400,1,100,10"))
    assert Stock.objects.get(code="A000660").is_active is False
    assert Stock.objects.get(code="A005930").is_active is True

    _load(_listing(tmp_path / "c.csv", "005930,삼성전자,KOSPI,199400,1,100,10", "000660,SK하이닉스,KOSPI,9100,1,90,10"))
    relisted = Stock.objects.get(code="A000660")
    assert (relisted.is_active, relisted.reference_price) == (True, Decimal(9100))


def test_a_suspended_listing_with_close_0_is_inactive_and_keeps_its_last_sane_close(tmp_path):
    _load(_listing(tmp_path / "a.csv", "005930,삼성전자,KOSPI,199400,1,100,10", "000660,SK하이닉스,KOSPI,9000,1,90,10"))
    _load(_listing(tmp_path / "b.csv", "005930,삼성전자,KOSPI,199400,1,100,10", "000660,SK하이닉스,KOSPI,0,0,0,10"))
    suspended = Stock.objects.get(code="A000660")
    assert (suspended.is_active, suspended.reference_price) == (False, Decimal(9000))

    _load(_listing(tmp_path / "c.csv", "123450,처음부터정지,KOSDAQ,0,0,0,10"))
    never_priced = Stock.objects.get(code="A123450")
    assert (never_priced.is_active, never_priced.reference_price) == (False, None)


def test_load_stocks_takes_industry_products_and_the_overlay_names(tmp_path):
    descriptions = tmp_path / "desc.csv"
    descriptions.write_text('Code,Industry,Products\n005930,통신 및 방송 장비 제조업,"반도체, 휴대폰"\n', "utf-8")
    names = tmp_path / "names.csv"
    names.write_text("code,name,name_en,market,sector\nA005930,x,Samsung Electronics,KOSPI,반도체\n", "utf-8")
    _load(_listing(tmp_path / "a.csv", "005930,삼성전자,KOSPI,199400,1,100,10"), descriptions=descriptions, names=names)
    samsung = Stock.objects.get(code="A005930")
    assert (samsung.name, samsung.name_en, samsung.sector) == ("삼성전자", "Samsung Electronics", "반도체")
    assert (samsung.industry, samsung.products) == ("통신 및 방송 장비 제조업", "반도체, 휴대폰")


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("5930,X,KOSPI,100,1,1,1", "line 3: bad code"),
        ("0059301,X,KOSPI,100,1,1,1", "line 3: bad code"),
        ("000020,X,NYSE,100,1,1,1", "line 3: unknown market"),
        ("000020,X,KOSPI,1e3,1,1,1", "line 3: Close"),
        ("000020,X,KOSPI,-5,1,1,1", "line 3: Close is negative"),
        ("000020,,KOSPI,100,1,1,1", "line 3: missing name"),
        ("005930,삼성전자,KOSPI,100,1,1,1", "line 3: A005930 is listed twice"),
    ],
)
def test_load_stocks_rejects_a_bad_row_and_writes_nothing(tmp_path, bad_row, message):
    bad = _listing(tmp_path / "bad.csv", "005930,삼성전자,KOSPI,199400,1,100,10", bad_row)
    with pytest.raises(CommandError, match=message):
        _load(bad)
    assert Stock.objects.count() == 0


def test_load_stocks_stores_kosdaq_global_as_kosdaq_accepts_new_style_codes_and_skips_konex(tmp_path):
    _load(_listing(tmp_path / "s.csv", "0126Z0,신규,KOSDAQ GLOBAL,5000,1,50,10", "000001,코넥스,KONEX,100,1,1,1"))
    assert list(Stock.objects.values_list("code", "market")) == [("A0126Z0", "KOSDAQ")]


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
