"""Serializers: what a book looks like in JSON, what a client may send, and a book's record in the
upstream catalog, as the catalog answers and as this API does."""

from collections.abc import Mapping
from typing import Any, cast

from django.db.models import F
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from django_books.books.exceptions import BookNotFound
from django_books.books.models import MAX_TEXT_LENGTH, Book

# What str.strip() removes, and what no supported database stores, as regex ranges.
STRIPPED = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Not lone surrogates too, which the validation refuses: regex engines without surrogate code
# points (Rust's, in jsonschema-rs and so schemathesis) reject a pattern that names them.
UNSTORABLE = r"\x00"
# Text as sent, for OpenAPI: whitespace around 1 to 200 storable code points that neither start
# nor end with whitespace. A maxLength would count the whitespace that is stripped.
TEXT_PATTERN = (
    rf"^[{STRIPPED}]*[^{STRIPPED}{UNSTORABLE}]"
    rf"(?:[^{UNSTORABLE}]{{0,{MAX_TEXT_LENGTH - 2}}}[^{STRIPPED}{UNSTORABLE}])?[{STRIPPED}]*$"
)


@extend_schema_field({"type": "string", "minLength": 1, "pattern": TEXT_PATTERN})
class StrictCharField(serializers.CharField):
    """A CharField for JSON strings only (DRF's own turns 123 into "123"), up to 200 characters.

    DRF's CharField already strips whitespace, refuses blank text, NUL and lone surrogates. The
    length is checked here, on the stripped text, rather than with max_length: drf-spectacular
    would document its validator as a maxLength of the text as sent.
    """

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        text = super().to_internal_value(data)
        if len(text) > MAX_TEXT_LENGTH:
            self.fail("max_length", max_length=MAX_TEXT_LENGTH)
        return text


class BookSerializer(serializers.ModelSerializer[Book]):
    """A book as {"id", "title", "author"}; writes take exactly title and author."""

    id = serializers.IntegerField(read_only=True, min_value=1)
    title = StrictCharField()
    author = StrictCharField()

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
            validated_data: dict[str, Any] = super().to_internal_value(data)
        except serializers.ValidationError as error:
            errors = cast(dict[str, Any], error.detail)  # a serializer's errors are by field
            raise serializers.ValidationError({**errors, **unknown_fields}) from error
        if unknown_fields:
            raise serializers.ValidationError(unknown_fields)
        return validated_data

    def update(self, instance: Book, validated_data: dict[str, Any]) -> Book:
        """Write the fields whose value changes, and bump the version; no change, no write.

        Not ModelSerializer.update(), whose Model.save() writes every field it read (a PATCH of
        the title would put back an author that a racing PATCH had just changed) and INSERTs when
        its UPDATE matches no row (a book deleted since the lookup would come back, under its id).
        """
        changes = {
            field: value
            for field, value in validated_data.items()
            if getattr(instance, field) != value
        }
        if not changes:
            return instance  # PATCH {}, or the values the book has: the same version and ETag
        # An UPDATE of just these columns, which never INSERTs, its row count telling whether the
        # book is still there; F() adds 1 to the version as stored, not as it was read.
        updated = Book.objects.filter(pk=instance.pk).update(**changes, version=F("version") + 1)
        if not updated:
            raise BookNotFound  # deleted since the lookup
        instance.refresh_from_db()
        return instance


class JSONStringField(serializers.CharField):
    """A JSON string, kept as sent: not 123 (DRF's CharField would make it "123"), not stripped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, allow_blank=True, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data


class JSONIntegerField(serializers.IntegerField):
    """A JSON integer as json.loads returns one: not true (a bool is an int), 1965.0 or "1965",
    all of which DRF's IntegerField takes."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(data)


class CatalogSearchSerializer(serializers.Serializer[dict[str, Any]]):
    """The catalog's answer to a search: only its docs count, and only the first of them."""

    docs = serializers.ListField()


class CatalogDocSerializer(serializers.Serializer[dict[str, Any]]):
    """A record in the catalog's answer: the fields the search asks for, checked."""

    key = JSONStringField()
    first_publish_year = JSONIntegerField(allow_null=True, default=None)
    isbn = serializers.ListField(child=JSONStringField(), default=list)


class CatalogRecordSerializer(serializers.Serializer[dict[str, Any]]):
    """A book's record in the catalog, as GET /books/{id}/catalog answers with it."""

    key = JSONStringField(help_text="The catalog's key of the work, such as /works/OL893415W.")
    first_publish_year = JSONIntegerField(
        allow_null=True,
        help_text="The year the work was first published; null when the catalog does not say.",
    )
    isbns = serializers.ListField(
        child=JSONStringField(),
        max_length=5,
        help_text="Up to 5 of the work's ISBNs, in the catalog's order.",
    )


# The bodies below are for the OpenAPI document: problems.py builds them.


class ProblemSerializer(serializers.Serializer[dict[str, Any]]):
    """An RFC 9457 problem, the body of every 4xx and 5xx response."""

    type = serializers.ChoiceField(choices=["about:blank"])
    title = serializers.CharField(min_length=1)
    status = serializers.IntegerField(min_value=400, max_value=599)
    detail = serializers.CharField(min_length=1)


class InvalidFieldSerializer(serializers.Serializer[dict[str, Any]]):
    """One invalid field or query parameter of a 422."""

    location = serializers.ChoiceField(choices=["body", "query"])
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField(min_length=1)


class ValidationProblemSerializer(ProblemSerializer):
    """A 422 problem: one entry per invalid field."""

    # The metaclass takes declared fields off the class: this does not hide Serializer.errors.
    errors = serializers.ListField(  # type: ignore[assignment]
        child=InvalidFieldSerializer(), min_length=1
    )


class HealthSerializer(serializers.Serializer[dict[str, str]]):
    """The body of a healthy GET /health."""

    status = serializers.ChoiceField(choices=["ok"])
