from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


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


def _positive_whole_number(name: str, raw: str | None, *, default: int) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12 and int(raw) >= 1):
        raise ValidationError({name: ["Give a whole number of 1 or more."]})
    return int(raw)
