"""The books in Django's admin, at /admin/."""

from django.contrib import admin

from django_books.books.models import Book


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    """List, search, add, edit and delete books, validated by the model's own rules.

    The form's fields strip the text and hold it to the model's 200 characters; the model's unique
    constraint makes a duplicate (title, author) a form error, not an IntegrityError.
    """

    list_display = ("id", "title", "author")
    list_display_links = ("id", "title")
    search_fields = ("title", "author")
