"""The list's ?search=: a substring of the title or the author, with only A-Z folded."""

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from django_books.books.functions import ASCII_LOWERCASE, AsciiLower

_Model = TypeVar("_Model", bound=Model)
_Row = TypeVar("_Row")


class BookSearchFilter(BaseFilterBackend):
    """The books whose title or author contains ?search=, with A-Z folded to a-z.

    Not DRF's SearchFilter, which splits the term into words that must each match; and not
    icontains, which folds all of Unicode on PostgreSQL.
    """

    search_param = api_settings.SEARCH_PARAM

    def filter_queryset(
        self, request: Request, queryset: QuerySet[_Model, _Row], view: APIView
    ) -> QuerySet[_Model, _Row]:
        search = request.query_params.get(self.search_param)
        # DRF filters the lookup of one book too (get_object): the search is for the list only.
        if getattr(view, "action", None) != "list" or not search:
            return queryset
        if "\x00" in search:
            # No stored text contains NUL, and PostgreSQL refuses it even in a query.
            return queryset.none()
        folded = search.translate(ASCII_LOWERCASE)
        books: QuerySet[_Model, _Row] = queryset.alias(
            title_folded=AsciiLower("title"), author_folded=AsciiLower("author")
        )
        return books.filter(Q(title_folded__contains=folded) | Q(author_folded__contains=folded))

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": self.search_param,
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
            }
        ]
