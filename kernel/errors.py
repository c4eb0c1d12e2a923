"""Domain errors and the one error shape every API answer uses.

{"error": {"code": "insufficient_funds", "message": "...", "details": {...}}}
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A business rule said no. Subclasses set the HTTP status and a stable code."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "application_error"
    default_message: str | Promise = _("The request could not be completed.")

    def __init__(self, message: str | Promise | None = None, *, details: dict | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = _("Not found.")


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = _("The request conflicts with the current state.")


class RequestTooLarge(ApplicationError):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE; the details say the limit."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "request_too_large"
    default_message = _("The request body is too large.")

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        super().__init__(message, details=details or {"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})


# DRF exception class -> stable error code (the DRF default codes are less uniform).
_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "malformed_request",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "throttled",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    # str() renders a lazy message in the language active for this request (Accept-Language).
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def _code_for(exc: exceptions.APIException) -> str:
    # Subclasses keep their own code (simplejwt's InvalidToken: "token_not_valid").
    return _CODES.get(type(exc)) or getattr(exc, "default_code", None) or "error"


def _message_for(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return gettext("The request has invalid fields; see details.")
    detail = exc.detail
    if isinstance(detail, dict):
        detail = detail.get("detail", next(iter(detail.values()), ""))
    if isinstance(detail, list):
        detail = detail[0] if detail else ""
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
        if "retry_after_seconds" in exc.details:  # a limit that lifts: say when, as 429/503 should
            response["Retry-After"] = str(exc.details["retry_after_seconds"])
        return response
    if isinstance(exc, RequestDataTooBig):  # Django's size check, where a view reads request.body
        return api_exception_handler(RequestTooLarge(), context)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handling log it
    details: dict = {}
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    elif isinstance(exc.detail, dict) and "messages" in exc.detail:
        details = {"messages": exc.detail["messages"]}  # simplejwt explains which token failed
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details = {"retry_after_seconds": int(exc.wait) + 1}
    response.data = error_body(_code_for(exc), _message_for(exc), details)
    return response


def request_too_large_response() -> JsonResponse:
    error = RequestTooLarge()
    return JsonResponse(error_body(error.code, error.message, error.details), status=error.status_code)


def json_404(request, exception=None):
    """Django's 404 for paths outside any DRF view; JSON under /api/, HTML elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", gettext("No such endpoint.")), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_500(request):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", gettext("Internal server error.")), status=500)
    from django.views.defaults import server_error

    return server_error(request)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class ErrorOutputSerializer(serializers.Serializer):
    """The one error shape, for the API docs."""

    error = ErrorDetailSerializer()


def error_response(description: str) -> OpenApiResponse:
    """An error answer in /docs: the error shape, with what the codes mean."""
    return OpenApiResponse(ErrorOutputSerializer, description=description)
