"""The transactional outbox: each committed write of a book as an event, numbered in commit order,
for the live updates."""

from datetime import timedelta

from django.db import connection
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from django_books.books.models import Book, BookChange, BookChangeCounter
from django_books.books.serializers import BookSerializer

# Events are kept while they are among the last KEPT_EVENTS or younger than KEPT_FOR.
KEPT_EVENTS = 10_000
KEPT_FOR = timedelta(hours=24)
# The write whose event number is a multiple of this removes the events no longer kept.
PRUNE_EVERY = 1_000
RAISE_COUNTER = (
    f"UPDATE {BookChangeCounter._meta.db_table} "
    "SET last_event = last_event + 1 RETURNING last_event"
)


def record_change(change: BookChange.Type, book: Book) -> None:
    """Add the write's event to its transaction (atomic); the last statements before the commit.

    The counter's UPDATE holds its row until the commit (SQLite: the transaction holds the
    database's one write lock already), so a concurrent write waits here for this one to end:
    events are numbered in commit order, and one that rolls back takes its number with it.
    """
    if not connection.in_atomic_block:  # alone, the UPDATE would commit by itself (autocommit)
        raise TransactionManagementError("An event is recorded in its write's transaction.")
    # One statement where the ORM needs two (an UPDATE, then a SELECT of what it wrote): Django's
    # update() returns the number of rows, not their values.
    with connection.cursor() as cursor:
        cursor.execute(RAISE_COUNTER)
        (event,) = cursor.fetchone()
    now = timezone.now()
    BookChange.objects.create(
        event=event,
        type=change,
        book_id=book.pk,
        version=book.version,
        book=None if change == BookChange.Type.DELETED else BookSerializer(book).data,
        created_at=now,
    )
    if event % PRUNE_EVERY == 0:
        BookChange.objects.filter(
            event__lte=event - KEPT_EVENTS, created_at__lt=now - KEPT_FOR
        ).delete()
