"""The books in Django's admin, at /admin/."""

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from django_books.books.changes import record_change
from django_books.books.models import Book, BookChange


# ModelAdmin is generic in django-stubs only: subscripting it at run time needs their
# django_stubs_ext.monkeypatch(), a development dependency here.
@admin.register(Book)
class BookAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """List, search, add, edit and delete books, validated by the model's own rules.

    The form's fields strip the text and hold it to the model's 200 characters; the model's unique
    constraint makes a duplicate (title, author) a form error, not an IntegrityError.
    """

    list_display = ("id", "title", "author")
    list_display_links = ("id", "title")
    search_fields = ("title", "author")

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Book | None:
        """The book; a posted change or delete form locks it, as the API's writes do.

        The admin handles those posts in a transaction: a racing API write waits for it, and a
        book deleted in between is one that "doesn't exist", not one that the save brings back.
        """
        book = super().get_object(request, object_id, from_field)
        if book is None or request.method != "POST":
            return book
        return self.get_queryset(request).select_for_update().filter(pk=book.pk).first()

    def save_model(
        self, request: HttpRequest, obj: Book, form: "ModelForm[Book]", change: bool
    ) -> None:
        # A change of the title or author adds 1 to the version, so the book's ETag moves.
        if change and form.has_changed():
            obj.version += 1  # read under the lock (get_object): no write came in between
        super().save_model(request, obj, form, change)
        # The admin saves in a transaction (changeform_view): the event is part of it.
        if not change:
            record_change(BookChange.Type.CREATED, obj)
        elif form.has_changed():
            record_change(BookChange.Type.UPDATED, obj)

    def delete_model(self, request: HttpRequest, obj: Book) -> None:
        # In delete_view's transaction, as is the event; recorded first, while obj has its pk
        # (Model.delete() clears it).
        record_change(BookChange.Type.DELETED, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Book]) -> None:
        """The "Delete selected books" action: one event per book, in one transaction with the
        deletions (the changelist, unlike the change and delete forms, runs in none)."""
        with transaction.atomic():
            for book in queryset.select_for_update():
                record_change(BookChange.Type.DELETED, book)
                book.delete()
