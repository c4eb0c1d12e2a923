"""Domain errors of the portfolio app, in the one API error shape."""

from django.utils.translation import gettext_lazy as _

from kernel.errors import ApplicationError, ConflictError, NotFoundError


class AccountNotFound(NotFoundError):
    code = "account_not_found"
    default_message = _("You have no open paper account.")


class InsufficientFunds(ConflictError):
    code = "insufficient_funds"
    default_message = _("Not enough available cash.")


class InsufficientQuantity(ConflictError):
    code = "insufficient_quantity"
    default_message = _("Not enough shares available.")


class InvalidInput(ApplicationError):
    code = "validation_error"


class LimitReached(ConflictError):
    code = "limit_reached"


class WatchlistNotFound(NotFoundError):
    code = "watchlist_not_found"
    default_message = _("No such watchlist.")


class DuplicateWatchlistEntry(ConflictError):
    code = "duplicate"
