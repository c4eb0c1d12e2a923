import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from marketdata.codes import stock_code_validator
from marketdata.indices import INDEX_DEFINITIONS
from marketdata.models import Market, MarketIndex, MarketIndexDay, Stock

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_LISTING_CSV = DATA_DIR / "krx_listing_2026-03-20.csv"
DEFAULT_DESCRIPTIONS_CSV = DATA_DIR / "krx_desc_2026-03-20.csv"
DEFAULT_STOCKS_CSV = DATA_DIR / "stocks.csv"  # the project's overlay: English names and sector labels
DEFAULT_INDEX_CSVS: dict[str, Path] = {
    Market.KOSPI: DATA_DIR / "ks11_daily.csv",
    Market.KOSDAQ: DATA_DIR / "kq11_daily.csv",
}

_BATCH_SIZE = 500
_OUT_OF_SCOPE_MARKETS = {"KONEX"}


@dataclass
class StockLoadResult:
    created: int
    updated: int
    deactivated: int  # listed before, missing from this listing
    suspended: int  # listed with Close 0: loaded inactive
    skipped: int  # out-of-scope markets (KONEX)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as f:
        for line_no, row in enumerate(csv.DictReader(f), start=2):
            yield line_no, {key: (value or "").strip() for key, value in row.items() if key is not None}


def _whole_number(value: str, *, path: Path, line_no: int, column: str) -> int:
    try:
        number = int(value or "0")
    except ValueError:
        raise ValidationError(f"{path.name} line {line_no}: {column} {value[:20]!r} is not a whole number") from None
    if number < 0:
        raise ValidationError(f"{path.name} line {line_no}: {column} is negative")
    return number


def _overlay(path: Path | None) -> dict[str, dict[str, str]]:
    """code -> {"name_en", "sector"} from the project's overlay (stocks.csv); other columns are ignored."""
    if path is None:
        return {}
    return {row.get("code", "").upper(): row for _, row in _csv_rows(path)}


def stocks_load_csv(
    *,
    listing: Path = DEFAULT_LISTING_CSV,
    descriptions: Path | None = DEFAULT_DESCRIPTIONS_CSV,
    names: Path | None = DEFAULT_STOCKS_CSV,
) -> StockLoadResult:
    """Make the stock master match a KRX listing (Code,Name,Market,Close,Volume,Marcap,Stocks).

    Every KOSPI and KOSDAQ row (KOSDAQ GLOBAL stored as KOSDAQ; KONEX skipped) is upserted by
    code in place, so orders and holdings keep pointing at the same rows; a code missing from
    the listing is made inactive, never deleted. market_cap_rank follows Marcap (1 = largest).
    Close becomes reference_price; a suspended listing (Close 0) is loaded inactive and keeps
    the last reference price it had, if any. Industry and products come from `descriptions`,
    name_en and sector from `names` (the project's overlay). The whole listing is validated
    before anything is written: a bad row raises ValidationError naming its line and nothing
    changes. One transaction; bulk statements only.
    """
    descriptions_by_code = {row.get("Code", ""): row for _, row in _csv_rows(descriptions)} if descriptions else {}
    overlay = _overlay(names)
    rows: list[tuple[int, Stock]] = []  # (Marcap, stock)
    seen: set[str] = set()
    skipped = 0
    for line_no, row in _csv_rows(listing):
        short_code = row.get("Code", "").upper()
        code = f"A{short_code}"
        market = row.get("Market", "").upper()
        if market in _OUT_OF_SCOPE_MARKETS:
            skipped += 1
            continue
        if market.startswith("KOSDAQ"):
            market = Market.KOSDAQ  # KOSDAQ GLOBAL is a KOSDAQ segment
        try:
            stock_code_validator(code)
        except ValidationError:
            raise ValidationError(f"{listing.name} line {line_no}: bad code {short_code[:20]!r}") from None
        if market not in Market.values:
            raise ValidationError(f"{listing.name} line {line_no}: unknown market {market[:20]!r}")
        if code in seen:
            raise ValidationError(f"{listing.name} line {line_no}: {code} is listed twice")
        seen.add(code)
        name = row.get("Name", "")
        if not name:
            raise ValidationError(f"{listing.name} line {line_no}: missing name")
        close = _whole_number(row.get("Close", ""), path=listing, line_no=line_no, column="Close")
        shares = _whole_number(row.get("Stocks", ""), path=listing, line_no=line_no, column="Stocks")
        marcap = _whole_number(row.get("Marcap", ""), path=listing, line_no=line_no, column="Marcap")
        description = descriptions_by_code.get(short_code, {})
        extra = overlay.get(code, {})
        stock = Stock(
            code=code,
            name=name[:100],
            name_en=extra.get("name_en", "")[:150],
            market=market,
            sector=extra.get("sector", "")[:100],
            industry=description.get("Industry", "")[:100],
            products=description.get("Products", "")[:200],
            shares_outstanding=shares,
            reference_price=Decimal(close) if close else None,
            is_active=close > 0,
        )
        rows.append((marcap, stock))
    rows.sort(key=lambda pair: (-pair[0], pair[1].code))
    stocks = [stock for _, stock in rows]
    for rank, stock in enumerate(stocks, start=1):
        stock.market_cap_rank = rank

    with transaction.atomic():
        existing = dict(Stock.objects.values_list("code", "is_active"))
        suspended = [stock for stock in stocks if not stock.is_active]
        if suspended:  # keep the last sane close of a suspended listing rather than none
            last_close = dict(
                Stock.objects.filter(code__in=[s.code for s in suspended], reference_price__isnull=False).values_list(
                    "code", "reference_price"
                )
            )
            for stock in suspended:
                stock.reference_price = last_close.get(stock.code)
        # MySQL's upsert (ON DUPLICATE KEY) takes no conflict target; SQLite/PostgreSQL need one.
        target = ["code"] if connection.features.supports_update_conflicts_with_target else None
        Stock.objects.bulk_create(
            stocks,
            batch_size=_BATCH_SIZE,
            update_conflicts=True,
            unique_fields=target,
            update_fields=[
                "name",
                "name_en",
                "market",
                "sector",
                "industry",
                "products",
                "shares_outstanding",
                "reference_price",
                "market_cap_rank",
                "is_active",
            ],
        )
        gone = [code for code, active in existing.items() if active and code not in seen]
        deactivated = 0
        for start in range(0, len(gone), _BATCH_SIZE):
            deactivated += Stock.objects.filter(code__in=gone[start : start + _BATCH_SIZE]).update(is_active=False)
    return StockLoadResult(
        created=len(seen - existing.keys()),
        updated=len(seen & existing.keys()),
        deactivated=deactivated,
        suspended=len(suspended),
        skipped=skipped,
    )


