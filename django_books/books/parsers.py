"""The JSON request body: its parser, and the checks a write's body goes through before it."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from django_books.books.exceptions import ContentTooLarge


class JSONBodyParser(JSONParser):
    """DRF's JSONParser, with a 400 for JSON nested too deep to parse instead of a 500."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        """The parsed body; ParseError (400) when it is not JSON."""
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:  # DRF turns a ValueError into a 400, but not this
            raise ParseError("JSON parse error - nested too deeply.") from error


def is_json_media_type(content_type: str) -> bool:
    """Whether a Content-Type header names application/json, in any case."""
    media_type, _params = parse_header_parameters(content_type)
    return media_type == "application/json"


def parse_json_body(request: Request) -> Any:
    """Check and parse a write's body in the contract's order: 413, then 415, then 400.

    DRF alone would answer 415 before reading the body, and treat an empty body, or one with no
    Content-Type, as an empty form ({}) instead of an error.
    """
    try:
        body = request.body  # Django refuses more than DATA_UPLOAD_MAX_MEMORY_SIZE bytes
    except RequestDataTooBig as error:
        raise ContentTooLarge from error
    if not is_json_media_type(request.content_type):
        raise UnsupportedMediaType(request.content_type or "(none)")
    if not body:
        raise ParseError("The request body is empty; send a JSON object.")
    return request.data
