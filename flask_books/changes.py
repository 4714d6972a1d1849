"""The transactional outbox: each committed write of a book as an event, numbered in commit order,
for the live updates."""

from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from flask_books.models import Book, BookChange, BookChangeCounter
from flask_books.schemas import BookSchema

# Events are kept while they are among the last KEPT_EVENTS or younger than KEPT_FOR.
KEPT_EVENTS = 10_000
KEPT_FOR = timedelta(hours=24)
# The write whose event number is a multiple of this removes the events no longer kept.
PRUNE_EVERY = 1_000
# Built once: a statement is plain data, and SQLAlchemy caches its compiled form.
RAISE_COUNTER = (
    update(BookChangeCounter)
    .values(last_event=BookChangeCounter.last_event + 1)
    .returning(BookChangeCounter.last_event)
)
BOOK_SCHEMA = BookSchema()


def record_change(
    session: Session, change: Literal["created", "updated", "deleted"], book: Book
) -> None:
    """Add the write's event to its transaction; the last statements before the commit.

    The counter's UPDATE holds its row until the commit (SQLite: the transaction holds the
    database's one write lock already), so a concurrent write waits here for this one to end:
    events are numbered in commit order, and one that rolls back takes its number with it.
    """
    # Core statements on the session's connection (its transaction): the ORM's own UPDATE and
    # INSERT would look for rows to synchronize in the session, at some six times the cost.
    connection = session.connection()
    event = connection.execute(RAISE_COUNTER).scalar_one()
    now = datetime.now(UTC)
    connection.execute(
        insert(BookChange),
        [
            {
                "event": event,
                "type": change,
                "book_id": book.id,
                "version": book.version,
                "book": None if change == "deleted" else BOOK_SCHEMA.dump(book),
                "created_at": now,
            }
        ],
    )
    if event % PRUNE_EVERY == 0:
        connection.execute(
            delete(BookChange).where(
                BookChange.event <= event - KEPT_EVENTS, BookChange.created_at < now - KEPT_FOR
            )
        )
