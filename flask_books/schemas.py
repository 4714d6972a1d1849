"""marshmallow schemas: a book as read and written, and the list's query parameters."""

import re
from typing import Any, ClassVar

from marshmallow import Schema, fields, validate

from flask_books.models import MAX_TEXT_LENGTH


class Text(fields.String):
    """A JSON string, stripped, holding only text every supported database can store."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "unstorable": "Must not contain NUL or unpaired surrogates."
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        """Reject non-strings (String's own check), strip, then reject NUL and lone surrogates."""
        text = super()._deserialize(value, attr, data, **kwargs).strip()
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


class BookSchema(Schema):
    """A book: id is read-only; title and author are required text of 1 to 200 characters."""

    id = fields.Integer(dump_only=True)
    title = Text(required=True, validate=validate.Length(min=1, max=MAX_TEXT_LENGTH))
    author = Text(required=True, validate=validate.Length(min=1, max=MAX_TEXT_LENGTH))


class BookPatchSchema(BookSchema):
    """The body of PATCH (loaded with partial=True): its own class, for its own OpenAPI name.

    apispec names components after the schema class, and warns when BookSchema(partial=True)
    would share BookSchema's name.
    """


class QueryInteger(fields.Integer):
    """An integer query parameter in plain ASCII digits (int() would also take " 5", "1_0")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        """Reject anything but an optional minus sign and ASCII digits, then convert."""
        if not re.fullmatch(r"-?[0-9]+", value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


# The largest OFFSET the databases take, as for ids: a signed 64-bit integer.
MAX_OFFSET = 2**63 - 1


class BookListQuerySchema(Schema):
    """GET /books query parameters: a page (limit, offset) and an optional search term."""

    limit = QueryInteger(load_default=100, validate=validate.Range(min=1, max=100))
    offset = QueryInteger(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    search = fields.String(load_default=None)
