"""The premium catalogue: monthly 9,900 KRW for 30 days, yearly 99,000 KRW for 365 days (editable in the admin)."""

from decimal import Decimal

from django.db import migrations

PRODUCTS = [
    # code, name, price (KRW), days, position
    ("premium_monthly", "StocKing Premium (1 month)", Decimal(9900), 30, 0),
    ("premium_yearly", "StocKing Premium (1 year)", Decimal(99000), 365, 1),
]


def seed(apps, schema_editor):
    Product = apps.get_model("payments", "Product")
    for code, name, price, days, position in PRODUCTS:
        Product.objects.get_or_create(
            code=code,
            defaults={"name": name, "price": price, "currency": "KRW", "period_days": days, "position": position},
        )


def unseed(apps, schema_editor):
    Product = apps.get_model("payments", "Product")
    Product.objects.filter(code__in=[code for code, *_ in PRODUCTS], payments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
