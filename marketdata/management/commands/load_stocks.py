from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from marketdata.services import DEFAULT_STOCKS_CSV, stocks_load_csv


class Command(BaseCommand):
    help = "Load or update the stock master from a CSV (code,name,name_en,market,sector)."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DEFAULT_STOCKS_CSV)
        parser.add_argument("--deactivate-missing", action="store_true", help="mark stocks not in the file inactive")

    def handle(self, *args, file: Path, deactivate_missing: bool, **options):
        try:
            result = stocks_load_csv(path=file, deactivate_missing=deactivate_missing)
        except (OSError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"stocks: {result.created} created, {result.updated} updated, {result.deactivated} deactivated"
        )
