"""The API's views: the books viewset (with each book's record in the upstream catalog) and the
health check."""

from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from django_books.books.catalog import search_catalog
from django_books.books.changes import record_change
from django_books.books.conditional import check_if_match, etag, is_not_modified
from django_books.books.exceptions import BookNotFound, CatalogHasNoRecord, Conflict
from django_books.books.filters import BookSearchFilter
from django_books.books.mixins import AllowHeaderMixin
from django_books.books.models import Book, BookChange
from django_books.books.pagination import LinkHeaderPagination
from django_books.books.parsers import parse_json_body
from django_books.books.problems import PROBLEM_CONTENT_TYPE, problem
from django_books.books.schema import (
    BOOK_ID,
    ETAG_HEADER,
    IF_MATCH,
    IF_NONE_MATCH,
    LOCATION_HEADER,
    NOT_MODIFIED,
    PAGE_HEADERS,
    UPGRADE_HEADER,
    WWW_AUTHENTICATE_HEADER,
    problem_responses,
)
from django_books.books.serializers import (
    BookSerializer,
    CatalogRecordSerializer,
    HealthSerializer,
)

BODY_METHODS = {"POST", "PUT", "PATCH"}
WRITE_ACTIONS = {"update", "partial_update", "destroy"}
CREATE_PROBLEMS = (400, 401, 409, 413, 415, 422, 503)
CHANGE_PROBLEMS = (400, 401, 404, 409, 412, 413, 415, 422, 503)
DELETE_PROBLEMS = (401, 404, 412, 503)
CATALOG_PROBLEMS = (404, 502, 503, 504)


@extend_schema_view(
    list=extend_schema(
        parameters=PAGE_HEADERS,
        responses={200: BookSerializer(many=True), **problem_responses(422, 503)},
    ),
    create=extend_schema(
        parameters=[LOCATION_HEADER, ETAG_HEADER, WWW_AUTHENTICATE_HEADER],
        responses={201: BookSerializer, **problem_responses(*CREATE_PROBLEMS)},
    ),
    retrieve=extend_schema(
        parameters=[BOOK_ID, IF_NONE_MATCH, ETAG_HEADER],
        responses={200: BookSerializer, **NOT_MODIFIED, **problem_responses(404, 503)},
    ),
    update=extend_schema(
        parameters=[BOOK_ID, IF_MATCH, ETAG_HEADER, WWW_AUTHENTICATE_HEADER],
        responses={200: BookSerializer, **problem_responses(*CHANGE_PROBLEMS)},
    ),
    partial_update=extend_schema(
        parameters=[BOOK_ID, IF_MATCH, ETAG_HEADER, WWW_AUTHENTICATE_HEADER],
        responses={200: BookSerializer, **problem_responses(*CHANGE_PROBLEMS)},
    ),
    destroy=extend_schema(
        parameters=[BOOK_ID, IF_MATCH, WWW_AUTHENTICATE_HEADER],
        responses={204: None, **problem_responses(*DELETE_PROBLEMS)},
    ),
)
class BookViewSet(AllowHeaderMixin, viewsets.ModelViewSet[Book]):
    """List, create, retrieve, replace, patch and delete books; writes need the API token."""

    queryset = Book.objects.all()
    serializer_class = BookSerializer
    pagination_class = LinkHeaderPagination
    filter_backends = (BookSearchFilter,)
    lookup_value_converter = "book_id"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """After 405 and 401, check a write's body in the contract's order: 413, 415, 400."""
        super().initial(request, *args, **kwargs)
        if request.method in BODY_METHODS:
            parse_json_body(request)

    def get_queryset(self) -> QuerySet[Book]:
        books = super().get_queryset()
        if self.action in WRITE_ACTIONS:
            # SELECT … FOR UPDATE, in the write's transaction: on PostgreSQL a racing write of the
            # same book waits here until the other commits, then finds the book as that one left
            # it (its If-Match is checked against the new version), or finds none (404). SQLite has
            # no row locks: its transactions begin IMMEDIATE (settings), so the lookup already
            # holds the database's write lock.
            return books.select_for_update()
        return books

    def get_object(self) -> Book:
        try:
            return super().get_object()
        except Http404 as error:  # get_object_or_404's, in Django's words, not the contract's
            raise BookNotFound from error

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """201 with the book's Location and ETag."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():  # the book and its event
            self.perform_create(serializer)
        headers = self.get_success_headers(serializer.data)
        return book_response(serializer, status.HTTP_201_CREATED, headers)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The book with its ETag; 304 without a body when If-None-Match names that tag."""
        book = self.get_object()
        if is_not_modified(request, book):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag(book)})
        return book_response(self.get_serializer(book))

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Replace or patch a book: 422, then 404, then 412 (If-Match), then 409.

        The lookup, the If-Match check and the write are one transaction, the book locked from
        the lookup on: two writers naming the same version get one 200 and one 412.
        """
        serializer = self.get_serializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            serializer.instance = self.get_object()
            check_if_match(request, serializer.instance)
            self.perform_update(serializer)
        return book_response(serializer)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """404, then 412 (If-Match), in one transaction with the DELETE."""
        with transaction.atomic():
            book = self.get_object()
            check_if_match(request, book)
            self.perform_destroy(book)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[BOOK_ID],
        responses={200: CatalogRecordSerializer, **problem_responses(*CATALOG_PROBLEMS)},
    )
    @action(detail=True, methods=["get"])
    def catalog(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The book's record in the upstream catalog: 404 for no book, without asking it."""
        book = self.get_object()
        # Give the database connection back to its pool (PostgreSQL) before the wait: held, every
        # request waiting on a slow catalog would hold one, and a few of them would take all of
        # the pool's, leaving every other request of the worker to wait for one (503). There is no
        # transaction to end: requests are not atomic (ATOMIC_REQUESTS is off). An SQLite
        # connection has no pool to go back to: it stays for the client's next request (closed
        # and opened again it cost a fifth of the endpoint's requests/s).
        if connection.settings_dict["OPTIONS"].get("pool"):
            connection.close()
        record = search_catalog(book.title, book.author)
        if record is None:
            raise CatalogHasNoRecord
        return Response(CatalogRecordSerializer(record).data)

    def perform_create(self, serializer: BaseSerializer[Book]) -> None:
        save_unless_duplicate(serializer)
        assert serializer.instance is not None
        record_change(BookChange.Type.CREATED, serializer.instance)

    def perform_update(self, serializer: BaseSerializer[Book]) -> None:
        assert serializer.instance is not None
        version = serializer.instance.version
        save_unless_duplicate(serializer)
        if serializer.instance.version != version:  # no net change is no UPDATE, and no event
            record_change(BookChange.Type.UPDATED, serializer.instance)

    def perform_destroy(self, instance: Book) -> None:
        # The DELETE's row count decides, not the lookup before it (Model.delete() returns quietly
        # when the row is gone): of two DELETEs of one book, only the one that deleted it is 204.
        deleted, _ = Book.objects.filter(pk=instance.pk).delete()
        if not deleted:
            raise BookNotFound
        record_change(BookChange.Type.DELETED, instance)

    def get_success_headers(self, data: Any) -> dict[str, str]:
        # A path: DRF looks for a `url` field, which a book does not have.
        return {"Location": reverse("book-detail", args=[data["id"]])}


