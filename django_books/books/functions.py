"""ASCII-only case folding in SQL, for search: the contract folds A-Z and nothing else."""

from string import ascii_lowercase, ascii_uppercase
from typing import Any

from django.db.models import CharField, Func

# The same fold in Python, for the search term.
ASCII_LOWERCASE = str.maketrans(ascii_uppercase, ascii_lowercase)


class AsciiLower(Func):
    """A-Z as a-z, every other character unchanged, on SQLite and PostgreSQL alike.

    SQLite's LOWER folds ASCII letters only. PostgreSQL's LOWER (and UPPER, which Django's
    icontains uses there) folds every letter its locale knows, É to é: there, TRANSLATE.
    """

    function = "LOWER"
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function="TRANSLATE",
            template=f"%(function)s(%(expressions)s, '{ascii_uppercase}', '{ascii_lowercase}')",
            **extra_context,
        )
