"""The path converter for book ids."""

from django.db.models import BigAutoField


class BookIdConverter:
    """A canonical positive decimal id that fits in a signed 64-bit integer; else no route."""

    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        # A ValueError tells Django the path does not match (so 404).
        book_id = int(value)
        if book_id > BigAutoField.MAX_BIGINT:
            raise ValueError(f"{value} does not fit in a signed 64-bit integer")
        return book_id

    def to_url(self, value: int) -> str:
        return str(value)
