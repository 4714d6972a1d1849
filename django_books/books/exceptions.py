"""API exceptions: DRF's own in the contract's words, and the statuses DRF has no class for."""

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import (
    APIException,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    ParseError,
    UnsupportedMediaType,
    ValidationError,
)


class InvalidJSON(ParseError):
    default_detail = "The body is not valid JSON."


class TokenRequired(NotAuthenticated):
    default_detail = "A valid bearer token is required to change books."


class BookNotFound(NotFound):
    default_detail = "There is no book with this id."


class MethodNotSupported(MethodNotAllowed):
    default_detail = "This path does not support this method."


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Another book already has this title and author."
    default_code = "conflict"


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "If-Match does not name the book's current ETag."
    default_code = "precondition_failed"


class ContentTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KiB."
    default_code = "content_too_large"


class NotJSONContentType(UnsupportedMediaType):
    default_detail = "The body must be JSON, sent as Content-Type: application/json."


class InvalidQueryParameters(ValidationError):
    """A ValidationError located in the query string rather than the body."""


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; try again later."
    default_code = "service_unavailable"


class CatalogHasNoRecord(NotFound):
    default_detail = "The catalog has no record of this book."


class CatalogFault(APIException):
    """The catalog failed: the client gets the contract's sentence, the log the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class CatalogUnreadable(CatalogFault):
    """The catalog could not be reached, or its answer could not be read."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The catalog could not be read."
    default_code = "bad_gateway"


class CatalogTimedOut(CatalogFault):
    """The catalog had not answered in full CATALOG_TIMEOUT seconds after the request."""

    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_detail = "The catalog did not answer in time."
    default_code = "gateway_timeout"
