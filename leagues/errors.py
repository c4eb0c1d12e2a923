"""Domain errors of the leagues app, in the one API error shape."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from kernel.errors import ApplicationError, ConflictError, NotFoundError


class InvalidLeague(ApplicationError):
    code = "validation_error"
    default_message = _("The request has invalid fields; see details.")  # kernel.errors' words for a 400


class LeagueNotFound(NotFoundError):
    """Also what another user's private league answers without its code: its existence is not told."""

    code = "league_not_found"
    default_message = _("No such league.")


class AlreadyMember(ConflictError):
    code = "already_member"
    default_message = _("You are already in this league.")


class NotMember(ConflictError):
    code = "not_member"
    default_message = _("You are not in this league.")


class LeagueEnded(ConflictError):
    code = "league_ended"
    default_message = _("This league has ended; it can no longer be joined or left, and its join code has expired.")


class LeagueFull(ConflictError):
    code = "league_full"
    default_message = _("This league is full.")


class PremiumRequired(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "premium_required"


class InvalidNickname(ApplicationError):
    code = "validation_error"
    default_message = _("The request has invalid fields; see details.")


class NicknameTaken(ConflictError):
    code = "nickname_taken"
    default_message = _("That nickname is taken.")
