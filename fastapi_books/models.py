"""The Book table and the request and response models, by role."""

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import MISSING, AfterValidator, BeforeValidator, WithJsonSchema
from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

MAX_TEXT_LENGTH = 200

# What str.strip() removes, as regex ranges.
STRIPPED = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Not lone surrogates too, which the validation refuses: regex engines without surrogate code
# points (Rust's, in jsonschema-rs and so schemathesis) reject a pattern that names them.
UNSTORABLE = r"\x00"
# A title or author as sent, for OpenAPI: whitespace around 1 to 200 storable code points that
# neither start nor end with whitespace. maxLength would count the whitespace that is stripped.
TEXT_PATTERN = (
    rf"^[{STRIPPED}]*[^{STRIPPED}{UNSTORABLE}]"
    rf"(?:[^{UNSTORABLE}]{{0,{MAX_TEXT_LENGTH - 2}}}[^{STRIPPED}{UNSTORABLE}])?[{STRIPPED}]*$"
)


def strip_whitespace(value: object) -> object:
    """Strip a string as str.strip() does; pydantic's str_strip_whitespace keeps \\x1c-\\x1f."""
    return value.strip() if isinstance(value, str) else value


def require_storable(text: str) -> str:
    """Refuse text a supported database cannot store: NUL (PostgreSQL) and lone surrogates."""
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    if any("\ud800" <= character <= "\udfff" for character in text):
        raise ValueError("must not contain lone surrogates")
    return text


# A title or author: a JSON string of 1 to 200 code points once stripped.
BookText = Annotated[
    str,
    BeforeValidator(strip_whitespace),
    Field(min_length=1, max_length=MAX_TEXT_LENGTH),
    AfterValidator(require_storable),
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": TEXT_PATTERN}),
]


def require_decimal_digits(value: object) -> object:
    """Refuse what pydantic's lax int also reads from a query: "1_000", " 5", "+5", "1.0"."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("must be a decimal integer")
    return value


# For an integer query parameter, such as limit and offset. Its bounds go before it in Annotated:
# after a BeforeValidator, pydantic's JSON Schema says "ge" and "le", not minimum and maximum.
DECIMAL_DIGITS = BeforeValidator(require_decimal_digits)


class BookBase(SQLModel):
    """The fields a client writes: title and author."""

    title: BookText
    author: BookText


class BookCreate(BookBase):
    """The body of POST and PUT: exactly title and author."""

    # A plain dict: SQLModel types model_config as its own kind of pydantic's ConfigDict.
    model_config = {"extra": "forbid"}


class BookUpdate(SQLModel):
    """The body of PATCH: any subset of title and author; null is not a value."""

    model_config = {"extra": "forbid"}

    # mypy cannot take a sentinel as a type yet (PEP 661); pydantic and pyright do.
    title: BookText | MISSING = MISSING  # type: ignore[valid-type]
    author: BookText | MISSING = MISSING  # type: ignore[valid-type]


class BookPublic(BookBase):
    """A book as the API returns it."""

    id: int = Field(ge=1)


class HealthStatus(SQLModel):
    """The body of a healthy GET /health."""

    status: Literal["ok"]


# The row's version, the book's ETag. As the mapper's version_id_col, SQLAlchemy writes 1 on INSERT
# and adds `AND version = <as read>` to every UPDATE and DELETE of the row, setting version + 1 on
# an UPDATE, which it emits only when title or author has a net change. A write whose row another
# request changed or deleted since it was read matches no row: StaleDataError, not a lost update.
VERSION = Column("version", Integer, nullable=False, server_default=text("1"))


class Book(BookBase, table=True):
    """The book table: 64-bit ids never reused, (title, author) unique, a version per row."""

    # AUTOINCREMENT keeps SQLite from reusing the id of the newest deleted book.
    __table_args__ = (
        UniqueConstraint("title", "author", name="uq_book_title_author"),
        {"sqlite_autoincrement": True},
    )
    __mapper_args__ = {"version_id_col": VERSION}

    # SQLite autoincrements only an INTEGER PRIMARY KEY (a rowid alias), not a BIGINT.
    id: int | None = Field(
        default=None, primary_key=True, sa_type=BigInteger().with_variant(Integer, "sqlite")
    )
    version: int = Field(default=1, sa_column=VERSION)


class BookChange(SQLModel, table=True):
    """One committed write of a book, for live updates: the transactional outbox (changes.py)."""

    # Numbered from the counter below, in commit order without gaps: not the table's own sequence,
    # whose numbers are taken in the order transactions start and lost when one rolls back.
    event: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    type: Literal["created", "updated", "deleted"] = Field(sa_type=String(7))
    # No foreign key: the event of a deletion outlives its book.
    book_id: int = Field(sa_type=BigInteger)
    version: int
    # The book as GET /books/{id} returned it after the write; null for a deletion.
    book: dict[str, Any] | None = Field(sa_type=JSON)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class BookChangeCounter(SQLModel, table=True):
    """One row: the number of the last event, which each write's transaction locks and raises."""

    id: int = Field(primary_key=True)
    last_event: int = Field(sa_type=BigInteger)
