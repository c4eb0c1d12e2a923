"""AccountEvent now lives in portfolio (portfolio 0004): trading forgets the model, the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0001_initial"),
        ("portfolio", "0004_accountevent_from_trading"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AccountEvent")],
            database_operations=[],
        ),
    ]
