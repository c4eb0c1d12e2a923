from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def won(value):
    """12345678 -> "12,345,678원". KRW has no minor unit."""
    if value is None or value == "":
        return "–"
    try:
        amount = Decimal(value).quantize(Decimal(1))
    except (InvalidOperation, TypeError, ValueError):
        return value
    return f"{amount:,}원"


@register.filter
def signed_pct(value):
    if value is None or value == "":
        return "–"
    try:
        pct = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    return f"{pct:+.2f}%"


@register.filter
def percent(rate):
    """A rate as a percentage without trailing zeros: 0.00015 -> "0.015%", 0.002 -> "0.2%"."""
    try:
        pct = (Decimal(rate) * 100).normalize()
    except (InvalidOperation, TypeError, ValueError):
        return rate
    return f"{pct:f}%"
