"""Django's admin: sign in through its form, edit books, and see the change through the API.

Outside the API contract: the admin is Django's own, for people with a browser. These tests use
it as a browser does, through the real WSGI application (WhiteNoise included) with DEBUG off.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from django_books.wsgi import BooksWSGIHandler
from tests.contract import AUTH, SEED, TOKEN, describe

# Where `make serve-django` listens by default, as a browser there names it.
BROWSER_ORIGIN = "http://127.0.0.1:8001"
# pytest-django's admin_user has this password.
ADMIN_PASSWORD = "password"
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# The admin's main stylesheet, under the content-hashed name collectstatic gives it.
BASE_STYLESHEET = re.compile(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"')
BOOK_CHANGE_FORM = "/admin/books/book/{id}/change/"
BOOK_LIST = "/admin/books/book/"


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The static files, collected once as `make serve-django` collects them, into a directory."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def browser(
    settings: Any, static_root: Path, keep_django_connection: None
) -> Iterator[httpx2.Client]:
    """An httpx2 client at the address of `make serve-django`, keeping cookies as a browser does.

    It calls a new instance of the WSGI application, built once the static files are collected:
    WhiteNoise indexes STATIC_ROOT when the application starts.
    """
    settings.STATIC_ROOT = static_root
    settings.BOOKS_API_TOKEN = TOKEN
    settings.ALLOWED_HOSTS = ["127.0.0.1"]  # the default's, whatever DJANGO_ALLOWED_HOSTS says
    transport = httpx2.WSGITransport(app=BooksWSGIHandler())
    with httpx2.Client(
        transport=transport, base_url=BROWSER_ORIGIN, follow_redirects=False
    ) as client:
        yield client


def submit(client: httpx2.Client, path: str, fields: dict[str, str]) -> httpx2.Response:
    """Load the form at this path, then post it back with its CSRF token, as a browser does."""
    form = client.get(path)
    assert form.status_code == 200, describe(form)
    token = CSRF_TOKEN.search(form.text)
    assert token, f"no CSRF token in the form at {path}"
    data = {"csrfmiddlewaretoken": token[1], **fields}
    return client.post(path, data=data, headers={"Origin": BROWSER_ORIGIN})


@pytest.fixture
def fast_password_hashing(settings: Any) -> None:
    """A fast hasher, as Django's testing docs advise: the default takes a second per password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def signed_in(
    fast_password_hashing: None, browser: httpx2.Client, admin_user: Any
) -> httpx2.Client:
    """The browser, signed in to the admin as pytest-django's superuser."""
    credentials = {"username": admin_user.username, "password": ADMIN_PASSWORD}
    response = submit(browser, "/admin/login/?next=/admin/", credentials)
    assert response.status_code == 302, describe(response)
    assert response.headers["location"] == "/admin/"
    return browser


def edit_book(client: httpx2.Client, book_id: int, title: str, author: str) -> httpx2.Response:
    """Save the admin's change form of this book with these values."""
    fields = {"title": title, "author": author, "_save": "Save"}
    return submit(client, BOOK_CHANGE_FORM.format(id=book_id), fields)


def test_the_admin_lists_the_books(signed_in: httpx2.Client) -> None:
    """The book list shows the seed, each book linking to its change form."""
    page = signed_in.get(BOOK_LIST)
    assert page.status_code == 200, describe(page)
    for book in SEED:
        assert (
            f'<a href="{BOOK_CHANGE_FORM.format(id=book["id"])}">{book["title"]}</a>' in page.text
        )


def test_a_book_edited_in_the_admin_is_changed_in_the_api(signed_in: httpx2.Client) -> None:
    """Saving the change form redirects to the list; the API serves the new, stripped title."""
    response = edit_book(signed_in, 1, "  Dune Messiah ", "Frank Herbert")
    assert response.status_code == 302, describe(response)
    assert response.headers["location"] == BOOK_LIST
    book = signed_in.get("/books/1")
    assert book.json() == {"id": 1, "title": "Dune Messiah", "author": "Frank Herbert"}


@pytest.mark.parametrize(
    ("title", "author", "error"),
    [
        (" Dune ", "Frank Herbert", "Book with this Title and Author already exists."),
        ("x" * 201, "William Gibson", "Ensure this value has at most 200 characters (it has 201)."),
        ("   ", "William Gibson", "This field is required."),
    ],
    ids=["duplicate-after-stripping", "201-characters", "blank-after-stripping"],
)
def test_an_invalid_edit_is_a_form_error_that_changes_nothing(
    signed_in: httpx2.Client, title: str, author: str, error: str
) -> None:
    """The model's rules hold in the admin: the form comes back with the error, the book stays."""
    response = edit_book(signed_in, 2, title, author)
    assert response.status_code == 200, describe(response)
    assert 'class="errornote"' in response.text
    assert error in response.text
    assert signed_in.get("/books").json() == SEED


@pytest.mark.django_db
def test_the_admin_css_is_served_by_whitenoise(browser: httpx2.Client) -> None:
    """With DEBUG off, Django serves no static files; WhiteNoise serves the collected CSS."""
    assert settings.DEBUG is False
    login_page = browser.get("/admin/login/")
    stylesheet = BASE_STYLESHEET.search(login_page.text)
    assert stylesheet, "the login page links no content-hashed base.css"
    css = browser.get(stylesheet[1])
    assert css.status_code == 200, describe(css)
    assert css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]  # a hashed name never changes content
    assert "body" in css.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("send_token", "origin"),
    [(False, BROWSER_ORIGIN), (True, "http://elsewhere.example")],
    ids=["no-token", "foreign-origin"],
)
def test_a_failed_csrf_check_is_a_403_problem(
    browser: httpx2.Client, send_token: bool, origin: str
) -> None:
    """A login post without the form's token, or from another site: 403 problem details."""
    form = browser.get("/admin/login/")
    token = CSRF_TOKEN.search(form.text)
    data = {"username": "admin", "password": ADMIN_PASSWORD}
    if send_token:
        data["csrfmiddlewaretoken"] = token[1]
    response = browser.post("/admin/login/", data=data, headers={"Origin": origin})
    assert response.status_code == 403, describe(response)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Forbidden"


def test_the_admin_session_is_no_api_credential(signed_in: httpx2.Client) -> None:
    """Signed in to the admin, a write still needs the API token; the API sets no cookie."""
    book = {"title": "Snow Crash", "author": "Neal Stephenson"}
    without_token = signed_in.post("/books", json=book)
    assert without_token.status_code == 401, describe(without_token)
    with_token = signed_in.post("/books", json=book, headers=AUTH)
    assert with_token.status_code == 201, describe(with_token)
    for response in (without_token, with_token, signed_in.get("/books")):
        assert "set-cookie" not in response.headers, describe(response)
        assert "cookie" not in response.headers.get("vary", "").lower(), describe(response)
