"""marshmallow schemas: a book as read and written, the list's query, problem details, and a
book's record in the upstream catalog, as the catalog answers and as this API does."""

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate
from marshmallow.types import ErrorMessages

from flask_books.models import MAX_TEXT_LENGTH

# What str.strip() removes, and what no supported database stores, as regex ranges.
STRIPPED = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Not lone surrogates too, which the validation refuses: regex engines without surrogate code
# points (Rust's, in jsonschema-rs and so schemathesis) reject a pattern that names them.
UNSTORABLE = r"\x00"
# Text as sent, for OpenAPI: whitespace around 1 to 200 storable code points that neither start
# nor end with whitespace. A maxLength would count the whitespace that is stripped.
TEXT_PATTERN = (
    rf"^[{STRIPPED}]*[^{STRIPPED}{UNSTORABLE}]"
    rf"(?:[^{UNSTORABLE}]{{0,{MAX_TEXT_LENGTH - 2}}}[^{STRIPPED}{UNSTORABLE}])?[{STRIPPED}]*$"
)


class Text(fields.String):
    """A JSON string, stripped, of 1 to 200 characters that every supported database can store."""

    # Annotated as marshmallow's Field annotates it, not as a ClassVar, so that mypy takes it.
    default_error_messages: ErrorMessages = {  # noqa: RUF012
        "length": f"Must be 1 to {MAX_TEXT_LENGTH} characters, not counting surrounding spaces.",
        "unstorable": "Must not contain NUL or unpaired surrogates.",
    }

    def __init__(self, **kwargs: Any) -> None:
        # The OpenAPI schema states the rule of the text as sent.
        super().__init__(metadata={"minLength": 1, "pattern": TEXT_PATTERN}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        """Reject non-strings (String's own check), strip, then check the length and storability."""
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not 1 <= len(text) <= MAX_TEXT_LENGTH:
            raise self.make_error("length")
        if "\x00" in text or not _is_utf8_encodable(text):
            raise self.make_error("unstorable")
        return text


def _is_utf8_encodable(text: str) -> bool:
    """Tell whether text has no lone surrogate, the one thing UTF-8 cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BookInSchema(Schema):
    title = Text(required=True)
    author = Text(required=True)


class BookPatchSchema(BookInSchema):
    """The body of PATCH (loaded with partial=True): its own class, for its own OpenAPI name.

    apispec names components after the schema class, and warns when BookInSchema(partial=True)
    would share BookInSchema's name.
    """


class BookSchema(BookInSchema):
    id = fields.Integer(dump_only=True, required=True, validate=validate.Range(min=1))


class QueryInteger(fields.Integer):
    """An integer query parameter in plain ASCII digits (int() would also take " 5", "1_0")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not re.fullmatch(r"-?[0-9]+", value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


# The largest OFFSET the databases take, as for ids: a signed 64-bit integer.
MAX_OFFSET = 2**63 - 1


class BookListQuerySchema(Schema):
    limit = QueryInteger(load_default=100, validate=validate.Range(min=1, max=100))
    offset = QueryInteger(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    search = fields.String()


class ProblemSchema(Schema):
    """An RFC 9457 problem, the body of every 4xx and 5xx response (for the OpenAPI document)."""

    type = fields.String(required=True, validate=validate.OneOf(["about:blank"]))
    title = fields.String(required=True, validate=validate.Length(min=1))
    status = fields.Integer(required=True, validate=validate.Range(min=400, max=599))
    detail = fields.String(required=True, validate=validate.Length(min=1))


class InvalidFieldSchema(Schema):
    location = fields.String(required=True, validate=validate.OneOf(["body", "query"]))
    field = fields.String(required=True, allow_none=True)
    message = fields.String(required=True, validate=validate.Length(min=1))


class ValidationProblemSchema(ProblemSchema):
    errors = fields.List(
        fields.Nested(InvalidFieldSchema), required=True, validate=validate.Length(min=1)
    )


class CatalogRecordSchema(Schema):
    key = fields.String(required=True)
    first_publish_year = fields.Integer(required=True, allow_none=True)
    isbns = fields.List(fields.String(), required=True, validate=validate.Length(max=5))


class JSONInteger(fields.Integer):
    """A JSON integer as json.loads returns one: not true (a bool is an int), 1965.0 or "1965"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return int(value)


class CatalogSearchSchema(Schema):
    """The catalog's answer to a search: only its docs count, and only the first of them."""

    class Meta:
        unknown = EXCLUDE

    docs = fields.List(fields.Raw(), required=True)


class CatalogDocSchema(Schema):
    """A record in the catalog's answer: the fields the search asks for."""

    class Meta:
        unknown = EXCLUDE

    key = fields.String(required=True)
    first_publish_year = JSONInteger(load_default=None, allow_none=True)
    isbn = fields.List(fields.String(), load_default=list)


class HealthSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["ok"]))
