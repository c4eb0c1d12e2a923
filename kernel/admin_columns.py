"""Admin helpers shared by the apps.

Won amounts in the change lists as the pages show them (docs/architecture.md §14): thousands separators and 원 that
does not wrap, e.g. 10,000,000원; an empty amount is a dash. Times need nothing here: the admin shows aware datetimes
in TIME_ZONE (Asia/Seoul), like the pages. And the admin of records that only services write."""

from decimal import Decimal, InvalidOperation

from django.contrib import admin
from django.utils.html import format_html


def won_text(value) -> str:
    """12345678 -> "12,345,678원"; None -> "–". Whole won: KRW has no minor unit."""
    if value is None or value == "":
        return "–"
    try:
        amount = Decimal(value).quantize(Decimal(1)) + 0
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return f"{amount:,}원"


def won_column(model, field: str):
    """A list_display column for a won field of `model`, labelled and sortable like the field itself."""

    @admin.display(description=model._meta.get_field(field).verbose_name, ordering=field)
    def column(obj):
        return format_html('<span style="white-space: nowrap">{}</span>', won_text(getattr(obj, field)))

    column.__name__ = f"{field}_won"
    return column


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through services (money, derived rows, processed webhooks): the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
