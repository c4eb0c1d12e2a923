"""`manage.py snapshot_accounts`: each account's equity at the end of a KST day (docs/architecture.md §13)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from marketdata.calendar import seoul_today
from portfolio.analytics import snapshots_backfill, snapshots_seed_demo, snapshots_take
from portfolio.models import Account


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("Give a date as YYYY-MM-DD, not %(value)r.") % {"value": value[:20]}) from exc


class Command(BaseCommand):
    help = "Write every account's equity snapshot of a KST day (idempotent), backfill missing days, or seed a demo."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="KST day, YYYY-MM-DD (default: today); re-running replaces its rows")
        parser.add_argument(
            "--backfill", action="store_true", help="rebuild missing days from the ledger and candles, up to yesterday"
        )
        parser.add_argument("--from", dest="first", help="with --backfill: the first day (default: first ledger row)")
        parser.add_argument("--seed-demo", metavar="USERNAME", help="write plausible history for this demo user")
        parser.add_argument("--days", type=int, default=20, help="with --seed-demo: how many days (default 20)")

    def handle(self, *args, date=None, backfill=False, first=None, seed_demo=None, days=20, **options):
        if seed_demo:
            if not 1 <= days <= 400:
                raise CommandError(_("--days must be between 1 and 400."))
            account = Account.objects.filter(user__username=seed_demo, is_open=True).first()
            if account is None:
                raise CommandError(_("%(username)s has no open account.") % {"username": seed_demo[:150]})
            written = snapshots_seed_demo(account=account, days=days)
            self.stdout.write(f"seeded {written} snapshots for {seed_demo}")
            return
        if backfill:
            written = snapshots_backfill(first=_day(first) if first else None)
            self.stdout.write(f"backfilled: {written} account-days offered (existing rows kept)")
            return
        day = _day(date) if date else seoul_today(timezone.now())
        if day > seoul_today(timezone.now()):
            raise CommandError(_("%(day)s is in the future.") % {"day": day})
        written = snapshots_take(day=day)
        self.stdout.write(f"{day}: {written} snapshots")
