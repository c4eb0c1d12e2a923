"""What the pages call the price feed: simulated prices are 모의 시세, never "live" (docs/architecture.md §14)."""

from django import template
from django.conf import settings
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag
def prices_label() -> str:
    if settings.MARKETDATA_SOURCE == "simulator":
        return gettext("Simulated prices")
    return gettext("Real-time prices")
