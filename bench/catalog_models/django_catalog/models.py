from django.db import models


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.CharField(max_length=200)

    class Meta:
        db_table = "books_book"  # django_books's table, made by its migrations
        managed = False

    def __str__(self) -> str:
        return self.title
