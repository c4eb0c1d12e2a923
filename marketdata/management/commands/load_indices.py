import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from marketdata.services import market_indices_load


class Command(BaseCommand):
    help = "Create the KOSPI and KOSDAQ indices and load their shipped daily history (idempotent)."

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            results = market_indices_load()
        except (OSError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        for result in results:
            self.stdout.write(f"{result.code}: {result.days} days, {result.first} … {result.last}")
        self.stdout.write(f"indices loaded in {time.perf_counter() - started:.2f} s")
