"""The API's views: the books viewset and the health check."""

from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from rest_framework import exceptions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from django_books.books.exceptions import Conflict
from django_books.books.functions import ASCII_LOWERCASE, AsciiLower
from django_books.books.models import Book
from django_books.books.pagination import LinkHeaderPagination
from django_books.books.parsers import parse_json_body
from django_books.books.serializers import BookSerializer

BODY_METHODS = {"POST", "PUT", "PATCH"}


class AllowHeaderMixin:
    """Send Allow where the contract names it, OPTIONS (204, no body) and 405, and nowhere else.

    DRF sends Allow on every response of a view, and answers OPTIONS with 200 and a metadata body.
    """

    @property
    def default_response_headers(self) -> dict[str, str]:
        """No header on every response (DRF's default: Allow, and Vary with several renderers)."""
        return {}

    def allow_header(self) -> str:
        """The methods this view serves, as the Allow header lists them."""
        return ", ".join(self.allowed_methods)

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """204 with Allow and no body."""
        return Response(status=status.HTTP_204_NO_CONTENT, headers={"Allow": self.allow_header()})

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """405 first: DRF checks permissions before the method, which would make a 405 a 401."""
        method = request.method.lower()
        if method not in self.http_method_names or getattr(self, method, None) is None:
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        """DRF's error response, with Allow on a 405."""
        response = super().handle_exception(exc)
        if isinstance(exc, exceptions.MethodNotAllowed):
            response["Allow"] = self.allow_header()
        return response


class BookViewSet(AllowHeaderMixin, viewsets.ModelViewSet):
    """List, create, retrieve, replace, patch and delete books; writes need the API token.

    The list takes ?limit=, ?offset= and ?search= (a substring of title or author).
    """

    queryset = Book.objects.all()
    serializer_class = BookSerializer
    pagination_class = LinkHeaderPagination
    lookup_value_converter = "book_id"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """After 405 and 401, check a write's body in the contract's order: 413, 415, 400."""
        super().initial(request, *args, **kwargs)
        if request.method in BODY_METHODS:
            parse_json_body(request)

    def get_queryset(self) -> QuerySet[Book]:
        """All books; for the list, those whose title or author contains ?search= literally."""
        books = super().get_queryset()
        search = self.request.query_params.get("search")
        if self.action != "list" or not search:
            return books
        if "\x00" in search:
            # No stored text holds NUL, and databases handle it badly in a pattern.
            return books.none()
        # Unlike DRF's SearchFilter, which splits the term into words that must each match; and
        # unlike icontains, which folds all of Unicode on PostgreSQL, only A-Z are folded.
        folded = search.translate(ASCII_LOWERCASE)
        books = books.alias(title_folded=AsciiLower("title"), author_folded=AsciiLower("author"))
        return books.filter(Q(title_folded__contains=folded) | Q(author_folded__contains=folded))

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Replace or patch a book; the body is validated before the lookup (422 before 404)."""
        serializer = self.get_serializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        serializer.instance = self.get_object()
        self.perform_update(serializer)
        return Response(serializer.data)

    def perform_create(self, serializer: BaseSerializer) -> None:
        """Insert the book; a duplicate (title, author) is a 409."""
        save_unless_duplicate(serializer)

    def perform_update(self, serializer: BaseSerializer) -> None:
        """Update the book; a duplicate (title, author) is a 409."""
        save_unless_duplicate(serializer)

    def get_success_headers(self, data: dict[str, Any]) -> dict[str, str]:
        """Location of the created book, as a path (DRF looks for a `url` field we do not have)."""
        return {"Location": reverse("book-detail", args=[data["id"]])}


def save_unless_duplicate(serializer: BaseSerializer) -> None:
    """Save, letting the unique constraint decide: its IntegrityError becomes a 409 Conflict."""
    try:
        # A savepoint, so the failed statement leaves any outer transaction usable (PostgreSQL).
        with transaction.atomic():
            serializer.save()
    except IntegrityError as error:
        raise Conflict from error


class HealthView(AllowHeaderMixin, APIView):
    """GET /health: 200 {"status": "ok"} when the database answers, else a 503 problem.

    A class rather than DRF's @api_view(["GET"]): that one answers HEAD with 405, and naming
    OPTIONS in its list makes Allow name OPTIONS twice.
    """

    def get(self, request: Request) -> Response:
        """Ask the database for a trivial answer; OperationalError becomes a 503 problem."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response({"status": "ok"})