# --- indices ------------------------------------------------------------------------------


@dataclass
class IndexLoadResult:
    code: str
    days: int
    first: date | None
    last: date | None


def _index_value(value: str, *, path: Path, line_no: int, column: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValidationError(f"{path.name} line {line_no}: {column} {value[:20]!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ValidationError(f"{path.name} line {line_no}: {column} must be a positive number")
    return number.quantize(Decimal("0.01"))


def _index_days(index: MarketIndex, path: Path) -> list[MarketIndexDay]:
    days: list[MarketIndexDay] = []
    seen: set[date] = set()
    for line_no, row in _csv_rows(path):
        try:
            day = date.fromisoformat(row.get("Date", ""))
        except ValueError:
            raise ValidationError(f"{path.name} line {line_no}: bad date {row.get('Date', '')[:20]!r}") from None
        if day in seen:
            raise ValidationError(f"{path.name} line {line_no}: {day} is listed twice")
        seen.add(day)
        values = {
            column.lower(): _index_value(row.get(column, ""), path=path, line_no=line_no, column=column)
            for column in ("Open", "High", "Low", "Close")
        }
        if not all(values["low"] <= values[column] <= values["high"] for column in ("open", "close")):
            raise ValidationError(f"{path.name} line {line_no}: open and close must lie within low … high")
        volume = row.get("Volume", "")
        days.append(
            MarketIndexDay(
                index=index,
                date=day,
                volume=_whole_number(volume, path=path, line_no=line_no, column="Volume") if volume else None,
                **values,
            )
        )
    return days


def market_indices_load(*, files: dict[str, Path] | None = None) -> list[IndexLoadResult]:
    """Create KOSPI and KOSDAQ (MarketIndex) if missing and upsert their daily history from the CSVs
    (Date,Open,High,Low,Close[,Volume]).

    Idempotent: a day already stored is updated in place. An index's name and feed code are only
    set when it is created, so an admin's change to the (unofficial) feed code survives a reload.
    Every file is validated before anything is written (ValidationError names the file and line);
    one transaction, bulk statements only.
    """
    index_files: dict[str, Path] = dict(DEFAULT_INDEX_CSVS) if files is None else files
    unknown = set(index_files) - set(INDEX_DEFINITIONS)
    if unknown:
        raise ValidationError(f"unknown index {sorted(unknown)[0]!r}")
    with transaction.atomic():
        indices = {}
        for code, definition in INDEX_DEFINITIONS.items():
            indices[code], _ = MarketIndex.objects.get_or_create(
                code=code,
                defaults={"name": definition.name, "name_en": definition.name_en, "feed_code": definition.feed_code},
            )
        loaded = {code: _index_days(indices[code], path) for code, path in index_files.items()}
        for code, days in loaded.items():
            stored = {
                row[0]: row[1:]
                for row in MarketIndexDay.objects.filter(index=indices[code]).values_list(
                    "date", "open", "high", "low", "close", "volume"
                )
            }
            # A reload writes only what changed: the shipped history is mostly the same 15,000 rows.
            new = [day for day in days if day.date not in stored]
            changed = [
                day
                for day in days
                if day.date in stored and stored[day.date] != (day.open, day.high, day.low, day.close, day.volume)
            ]
            MarketIndexDay.objects.bulk_create(new, batch_size=_BATCH_SIZE)
            if changed:
                target = ["index", "date"] if connection.features.supports_update_conflicts_with_target else None
                MarketIndexDay.objects.bulk_create(
                    changed,
                    batch_size=_BATCH_SIZE,
                    update_conflicts=True,
                    unique_fields=target,
                    update_fields=["open", "high", "low", "close", "volume"],
                )
    return [
        IndexLoadResult(
            code=code,
            days=len(days),
            first=min((d.date for d in days), default=None),
            last=max((d.date for d in days), default=None),
        )
        for code, days in loaded.items()
    ]
