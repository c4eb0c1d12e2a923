from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce


def number_from_existing_events(apps, schema_editor):
    """Accounts with events continue their numbering from their newest one."""
    Account = apps.get_model("portfolio", "Account")
    AccountEvent = apps.get_model("trading", "AccountEvent")
    newest = AccountEvent.objects.filter(account=OuterRef("pk")).order_by("-seq").values("seq")[:1]
    Account.objects.update(last_event_seq=Coalesce(Subquery(newest), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0002_transaction_execution_transaction_order"),
        ("trading", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="last_event_seq",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(number_from_existing_events, migrations.RunPython.noop),
    ]
