from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

MAX_PAGE_NUMBER_DIGITS = 12


class PagePagination(PageNumberPagination):
    """`page` and `page_size` (at most 200) must be whole numbers of 1 or more: anything else is
    a 400, where DRF would answer 404 or quietly use the default. A page past the end is 404."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw in self.last_page_strings:
            return paginator.num_pages
        return _positive_whole_number(self.page_query_param, raw, default=1)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        return min(_positive_whole_number(self.page_size_query_param, raw, default=self.page_size), self.max_page_size)

    def check_params(self, request) -> None:
        """A bad `page` or `page_size` is a 400 even where the answer has no pages (a CSV export)."""
        self.get_page_size(request)
        raw = request.query_params.get(self.page_query_param)
        if raw not in self.last_page_strings:
            _positive_whole_number(self.page_query_param, raw, default=1)

    def get_paginated_response_schema(self, schema):
        """The envelope get_paginated_response() always sends: every key present, links null at the ends."""
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0, "description": "Items on every page together."},
                "next": {**link, "description": "The next page; null on the last."},
                "previous": {**link, "description": "The previous page; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        largest = 10**MAX_PAGE_NUMBER_DIGITS - 1
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number from 1, or `last`. A page past the end answers 404.",
                "schema": {
                    "anyOf": [
                        {"type": "integer", "minimum": 1, "maximum": largest},
                        {"type": "string", "enum": list(self.last_page_strings)},
                    ]
                },
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page (default {self.page_size}); more than {self.max_page_size} "
                f"gives {self.max_page_size}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": largest},
            },
        ]


def _positive_whole_number(name: str, raw: str | None, *, default: int) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_PAGE_NUMBER_DIGITS and int(raw) >= 1):
        raise ValidationError({name: [_("Give a whole number of 1 or more.")]})
    return int(raw)
