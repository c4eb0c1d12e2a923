from django.core.management.base import BaseCommand

from portfolio.audit import ledger_audit


class Command(BaseCommand):
    help = "Check the ledger invariants (docs/architecture.md §4) for every account or one; exit 1 on any violation."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, action="append", help="account id (repeatable)")

    def handle(self, *args, account=None, **options):
        violations, accounts, rows = ledger_audit(account_ids=account)
        for violation in violations:
            self.stderr.write(str(violation))
        summary = f"ledger audit: {accounts} accounts, {rows} rows, {len(violations)} violations"
        if violations:
            self.stderr.write(self.style.ERROR(summary))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(summary))
