"""What drf-spectacular cannot learn from the views: the token's scope, problems, headers."""

from typing import Any

from django.db.models import BigAutoField
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.permissions import SAFE_METHODS

from django_books.books.problems import PROBLEM_CONTENT_TYPE, PROBLEM_DESCRIPTIONS
from django_books.books.serializers import ProblemSerializer, ValidationProblemSerializer


# drf-spectacular's extension classes register themselves in an untyped __init_subclass__.
class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """BearerTokenAuthentication as an HTTP bearer scheme, required by writes only."""

    target_class = "django_books.books.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}

    def get_security_requirement(
        self, auto_schema: AutoSchema
    ) -> dict[str, list[Any]] | list[dict[str, list[Any]]]:
        """Reads need no token (WritesNeedToken), so only writes name the scheme."""
        if auto_schema.method in SAFE_METHODS:
            return []
        return super().get_security_requirement(auto_schema)


class BookSerializerSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """BookSerializer as drf-spectacular maps it, plus: a request body refuses unknown keys."""

    target_class = "django_books.books.serializers.BookSerializer"

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        # drf-spectacular's AutoSchema is untyped.
        schema: dict[str, Any] = auto_schema._map_serializer(  # type: ignore[no-untyped-call]
            self.target, direction, bypass_extensions=True
        )
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


# The id in /books/{id}: the path converter routes only these (a plain regex to drf-spectacular).
BOOK_ID = OpenApiParameter(
    "id",
    {"type": "integer", "format": "int64", "minimum": 1, "maximum": BigAutoField.MAX_BIGINT},
    OpenApiParameter.PATH,
)
PAGE_HEADERS = [
    OpenApiParameter("X-Total-Count", int, OpenApiParameter.HEADER, required=True, response=[200]),
    OpenApiParameter("Link", str, OpenApiParameter.HEADER, response=[200]),
]
LOCATION_HEADER = OpenApiParameter(
    "Location", str, OpenApiParameter.HEADER, required=True, response=[201]
)
UPGRADE_HEADER = OpenApiParameter(
    "Upgrade", str, OpenApiParameter.HEADER, required=True, response=[426]
)
WWW_AUTHENTICATE_HEADER = OpenApiParameter(
    "WWW-Authenticate", str, OpenApiParameter.HEADER, required=True, response=[401]
)
# Conditional requests (conditional.py): the book's version as its ETag, and the headers naming it.
ETAG_HEADER = OpenApiParameter(
    "ETag", str, OpenApiParameter.HEADER, required=True, response=[200, 201, 304]
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="304 when it names the book's current ETag (weak comparison), or is *.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="412 unless it names the book's current ETag (strong comparison), or is *.",
)
NOT_MODIFIED = {304: OpenApiResponse(description="If-None-Match names the current ETag.")}


def problem_responses(*statuses: int) -> dict[tuple[int, str], OpenApiResponse]:
    """The problem responses (application/problem+json) an operation can answer with."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ValidationProblemSerializer if status == 422 else ProblemSerializer,
            description=PROBLEM_DESCRIPTIONS[status],
        )
        for status in statuses
    }


def require_request_bodies(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Mark every request body required: an empty body is not JSON (400), PATCH's included.

    drf-spectacular marks a body required only when its schema has required fields, which
    PATCH's has not.
    """
    for path_item in result["paths"].values():
        for operation in path_item.values():
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return result
