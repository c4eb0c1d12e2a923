"""Domain errors of the order engine, in the one API error shape."""

from django.utils.translation import gettext_lazy as _

from kernel.errors import ApplicationError, ConflictError, NotFoundError


class OrderRejected(ApplicationError):
    """The order breaks a trading rule (400); the message says how to fix it."""

    code = "order_rejected"


class InvalidPrice(OrderRejected):
    code = "invalid_price"


class NoFreshPrice(ConflictError):
    code = "no_fresh_price"
    default_message = _("No fresh price for this stock right now; try again or use a limit order.")


class MarketClosed(ConflictError):
    code = "market_closed"
    default_message = _("The KRX regular session (09:00–15:30 KST on trading days) is closed.")


class OrderNotFound(NotFoundError):
    code = "order_not_found"
    default_message = _("No such order.")


class OrderNotCancelable(ConflictError):
    code = "order_not_cancelable"


class OrderNotReplaceable(ConflictError):
    code = "order_not_replaceable"


class IdempotencyConflict(ConflictError):
    code = "idempotency_conflict"
    default_message = _("This client_order_id was already used for a different order.")
