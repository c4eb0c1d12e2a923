"""The moved AccountEvent table takes portfolio's name; RENAME TABLE keeps every row."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0004_accountevent_from_trading"),
        ("trading", "0002_accountevent_to_portfolio"),
    ]

    operations = [
        migrations.AlterModelTable(name="accountevent", table=None),
    ]
