"""The books table, declared with SQLAlchemy 2's typed ORM mapping."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint, text
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
