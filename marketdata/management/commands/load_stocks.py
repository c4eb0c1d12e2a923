import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from marketdata.services import DEFAULT_DESCRIPTIONS_CSV, DEFAULT_LISTING_CSV, DEFAULT_STOCKS_CSV, stocks_load_csv


class Command(BaseCommand):
    help = (
        "Make the stock master match the shipped KRX listing (every KOSPI and KOSDAQ stock): "
        "upserts in place, marks codes no longer listed inactive."
    )

    def add_arguments(self, parser):
        parser.add_argument("--listing", type=Path, default=DEFAULT_LISTING_CSV, help="KRX listing CSV")
        parser.add_argument("--descriptions", type=Path, default=DEFAULT_DESCRIPTIONS_CSV, help="KRX descriptions CSV")
        parser.add_argument("--names", type=Path, default=DEFAULT_STOCKS_CSV, help="English names and sectors CSV")

    def handle(self, *args, listing: Path, descriptions: Path, names: Path, **options):
        started = time.perf_counter()
        try:
            result = stocks_load_csv(listing=listing, descriptions=descriptions, names=names)
        except (OSError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"stocks: {result.created} created, {result.updated} updated, {result.deactivated} deactivated, "
            f"{result.suspended} suspended (inactive), {result.skipped} skipped (KONEX) "
            f"in {time.perf_counter() - started:.2f} s"
        )
