"""The Book model."""

from django.db import models

MAX_TEXT_LENGTH = 200


class Book(models.Model):
    """A book in the catalog; no two books share both title and author."""

    title = models.CharField(max_length=MAX_TEXT_LENGTH)
    author = models.CharField(max_length=MAX_TEXT_LENGTH)

    class Meta:
        ordering = ("id",)
        constraints = (
            models.UniqueConstraint(fields=("title", "author"), name="unique_book_title_author"),
        )

    def __str__(self) -> str:
        """The book as people cite it."""
        return f"{self.title} by {self.author}"
