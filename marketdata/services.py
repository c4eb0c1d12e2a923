import csv
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from marketdata.models import Market, Stock, stock_code_validator

DEFAULT_STOCKS_CSV = Path(__file__).resolve().parent / "data" / "stocks.csv"


@dataclass
class StockLoadResult:
    created: int
    updated: int
    deactivated: int


def stocks_load_csv(*, path: Path = DEFAULT_STOCKS_CSV, deactivate_missing: bool = False) -> StockLoadResult:
    """Upsert the stock master from a CSV (code,name,name_en,market,sector).

    The whole file is validated before anything is written; a bad row raises
    ValidationError naming its line and nothing changes.
    """
    rows: list[Stock] = []
    with open(path, encoding="utf-8", newline="") as f:
        for line_no, row in enumerate(csv.DictReader(f), start=2):
            code = (row.get("code") or "").strip().upper()
            market = (row.get("market") or "").strip().upper()
            if market.startswith("KOSDAQ"):
                market = Market.KOSDAQ  # KOSDAQ GLOBAL is a KOSDAQ segment
            try:
                stock_code_validator(code)
            except ValidationError as exc:
                raise ValidationError(f"line {line_no}: bad code {code!r}") from exc
            if market not in Market.values:
                raise ValidationError(f"line {line_no}: unknown market {market!r}")
            name = (row.get("name") or "").strip()
            if not name:
                raise ValidationError(f"line {line_no}: missing name")
            rows.append(
                Stock(
                    code=code,
                    name=name,
                    name_en=(row.get("name_en") or "").strip(),
                    market=market,
                    sector=(row.get("sector") or "").strip(),
                    market_cap_rank=len(rows) + 1,
                    is_active=True,
                )
            )
    with transaction.atomic():
        existing = set(Stock.objects.values_list("code", flat=True))
        # MySQL's upsert (ON DUPLICATE KEY) takes no conflict target; SQLite/PostgreSQL need one.
        target = ["code"] if connection.features.supports_update_conflicts_with_target else None
        Stock.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=target,
            update_fields=["name", "name_en", "market", "sector", "market_cap_rank", "is_active"],
        )
        codes = {s.code for s in rows}
        deactivated = 0
        if deactivate_missing:
            deactivated = Stock.objects.exclude(code__in=codes).filter(is_active=True).update(is_active=False)
    return StockLoadResult(created=len(codes - existing), updated=len(codes & existing), deactivated=deactivated)
