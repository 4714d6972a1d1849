"""The Book model."""

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
