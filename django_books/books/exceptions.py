"""API exceptions for the statuses DRF has no class for, and for invalid query parameters."""

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError


class Conflict(APIException):
    """409: the write would duplicate another book's (title, author)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Another book already has this title and author."
    default_code = "conflict"


class BookNotFound(NotFound):
    """404 for a book deleted since its lookup, in the words get_object_or_404 uses for it."""

    default_detail = "No Book matches the given query."


class PreconditionFailed(APIException):
    """412: If-Match names no current version of the book."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "If-Match does not name the book's current ETag."
    default_code = "precondition_failed"


class ContentTooLarge(APIException):
    """413: the request body is over the size limit."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = (
        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    )
    default_code = "content_too_large"


class ServiceUnavailable(APIException):
    """503: the database does not answer."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; try again later."
    default_code = "service_unavailable"


class InvalidQueryParameters(ValidationError):
    """422 for query parameters: a ValidationError whose errors are located in the query."""
