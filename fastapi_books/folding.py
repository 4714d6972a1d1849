"""ASCII-only case folding in SQL, for search: the contract folds A-Z and nothing else."""

from string import ascii_lowercase, ascii_uppercase
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# The same fold in Python, for the search term.
ASCII_LOWERCASE = str.maketrans(ascii_uppercase, ascii_lowercase)


class ascii_lower(FunctionElement[str]):  # lower case, as SQL functions are named
    """A-Z as a-z, every other character unchanged, on SQLite and PostgreSQL alike.

    SQLite's lower() folds ASCII letters only. PostgreSQL's lower() (and ILIKE, which icontains
    uses there) folds every letter its locale knows, É to é: there, translate().
    """

    type = String()
    inherit_cache = True


@compiles(ascii_lower)
def compile_ascii_lower(element: ascii_lower, compiler: Any, **kw: Any) -> str:
    """translate(text, 'A..Z', 'a..z')."""
    text = compiler.process(element.clauses, **kw)
    return f"translate({text}, '{ascii_uppercase}', '{ascii_lowercase}')"


@compiles(ascii_lower, "sqlite")
def compile_ascii_lower_sqlite(element: ascii_lower, compiler: Any, **kw: Any) -> str:
    """SQLite has no translate(), and its lower() is the ASCII fold already."""
    return f"lower({compiler.process(element.clauses, **kw)})"
