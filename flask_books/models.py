"""The books table, declared with SQLAlchemy 2's typed ORM mapping."""

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MAX_TEXT_LENGTH = 200


class Base(DeclarativeBase):
    """The declarative base of the package's tables."""


class Book(Base):
    """A book: its (title, author) pair is unique, and its id is never handed out twice."""

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