def book_response(
    serializer: BaseSerializer[Book],
    status_code: int = status.HTTP_200_OK,
    headers: dict[str, str] | None = None,
) -> Response:
    """A response that carries one book: its JSON, and its version as the ETag header."""
    assert serializer.instance is not None
    headers = {**(headers or {}), "ETag": etag(serializer.instance)}
    return Response(serializer.data, status=status_code, headers=headers)


def save_unless_duplicate(serializer: BaseSerializer[Book]) -> None:
    """Save, letting the unique constraint decide: its IntegrityError becomes a 409 Conflict."""
    try:
        # In the write's transaction (the view's atomic block), with no savepoint of its own: the
        # Conflict ends that transaction, rolled back, so nothing runs after the failed statement.
        with transaction.atomic(savepoint=False):
            serializer.save()
    except IntegrityError as error:
        raise Conflict from error


class HealthView(AllowHeaderMixin, APIView):
    """GET /health: 200 {"status": "ok"} when the database answers, else a 503 problem.

    A class rather than DRF's @api_view(["GET"]): that one answers HEAD with 405, and naming
    OPTIONS in its list makes Allow name OPTIONS twice.
    """

    @extend_schema(responses={200: HealthSerializer, **problem_responses(503)})
    def get(self, request: Request) -> Response:
        # The database's OperationalError becomes a 503 problem (problems.py).
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Response({"status": "ok"})


class ChangesView(AllowHeaderMixin, APIView):
    """GET /books/changes without Upgrade: websocket: a 426 problem. The WebSocket itself needs
    Django under an ASGI server, with Channels, which make serve-django does not run yet
    (docs/live-updates.md): under gunicorn every request to the path is this one.
    """

    @extend_schema(
        parameters=[UPGRADE_HEADER],
        responses={
            101: OpenApiResponse(description="Switching Protocols, to the WebSocket."),
            **problem_responses(426),
        },
    )
    def get(self, request: Request) -> Response:
        """A WebSocket: one JSON message per committed change of a book (docs/live-updates.md).

        Connect with `Upgrade: websocket`, optionally with `?after=<event>` to replay the events
        after that one first. A request without the upgrade is a 426.
        """
        detail = f"GET {request.path} is a WebSocket: connect with Upgrade: websocket."
        return Response(
            problem(status.HTTP_426_UPGRADE_REQUIRED, detail),
            status=status.HTTP_426_UPGRADE_REQUIRED,
            headers={"Upgrade": "websocket"},
            content_type=PROBLEM_CONTENT_TYPE,
        )
