"""The OpenAPI schema (/api/schema/) says what the server does, so generated clients and schemathesis can trust it.

Generic rules, read off each view, add what drf-spectacular cannot see in this codebase's plain APIViews:
- a list (a `many=True` answer to GET) comes in the pagination envelope with `page`/`page_size`;
- every error status the view's machinery can answer is documented with the one error shape
  (kernel/errors.py): 400 for parameters and bodies, 401 where a credential is read, 403 for
  stricter permissions and CSRF, 404 for paths and pages, 413/415 for bodies, 429 for throttles.
Statuses only a view's own logic knows (409 conflicts, 503 …) are declared on the view with `error_response`.
"""

from datetime import date

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DatabaseError
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance, is_basic_serializer
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.settings import api_settings
from rest_framework_simplejwt.views import TokenViewBase

from kernel.errors import error_response
from kernel.fields import BodylessAction, WonField

_BODY_METHODS = {"POST", "PUT", "PATCH"}
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_LENIENT_PERMISSIONS = (permissions.AllowAny, permissions.IsAuthenticated)

_ERRORS = {
    "400": "`validation_error` (details name each bad field) or `malformed_request` (unparseable body).",
    "401": "`not_authenticated`, or `authentication_failed` / `token_not_valid` for a bad or expired token.",
    "403": "`permission_denied`: not allowed for this user, or a session request without its CSRF token.",
    "404": "`not_found`: no such object of yours, or a page past the end.",
    "413": "`request_too_large`: the body is larger than the server accepts.",
    "415": "`unsupported_media_type`: send `Content-Type: application/json`.",
    "429": "`throttled`: too many requests; retry after `Retry-After` seconds (also in details).",
}


class AutoSchema(SpectacularAutoSchema):
    """Names nested serializers after their view: RegisterApi.InputSerializer -> "RegisterInput"."""

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        qualname = type(serializer).__qualname__
        if "." in qualname:
            outer, inner = qualname.rsplit(".", 2)[-2:]
            name = outer.removesuffix("Api") + inner.removesuffix("Serializer")
            if direction == "request" and self._is_split_direction():
                name += "Request"
        return name

    def _is_split_direction(self):
        from drf_spectacular.settings import spectacular_settings

        return spectacular_settings.COMPONENT_SPLIT_REQUEST

    # --- lists are paginated (docs/architecture.md §9) --------------------------------------------------

    def _get_paginator(self):
        """Views page their lists by hand with the default pagination class; a GET that answers a
        `many=True` serializer is such a list (drf-spectacular asks only for list answers)."""
        if self.method != "GET":
            return None
        pagination_class = getattr(self.view, "pagination_class", None) or api_settings.DEFAULT_PAGINATION_CLASS
        return pagination_class() if pagination_class else None

    def _is_paginated(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    # --- constraints the server enforces ------------------------------------------------------

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, WonField | serializers.IntegerField):
            return _whole_number_schema(field, schema, direction)
        if isinstance(field, serializers.SlugRelatedField) and field.queryset is not None and direction == "request":
            try:
                slugs = list(field.get_queryset().values_list(field.slug_field, flat=True))
            except DatabaseError:  # no tables yet (`manage.py spectacular` on a fresh checkout)
                slugs = []
            if slugs:
                schema["enum"] = slugs
            return schema
        if isinstance(field, serializers.DateField) and schema.get("format") == "date":
            pattern = _day_pattern(field.validators)
            if pattern:
                schema.setdefault("pattern", pattern)
        return schema

    def _process_override_parameters(self, direction="request"):
        """Query parameters read by a filter serializer: DRF takes an empty value (`?type=`) for an
        optional field as not given, so the schema allows empty values there."""
        parameters = super()._process_override_parameters(direction)
        for override in self.get_override_parameters():
            if not is_basic_serializer(override):
                continue
            for name, field in force_instance(override).fields.items():
                parameter = parameters.get((name, "query"))
                if parameter is not None and not field.required:
                    parameter["allowEmptyValue"] = True
        return parameters

    # --- every error status the operation can answer ----------------------------------------

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in sorted(self._error_statuses()):
            if code not in responses:
                responses[code] = self._get_response_for_code(error_response(_ERRORS[code]), code, direction=direction)
        return dict(sorted(responses.items()))

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if status_code == "429":
            headers.setdefault(
                "Retry-After", {"schema": {"type": "integer"}, "description": "Seconds until a retry may succeed."}
            )
        return headers

    def _error_statuses(self) -> set[str]:
        view, method = self.view, self.method
        codes: set[str] = set()
        takes_body = (method in _BODY_METHODS and self.get_request_serializer() is not None) or (
            isinstance(view, BodylessAction) and method in _UNSAFE_METHODS
        )
        query_parameters = [p for p in self._get_parameters() if p.get("in") == "query"]
        if takes_body or query_parameters:
            codes.add("400")
        if takes_body:
            codes |= {"413", "415"}

        authenticators = view.get_authenticators()
        if authenticators or isinstance(view, TokenViewBase):
            codes.add("401")  # a bad bearer token is refused even where no login is needed
        if any(not isinstance(p, _LENIENT_PERMISSIONS) for p in view.get_permissions()):
            codes.add("403")
        if method in _UNSAFE_METHODS and any(isinstance(a, SessionAuthentication) for a in authenticators):
            codes.add("403")  # CSRF, for session-authenticated writes
        if any(p.get("in") == "path" for p in self._get_parameters()) or self._is_paginated():
            codes.add("404")
        if view.get_throttles():
            codes.add("429")
        return codes


def _day_pattern(validators) -> str | None:
    """A date field bounded to whole centuries of years (2000-01-01 … 2099-12-31) as a pattern."""
    low = next((v.limit_value for v in validators if isinstance(v, MinValueValidator)), None)
    high = next((v.limit_value for v in validators if isinstance(v, MaxValueValidator)), None)
    if not (isinstance(low, date) and isinstance(high, date)):
        return None
    if (low.month, low.day, high.month, high.day) != (1, 1, 12, 31) or low.year % 100 or high.year != low.year + 99:
        return None
    return rf"^{low.year // 100}[0-9]{{2}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


# What the whole-number fields take as text, besides JSON integers (kernel/fields.py).
_WON_TEXT = r"^\s*\+?0*[1-9][0-9]*(\.0+)?\s*$"  # stripped, optional +, zero fraction only
_COUNT_TEXT = r"^0*[1-9][0-9]*$"  # ASCII digits only


def _whole_number_schema(field, schema: dict, direction: str) -> dict:
    """A JSON integer within the field's bounds; on input also the numeric text the field accepts
    (IntegerField inputs are StrictIntegerField: ASCII digits only)."""
    number = {k: v for k, v in schema.items() if k not in {"description", "nullable", "readOnly", "writeOnly"}}
    number["type"] = "integer"
    if field.min_value is not None:
        number["minimum"] = int(field.min_value)
    if field.max_value is not None:
        number["maximum"] = int(field.max_value)
    outer = {k: v for k, v in schema.items() if k in {"description", "nullable", "readOnly", "writeOnly"}}
    if direction != "request":
        return {**number, **outer}
    if isinstance(field, WonField):
        text = {"type": "string", "pattern": _WON_TEXT, "maxLength": 30}
    else:
        positive = field.min_value is not None and field.min_value >= 1
        text = {"type": "string", "pattern": _COUNT_TEXT if positive else r"^[0-9]+$", "maxLength": 18}
    number.pop("example", None)
    return {"anyOf": [number, text], **outer}
