"""Money and percentage formatting for pages (docs/architecture.md §14): thousands separators, 원 that never wraps
onto its own
line, signed percentages with two decimals and never "-0.00%"."""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.html import conditional_escape, format_html

register = template.Library()

DASH = "–"
CENT = Decimal("0.01")


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _won_html(amount: Decimal, sign: str = ""):
    # One nowrap span (app.css .won): the digits and 원 stay on one line, and the text reads "12,345원" as before.
    return format_html('<span class="won">{}{}원</span>', sign, f"{amount:,}")


def _whole_won(value) -> Decimal | None:
    amount = _decimal(value)
    if amount is None:
        return None
    # KRW has no minor unit; + 0 turns a rounded "-0" into "0".
    return amount.quantize(Decimal(1)) + 0


@register.filter
def won(value):
    """12345678 -> "12,345,678원" (in a span that does not wrap). None or "" -> "–"."""
    if value is None or value == "":
        return DASH
    amount = _whole_won(value)
    if amount is None:
        return conditional_escape(value)
    return _won_html(amount)


@register.filter
def signed_won(value):
    """A change in won with its sign: "+1,200원", "-300원", "0원"."""
    if value is None or value == "":
        return DASH
    amount = _whole_won(value)
    if amount is None:
        return conditional_escape(value)
    return _won_html(amount, "+" if amount > 0 else "")


@register.filter
def signed_pct(value):
    """1.234 -> "+1.23%", -0.004 -> "0.00%" (never "-0.00%"), None -> "–"."""
    if value is None or value == "":
        return DASH
    pct = _decimal(value)
    if pct is None:
        return conditional_escape(value)
    pct = pct.quantize(CENT) + 0
    if pct == 0:
        return "0.00%"
    return f"{pct:+.2f}%"


@register.filter
def percent(rate):
    """A rate as a percentage without trailing zeros: 0.00015 -> "0.015%", 0.002 -> "0.2%"."""
    try:
        pct = (Decimal(rate) * 100).normalize()
    except (InvalidOperation, TypeError, ValueError):
        return rate
    return f"{pct:f}%"
