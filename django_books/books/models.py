"""The Book model, and the outbox of its changes."""

from django.db import models

MAX_TEXT_LENGTH = 200


class Book(models.Model):
    """A book in the catalog; no two books share both title and author."""

    title = models.CharField(max_length=MAX_TEXT_LENGTH)
    author = models.CharField(max_length=MAX_TEXT_LENGTH)
    # Grows by 1 with every write that changes the title or the author; the ETag is made of it.
    # Django has no version counter of its own (SQLAlchemy's version_id_col): the writes in
    # views.py bump it. The database default fills in the rows that were there before the column.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)

    class Meta:
        ordering = ("id",)
        constraints = (
            models.UniqueConstraint(fields=("title", "author"), name="uq_books_book_title_author"),
        )

    def __str__(self) -> str:
        return f"{self.title} by {self.author}"


class BookChange(models.Model):
    """One committed write of a book, for live updates: the transactional outbox (changes.py)."""

    class Type(models.TextChoices):
        CREATED = "created"
        UPDATED = "updated"
        DELETED = "deleted"

    # Numbered from the counter below, in commit order without gaps: not an AutoField, whose
    # numbers are taken in the order transactions start and lost when one rolls back.
    event = models.BigIntegerField(primary_key=True)
    type = models.CharField(max_length=7, choices=Type)
    # Not a ForeignKey: the event of a deletion outlives its book.
    book_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    # The book as GET /books/{id} returned it after the write; null for a deletion.
    book = models.JSONField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("event",)

    def __str__(self) -> str:
        return f"Event {self.event}: book {self.book_id} {self.type}"


class BookChangeCounter(models.Model):
    """One row: the number of the last event, which each write's transaction locks and raises."""

    last_event = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Last event: {self.last_event}"
