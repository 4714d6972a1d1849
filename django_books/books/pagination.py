"""Limit/offset paging with the page as the body and the paging facts in headers."""

from typing import Any
from urllib.parse import quote

from django.db.models import BigIntegerField, QuerySet
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_books.books.exceptions import InvalidQueryParameters


def parse_decimal(text: str) -> int | None:
    """The value of a plain decimal integer (ASCII digits only), or None for anything else."""
    if not (text.isascii() and text.isdigit()):
        return None  # int() would also take "+1", " 1", "1_000" and non-ASCII digits
    try:
        return int(text)
    except ValueError:  # more digits than Python converts
        return None


class LinkHeaderPagination(LimitOffsetPagination):
    """?limit= and ?offset= paging, with X-Total-Count and an RFC 8288 Link header, no envelope.

    DRF's LimitOffsetPagination falls back to the defaults on invalid values; here they are a 422.
    """

    default_limit = 100
    max_limit = 100
    search_query_param = "search"

    def paging_bounds(self) -> dict[str, tuple[int, int, int]]:
        """Each paging parameter's default, minimum and maximum."""
        return {
            self.limit_query_param: (self.default_limit, 1, self.max_limit),
            # The largest OFFSET the databases take, as for ids: a signed 64-bit integer.
            self.offset_query_param: (0, 0, BigIntegerField.MAX_BIGINT),
        }

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: APIView | None = None
    ) -> list:
        """Validate limit and offset together (one error each), then return the page."""
        self.request = request
        values, errors = {}, {}
        for name, (default, minimum, maximum) in self.paging_bounds().items():
            text = request.query_params.get(name)
            value = default if text is None else parse_decimal(text)
            if value is None or not minimum <= value <= maximum:
                errors[name] = [f"Must be an integer from {minimum} to {maximum}."]
            values[name] = value
        if errors:
            raise InvalidQueryParameters(errors)
        self.limit = values[self.limit_query_param]
        self.offset = values[self.offset_query_param]
        self.count = self.get_count(queryset)
        if self.offset >= self.count:
            return []
        return list(queryset[self.offset : self.offset + self.limit])

    def get_paginated_response(self, data: list) -> Response:
        """The page as a bare JSON array; X-Total-Count, and Link when there are other pages."""
        headers = {"X-Total-Count": str(self.count)}
        pages = {"next": self.get_next_link(), "prev": self.get_previous_link()}
        links = [f'<{url}>; rel="{relation}"' for relation, url in pages.items() if url is not None]
        if links:
            headers["Link"] = ", ".join(links)
        return Response(data, headers=headers)

    def get_next_link(self) -> str | None:
        """The relative URL of the next page, if there is one."""
        if self.offset + self.limit >= self.count:
            return None
        return self.page_url(self.offset + self.limit)

    def get_previous_link(self) -> str | None:
        """The relative URL of the previous page, if there is one."""
        if self.offset <= 0:
            return None
        return self.page_url(max(self.offset - self.limit, 0))

    def page_url(self, offset: int) -> str:
        """A relative link to the page at this offset, with the search (DRF links are absolute)."""
        url = (
            f"{self.request.path}"
            f"?{self.limit_query_param}={self.limit}&{self.offset_query_param}={offset}"
        )
        search = self.request.query_params.get(self.search_query_param)
        if search is not None:
            url += f"&{self.search_query_param}={quote(search, safe='')}"
        return url

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """For OpenAPI: limit and offset with their bounds and defaults, and search."""
        parameters: list[dict[str, Any]] = [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": low, "maximum": high, "default": default},
            }
            for name, (default, low, high) in self.paging_bounds().items()
        ]
        search = {"name": self.search_query_param, "in": "query", "required": False}
        return [*parameters, {**search, "schema": {"type": "string"}}]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """For OpenAPI: the page is the bare array of books, not DRF's envelope."""
        return schema
