"""How fresh a price is, for every page that shows one (docs/architecture.md §7: a price older than PRICE_STALE_SECONDS
shows as 지연 with its age, never with a live dot). live-prices.js keeps the same element up to date: it turns
to delayed at the moment the API's `is_stale` does, and back to fresh when a new tick arrives."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext

from marketdata.calendar import SEOUL
from stocking.market_session import ALWAYS_OPEN, OPEN, PRE_OPEN

register = template.Library()


def delay_label(age_seconds: float) -> str:
    """ "Delayed 3 min" (지연 3분): seconds under a minute, minutes under an hour, then hours."""
    age = max(0, int(age_seconds))
    if age < 60:
        return gettext("Delayed %(seconds)s s") % {"seconds": age}
    if age < 3600:
        return gettext("Delayed %(minutes)s min") % {"minutes": age // 60}
    return gettext("Delayed %(hours)s h") % {"hours": age // 3600}


@register.simple_tag
def price_freshness(quote, code: str = ""):
    """A span that says 지연 N분 while `quote` (a Quote or IndexValue-like with received_at) is stale and is
    empty (hidden) while it is fresh; data attributes let the page script repaint it every second."""
    stale_after = settings.PRICE_STALE_SECONDS
    now = timezone.now()
    if quote is None:
        return format_html(
            '<span class="price-age" data-price-age data-code="{}" data-stale-after="{}" data-server-now="{}" hidden>'
            "</span>",
            code,
            stale_after,
            int(now.timestamp() * 1000),
        )
    received_at = quote.received_at
    age = (now - received_at).total_seconds()
    stale = age > stale_after  # the API's is_stale: not Quote.is_fresh()
    return format_html(
        '<span class="price-age{}" data-price-age data-code="{}" data-received-at="{}" data-dt="{}" '
        'data-stale-after="{}" data-server-now="{}" data-testid="price-age"{}>{}</span>',
        " stale" if stale else "",
        code or quote.code,
        int(received_at.timestamp() * 1000),
        quote.dt if isinstance(quote.dt, str) else "",
        stale_after,
        int(now.timestamp() * 1000),
        "" if stale else " hidden",
        delay_label(age) if stale else "",
    )


@register.filter
def points(value):
    """An index level with thousands separators and two decimals: 2650.1 -> "2,650.10"; None -> "–"."""
    number = _points(value)
    return "–" if number is None else f"{number:,.2f}"


@register.filter
def signed_points(value):
    """An index change with its sign: "+12.34", "-5.00", "0.00"."""
    number = _points(value)
    if number is None:
        return "–"
    return "0.00" if number == 0 else f"{number:+,.2f}"


def _points(value) -> Decimal | None:
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01")) + 0
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


@register.simple_tag(takes_context=True)
def session_label(context, session) -> str:
    """The market session in words: 24시간 모의 장, or 장 시작 전 / 장중 / 장 마감 with the next open (KST)."""
    if session.state == ALWAYS_OPEN:
        if context.get("prices_simulated", settings.MARKETDATA_SOURCE == "simulator"):
            return gettext("Simulated market open 24 hours")
        return gettext("Orders fill around the clock")
    when = date_format(session.next_open.astimezone(SEOUL), "n/j (D) H:i") if session.next_open else ""
    if session.state == PRE_OPEN:
        return gettext("Pre-market · opens %(when)s") % {"when": when}
    if session.state == OPEN:
        return gettext("Market open")
    return gettext("Market closed · next open %(when)s") % {"when": when}
