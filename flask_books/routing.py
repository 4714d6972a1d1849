"""Routing and responses stricter than Flask's: no empty path segments, canonical 64-bit ids,
204 for OPTIONS, and no Content-Type on a 204.
"""

from flask import Flask, Response, abort, request
from werkzeug.routing import BaseConverter

MAX_BOOK_ID = 2**63 - 1


def decimal_regex_up_to(limit: int) -> str:
    """Return a regex matching exactly the canonical decimals from 1 to limit."""
    digits = str(limit)
    alternatives = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if limit >= 10 else []  # fewer digits
    for position, digit in enumerate(digits):  # as many digits: smaller at the first difference
        lowest = 1 if position == 0 else 0
        if int(digit) > lowest:
            rest = len(digits) - position - 1
            alternatives.append(f"{digits[:position]}[{lowest}-{int(digit) - 1}][0-9]{{{rest}}}")
    alternatives.append(digits)
    return f"(?:{'|'.join(alternatives)})"


class BookIdConverter(BaseConverter):
    """Match a canonical positive id up to 2**63 - 1; "01", "+1" or a larger id is no route."""

    # Werkzeug picks a rule by method before it calls to_python, so a range check there would
    # make PUT /books/99999999999999999999 a 405; in the regex, every method gets a 404.
    regex = decimal_regex_up_to(MAX_BOOK_ID)

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class BooksFlask(Flask):
    """Flask, answering the automatic OPTIONS with 204 No Content (Flask's default is 200)."""

    def make_default_options_response(self) -> Response:
        response = super().make_default_options_response()
        response.status_code = 204
        return response


def reject_empty_path_segments() -> None:
    # Werkzeug matches //books as /books (it strips leading slashes, as request.path does) and
    # redirects /books//1 to /books/1, so check the PATH_INFO the server passed. An app-level
    # before_request runs before the blueprints' hooks (401, 413, 415), and before Flask raises
    # a routing error (405, redirect) or answers OPTIONS: this 404 wins.
    if "//" in request.environ.get("PATH_INFO", ""):
        abort(404)


def drop_content_type_of_empty_responses(response: Response) -> Response:
    """Send 204 responses without Content-Type: Werkzeug keeps one on a response with no body."""
    if response.status_code == 204:
        del response.headers["Content-Type"]
    return response
