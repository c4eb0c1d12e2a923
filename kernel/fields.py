"""Input checks shared by the APIs and pages: whole won amounts, calendar-day filters, visible
names, and refusing unparseable bodies on actions that take none."""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_WON = Decimal("1000000000000")  # 1조 won: beyond any paper account
# Plain ASCII decimal notation only: Decimal() would also take "1_000", "１２３" and "1e3".
_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": int(MAX_WON), "example": 1000000})
class WonField(serializers.Field):
    """A positive whole-won amount, as a JSON number or a numeric string; rendered as a number.

    Rejects booleans, fractions (KRW has no minor unit), NaN/infinity and absurd sizes.
    """

    default_error_messages = {
        "invalid": _("Enter a whole number of won, e.g. 100000."),
        "fraction": _("Won has no fractions; enter a whole number."),
        "min": _("Must be at least {min_value:,} won."),
        "max": _("Must be at most {max_value:,} won."),
    }

    def __init__(self, *, min_value: Decimal = Decimal(1), max_value: Decimal = MAX_WON, **kwargs):
        self.min_value = min_value
        self.max_value = max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, int | float | str | Decimal):
            self.fail("invalid")
        if isinstance(data, str) and (len(data) > 30 or not _DECIMAL_TEXT.fullmatch(data.strip())):
            self.fail("invalid")
        try:
            value = Decimal(str(data).strip())
        except InvalidOperation:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        if value != value.to_integral_value():
            self.fail("fraction")
        if value < self.min_value:
            self.fail("min", min_value=self.min_value)
        if value > self.max_value:
            self.fail("max", max_value=self.max_value)
        return value.quantize(Decimal(1))

    def to_representation(self, value):
        return int(value)


_INTEGER_TEXT = re.compile(r"[0-9]{1,18}", re.ASCII)


@extend_schema_field({"type": "integer", "minimum": 1, "example": 10})
class StrictIntegerField(serializers.IntegerField):
    """A whole count (shares, …) as a JSON integer, or a string of plain ASCII digits only.

    DRF's IntegerField runs int(str(value)), which takes "１０" (fullwidth), "١٠" (Arabic-Indic),
    "1_0" and " 10 ", and 10.0; none of them is a quantity a client meant to send.
    """

    default_error_messages = {"invalid": _("Enter a whole number, e.g. 10 (digits 0-9 only).")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, str) and not _INTEGER_TEXT.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


# Ledger, orders and executions began this century; bounding the days keeps the
# Seoul-midnight arithmetic on them far from datetime's year 1 and 9999.
DAY_BOUNDS = [MinValueValidator(date(2000, 1, 1)), MaxValueValidator(date(2099, 12, 31))]


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class StrictDateField(serializers.DateField):
    """A KST calendar day as a "YYYY-MM-DD" string only (DRF's DateField also takes "20261105")."""

    def __init__(self, **kwargs):
        super().__init__(validators=DAY_BOUNDS, **kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only (DRF's BooleanField also takes "yes", "on", 1 …)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _day_field() -> serializers.DateField:
    return serializers.DateField(
        required=False, help_text=_("Seoul calendar day, inclusive (YYYY-MM-DD)"), validators=DAY_BOUNDS
    )


class DayRangeFilter(serializers.Serializer):
    """The `date_from`/`date_to` query parameters of a list."""

    date_from = _day_field()
    date_to = _day_field()

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": [gettext("Must not be before date_from.")]})
        return attrs


def visible_text(value: str) -> None:
    """A name must show something: whitespace and invisible format characters (U+200B …) alone do not."""
    if not any(ch.isprintable() and not ch.isspace() for ch in value):
        raise ValidationError(gettext("Use at least one visible character."))


class BodylessAction:
    """Mixin for API views whose POST/DELETE takes no input: a body that is sent anyway must still
    parse (else 400 or 415), so a client's malformed request is refused instead of acted on."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        request.data  # noqa: B018 - parsing it is the check


_FORM_INTEGER_TEXT = re.compile(r"-?[0-9]{1,18}", re.ASCII)


class AsciiIntegerField(forms.IntegerField):
    """A page form's whole number in plain ASCII digits (StrictIntegerField's rule, for Django forms).

    Django's IntegerField runs int() on the text, which takes "１０" (fullwidth), "١٠" (Arabic-Indic), "1_0" and
    "10.0"; a Korean IME types fullwidth digits easily, and none of them is what the field shows back.
    """

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _FORM_INTEGER_TEXT.fullmatch(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(text)
