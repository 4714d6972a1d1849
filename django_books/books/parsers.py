"""The JSON request body: its parser, and the checks a write's body goes through before it."""

from collections.abc import Mapping
from typing import IO, Any

from django.core.exceptions import RequestDataTooBig
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from django_books.books.exceptions import ContentTooLarge, InvalidJSON, NotJSONContentType


class JSONBodyParser(JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        # DRF's ParseError names what json.loads said; RecursionError (JSON nested too deep) it
        # lets through, as a 500.
        except (ParseError, RecursionError) as error:
            raise InvalidJSON from error


def is_json_media_type(content_type: str) -> bool:
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
        raise NotJSONContentType(request.content_type)
    if not body:
        raise InvalidJSON
    return request.data
