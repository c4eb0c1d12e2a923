"""Fixed English texts the services store in the database, shown in the page's language (docs/architecture.md §14).

The stored value never changes (the API, CSV exports, logs and tests read it as written): pages translate it when
they show it, by looking it up among the texts the services are known to write. Anything else (a staff member's
memo, a message PortOne sent) is shown as stored, since it is data, not interface.

    {% load stored_text %}{{ order.reject_reason|order_reason }} {{ row.memo|ledger_memo }}
    {{ payment.failure_reason|payment_failure }} {{ product.name|plan_name }}
"""

import re

from django import template
from django.utils.translation import pgettext, pgettext_lazy

register = template.Library()

# trading/services.py's reasons for closing an order, and portfolio's reset (through trading's close hook)
ORDER_REASONS = {
    "canceled by you": pgettext_lazy("order reason", "canceled by you"),
    "replaced (정정)": pgettext_lazy("order reason", "replaced (정정)"),
    "account reset": pgettext_lazy("order reason", "account reset"),
    "day order ended": pgettext_lazy("order reason", "day order ended"),
    "IOC: nothing more fills now": pgettext_lazy("order reason", "IOC: nothing more fills now"),
    "FOK: nothing more fills now": pgettext_lazy("order reason", "FOK: nothing more fills now"),
    "FOK: the whole quantity cannot fill now": pgettext_lazy("order reason", "FOK: the whole quantity cannot fill now"),
    "market order: no more volume at this price": pgettext_lazy(
        "order reason", "market order: no more volume at this price"
    ),
    "not enough cash for the fill at current fees": pgettext_lazy(
        "order reason", "not enough cash for the fill at current fees"
    ),
    "not enough cash when the stop triggered": pgettext_lazy("order reason", "not enough cash when the stop triggered"),
}
_CANCELED_BY_STAFF = re.compile(r"canceled by staff \((?P<name>.*)\)")

# portfolio/services.py's ledger memos
LEDGER_MEMOS = {"Opening deposit": pgettext_lazy("ledger memo", "Opening deposit")}

# payments/services.py's failure reasons (PortOne's own pg_message is shown as PortOne sent it)
PAYMENT_FAILURES = {
    "The payment failed at PortOne.": pgettext_lazy("payment failure", "The payment failed at PortOne.")
}
_PAID_BUT_MISMATCHED = re.compile(r"PortOne reports it paid, but .*\. No premium was granted; staff will refund it\.")
_EXPIRED = re.compile(r"Expired: not paid after (?P<checks>\d+) checks with PortOne\.")

# payments/migrations/0002_seed_products.py's plan names; a name an administrator typed is shown as typed
PLAN_NAMES = {
    "StocKing Premium (1 month)": pgettext_lazy("plan name", "StocKing Premium (1 month)"),
    "StocKing Premium (1 year)": pgettext_lazy("plan name", "StocKing Premium (1 year)"),
}


@register.filter
def order_reason(text: str) -> str:
    if text in ORDER_REASONS:
        return str(ORDER_REASONS[text])
    if match := _CANCELED_BY_STAFF.fullmatch(text or ""):
        return pgettext("order reason", "canceled by staff (%(name)s)") % {"name": match["name"]}
    return text


@register.filter
def ledger_memo(text: str) -> str:
    return str(LEDGER_MEMOS.get(text, text))


@register.filter
def is_known_memo(text: str) -> bool:
    """A memo the services wrote (translated), as opposed to one a person typed (shown as data, translate="no")."""
    return text in LEDGER_MEMOS


@register.filter
def payment_failure(text: str) -> str:
    if text in PAYMENT_FAILURES:
        return str(PAYMENT_FAILURES[text])
    if _PAID_BUT_MISMATCHED.fullmatch(text or ""):
        return pgettext(
            "payment failure",
            "PortOne reports it paid, but not what this order asked for. No premium was granted; staff will refund it.",
        )
    if match := _EXPIRED.fullmatch(text or ""):
        return pgettext("payment failure", "Expired: not paid after %(checks)s checks with PortOne.") % {
            "checks": match["checks"]
        }
    return text


@register.filter
def plan_name(text: str) -> str:
    return str(PLAN_NAMES.get(text, text))
