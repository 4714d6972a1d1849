"""The books table and the outbox of its changes, declared with SQLAlchemy 2's typed ORM mapping."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MAX_TEXT_LENGTH = 200


class Base(DeclarativeBase):
    pass


class Book(Base):
    __tablename__ = "books"
    __table_args__ = (
        UniqueConstraint("title", "author", name="uq_books_title_author"),
        # Without AUTOINCREMENT, SQLite reuses the id of a deleted last row.
        {"sqlite_autoincrement": True},
    )

    # 64-bit everywhere; on SQLite only an INTEGER primary key is the autoincrementing rowid.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    title: Mapped[str] = mapped_column(String(MAX_TEXT_LENGTH))
    author: Mapped[str] = mapped_column(String(MAX_TEXT_LENGTH))
    # The ETag's number, never in a body. As the version_id_col, the ORM writes 1 on INSERT, adds
    # 1 whenever a flush UPDATEs the row (a write that changes no value emits no UPDATE), and adds
    # "AND version = <the version read>" to that UPDATE and to the DELETE: a row another request
    # changed or deleted since this one read it matches nothing, and the flush raises
    # StaleDataError instead of overwriting or deleting what it never saw.
    version: Mapped[int] = mapped_column(server_default=text("1"))

    __mapper_args__: Mapping[str, Any] = {"version_id_col": version}


class BookChange(Base):
    """One committed write of a book, for live updates: the transactional outbox (changes.py)."""

    __tablename__ = "book_changes"

    # Numbered from the counter below, in commit order without gaps: not the table's own sequence,
    # whose numbers are taken in the order transactions start and lost when one rolls back.
    event: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(7))
    # No foreign key: the event of a deletion outlives its book.
    book_id: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int]
    # The book as GET /books/{id} returned it after the write; null for a deletion.
    book: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BookChangeCounter(Base):
    """One row: the number of the last event, which each write's transaction locks and raises."""

    __tablename__ = "book_change_counter"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_event: Mapped[int] = mapped_column(BigInteger)
