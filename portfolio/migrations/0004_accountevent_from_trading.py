"""AccountEvent moves from trading to portfolio (the account's event stream is the account's).

State only: the model starts here on the existing table `trading_accountevent`, so every
event and its seq stay as they are; trading 0002 then forgets the model, and 0005 renames
the table (a rename keeps the rows).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0003_account_last_event_seq"),
        ("trading", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AccountEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("seq", models.PositiveBigIntegerField()),
                        ("event_type", models.CharField(max_length=32)),
                        ("payload", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="events",
                                to="portfolio.account",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["account", "seq"],
                        "db_table": "trading_accountevent",
                        "constraints": [
                            models.UniqueConstraint(fields=("account", "seq"), name="event_seq_unique_per_account")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
