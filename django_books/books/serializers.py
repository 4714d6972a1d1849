"""Serializers: what a book looks like in JSON, and what a client may send."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from django_books.books.models import MAX_TEXT_LENGTH, Book


class StrictCharField(serializers.CharField):
    """A CharField that takes JSON strings only: DRF's own would turn 123 into "123".

    DRF's CharField already strips whitespace, refuses blank text, NUL and lone surrogates.
    """

    def to_internal_value(self, data: Any) -> str:
        """The stripped string; a validation error for any other JSON type."""
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class BookSerializer(serializers.ModelSerializer):
    """A book as {"id", "title", "author"}; writes take exactly title and author."""

    title = StrictCharField(max_length=MAX_TEXT_LENGTH)
    author = StrictCharField(max_length=MAX_TEXT_LENGTH)

    class Meta:
        model = Book
        fields = ("id", "title", "author")
        # No UniqueTogetherValidator: its SELECT-then-INSERT races and answers 400. The database's
        # unique constraint decides instead, and the view turns its IntegrityError into a 409.
        validators = ()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Validate the fields as usual, and report every unknown key too (DRF ignores them)."""
        writable_fields = {name for name, field in self.fields.items() if not field.read_only}
        message = f"Unknown field; send only {' and '.join(sorted(writable_fields))}."
        unknown_fields = {
            key: [message]
            for key in (data if isinstance(data, Mapping) else {})
            if key not in writable_fields
        }
        try:
            validated_data = super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({**error.detail, **unknown_fields}) from error
        if unknown_fields:
            raise serializers.ValidationError(unknown_fields)
        return validated_data
