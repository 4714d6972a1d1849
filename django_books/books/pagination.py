"""Limit/offset paging with the page as the body and the paging facts in headers."""

from typing import Any, TypeVar
from urllib.parse import quote

from django.db.models import BigIntegerField, Model, QuerySet
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_books.books.exceptions import InvalidQueryParameters
from django_books.books.filters import BookSearchFilter

_Model = TypeVar("_Model", bound=Model)
_Row = TypeVar("_Row")


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

    default_limit: int = 100
    max_limit: int = 100
    # Set by paginate_queryset, which here never leaves one of them None.
    request: Request
    limit: int
    offset: int
    count: int

    def paging_bounds(self) -> dict[str, tuple[int, int, int]]:
        """Each paging parameter's default, minimum and maximum."""
        return {
            self.limit_query_param: (self.default_limit, 1, self.max_limit),
            # The largest OFFSET the databases take, as for ids: a signed 64-bit integer.
            self.offset_query_param: (0, 0, BigIntegerField.MAX_BIGINT),
        }

    def paginate_queryset(
        self, queryset: QuerySet[_Model, _Row], request: Request, view: APIView | None = None
    ) -> list[_Row]:
        """Validate limit and offset together (one error each), then return the page."""
        self.request = request
        values, errors = {}, {}
        for name, (default, minimum, maximum) in self.paging_bounds().items():
            text = request.query_params.get(name)
            value = default if text is None else parse_decimal(text)
            if value is None or not minimum <= value <= maximum:
                errors[name] = [f"Must be an integer from {minimum} to {maximum}."]
            else:
                values[name] = value
        if errors:
            raise InvalidQueryParameters(errors)
        self.limit = values[self.limit_query_param]
        self.offset = values[self.offset_query_param]
        self.count = self.get_count(queryset)
        if self.offset >= self.count:
            return []
        return list(queryset[self.offset : self.offset + self.limit])

    def get_paginated_response(self, data: list[Any]) -> Response:
        """The page as a bare JSON array; X-Total-Count, and Link when there are other pages."""
        headers = {"X-Total-Count": str(self.count)}
        pages = {"next": self.get_next_link(), "prev": self.get_previous_link()}
        links = [f'<{url}>; rel="{relation}"' for relation, url in pages.items() if url is not None]
        if links:
            headers["Link"] = ", ".join(links)
        return Response(data, headers=headers)

    def get_next_link(self) -> str | None:
        if self.offset + self.limit >= self.count:
            return None
        return self.page_url(self.offset + self.limit)

    def get_previous_link(self) -> str | None:
        if self.offset <= 0:
            return None
        return self.page_url(max(self.offset - self.limit, 0))

    def page_url(self, offset: int) -> str:
        """A relative link to the page at this offset, with the search (DRF links are absolute)."""
        url = (
            f"{self.request.path}"
            f"?{self.limit_query_param}={self.limit}&{self.offset_query_param}={offset}"
        )
        search_param = BookSearchFilter.search_param
        search = self.request.query_params.get(search_param)
        if search is not None:
            url += f"&{search_param}={quote(search, safe='')}"
        return url

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """limit and offset with their bounds and defaults (DRF's have neither)."""
        return [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": low, "maximum": high, "default": default},
            }
            for name, (default, low, high) in self.paging_bounds().items()
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The page is the bare array of books, not DRF's envelope."""
        return schema
