"""Request body size, refused before anything reads the body (docs/architecture.md §11)."""

from django.conf import settings

from kernel.errors import request_too_large_response


class BodySizeLimitMiddleware:
    """An API request that declares a body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 in the error shape.

    Django's own check fires wherever the body is first read (CSRF, auth, the parser) and answers an HTML 400;
    pages keep that. A body sent without a Content-Length is bounded by the parser (kernel.parsers)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.path.startswith("/api/") and _declared_length(request) > limit:
            return request_too_large_response()
        return self.get_response(request)


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # unreadable: Django reads no body at all
