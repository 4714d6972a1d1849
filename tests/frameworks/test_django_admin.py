"""Django's admin: sign in through its form, edit books, and see the change through the API.

Outside the API contract: the admin is Django's own, for people with a browser. These tests use
it as a browser does, through the real WSGI application (WhiteNoise included) with DEBUG off,
and with --server=live through `make serve-django` under gunicorn.
"""

import os
import re
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
import pytest
from django.conf import settings

from django_books.wsgi import BooksWSGIHandler
from tests.contract import AUTH, SEED, TOKEN, describe
from tests.databases import DjangoChanges
from tests.live.plugin import watch_log
from tests.live.servers import REPO_ROOT, LiveServer, wait_for

# Where `make serve-django` listens by default, as a browser there names it.
BROWSER_ORIGIN = "http://127.0.0.1:8001"
# pytest-django's admin_user has this password.
ADMIN_PASSWORD = "password"
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# The admin's main stylesheet, under the content-hashed name collectstatic gives it.
BASE_STYLESHEET = re.compile(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"')
BOOK_CHANGE_FORM = "/admin/books/book/{id}/change/"
BOOK_LIST = "/admin/books/book/"
SNOW_CRASH = {"title": "Snow Crash", "author": "Neal Stephenson"}


@pytest.fixture
def browser(
    settings: Any, django_application: BooksWSGIHandler, keep_django_connection: None
) -> Iterator[httpx2.Client]:
    """An httpx2 client at the address of `make serve-django`, keeping cookies as a browser does.

    It calls the suite's WSGI application, whose static files are collected.
    """
    settings.BOOKS_API_TOKEN = TOKEN
    settings.ALLOWED_HOSTS = ["127.0.0.1"]  # the default's, whatever DJANGO_ALLOWED_HOSTS says
    transport = httpx2.WSGITransport(app=django_application)
    with httpx2.Client(
        transport=transport, base_url=BROWSER_ORIGIN, follow_redirects=False
    ) as client:
        yield client


def submit(
    client: httpx2.Client,
    path: str,
    fields: Mapping[str, str | list[str]],
    *,
    multipart: bool = False,
) -> httpx2.Response:
    """Load the form at this path, then post it back with its CSRF token, as a browser does.

    multipart: as multipart/form-data (a browser's encoding for a form with a file field).
    """
    form = client.get(path)
    assert form.status_code == 200, describe(form)
    token = CSRF_TOKEN.search(form.text)
    assert token, f"no CSRF token in the form at {path}"
    data = {"csrfmiddlewaretoken": token[1], **fields}
    origin = f"{client.base_url.scheme}://{client.base_url.netloc.decode()}"
    files = {"unused": ("empty.txt", b"")} if multipart else None
    return client.post(path, data=data, files=files, headers={"Origin": origin})


def sign_in(client: httpx2.Client, username: str, password: str) -> None:
    """Sign in through the admin's login form; the client keeps the session cookie."""
    credentials = {"username": username, "password": password}
    response = submit(client, "/admin/login/?next=/admin/", credentials)
    assert response.status_code == 302, describe(response)
    assert response.headers["location"] == "/admin/"


def fetch_stylesheet(client: httpx2.Client, page: httpx2.Response) -> httpx2.Response:
    """The admin's base.css, at the address an admin page links."""
    stylesheet = BASE_STYLESHEET.search(page.text)
    assert stylesheet, f"the page links no content-hashed base.css: {describe(page)}"
    return client.get(stylesheet[1])


def assert_is_css(response: httpx2.Response) -> None:
    """Assert the admin's stylesheet, served as WhiteNoise serves a content-hashed file."""
    assert response.status_code == 200, describe(response)
    assert response.headers["content-type"].startswith("text/css")
    assert "immutable" in response.headers["cache-control"]  # a hashed name never changes content
    assert "body" in response.text


@pytest.fixture
def fast_password_hashing(settings: Any) -> None:
    """A fast hasher, as Django's testing docs advise: the default takes a second per password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def signed_in(
    fast_password_hashing: None, browser: httpx2.Client, admin_user: Any
) -> httpx2.Client:
    """The browser, signed in to the admin as pytest-django's superuser."""
    sign_in(browser, admin_user.username, ADMIN_PASSWORD)
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
    assert book.headers["etag"] == '"2"'


def test_a_multipart_form_keeps_its_boundary(signed_in: httpx2.Client) -> None:
    """The admin reads a form sent as multipart/form-data: its Content-Type keeps the boundary."""
    fields = {"title": "Dune Messiah", "author": "Frank Herbert", "_save": "Save"}
    response = submit(signed_in, BOOK_CHANGE_FORM.format(id=1), fields, multipart=True)
    assert response.status_code == 302, describe(response)
    assert signed_in.get("/books/1").json()["title"] == "Dune Messiah"


@pytest.mark.parametrize("media_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_content_type_django_cannot_parse_is_no_error_in_the_admin(
    browser: httpx2.Client, media_type: str
) -> None:
    """An RFC 2231 parameter in an unknown charset makes Django raise while it builds the request,
    before any view: only the media type and a boundary reach it, so the admin answers as usual."""
    content_type = f"{media_type}; boundary=x; name*=xx''a"
    response = browser.post("/admin/login/", content=b"", headers={"Content-Type": content_type})
    assert response.status_code == 403, describe(response)  # no CSRF token: Django's 403


def test_saving_a_book_unchanged_in_the_admin_keeps_its_etag(signed_in: httpx2.Client) -> None:
    """The change form saved with the values the book has (after stripping) is no new version."""
    response = edit_book(signed_in, 1, " Dune ", "Frank Herbert")
    assert response.status_code == 302, describe(response)
    assert signed_in.get("/books/1").headers["etag"] == '"1"'


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


def test_each_change_in_the_admin_is_one_event_as_through_the_api(
    signed_in: httpx2.Client,
) -> None:
    """Add, change (then save unchanged), delete, and "Delete selected books": one event per book
    written, in order, as the API records its own writes."""
    added = submit(signed_in, "/admin/books/book/add/", {**SNOW_CRASH, "_save": "Save"})
    assert added.status_code == 302, describe(added)
    for _ in range(2):  # the second save changes nothing
        assert edit_book(signed_in, 3, "Snow Crash II", SNOW_CRASH["author"]).status_code == 302
    deleted = submit(signed_in, "/admin/books/book/3/delete/", {"post": "yes"})
    assert deleted.status_code == 302, describe(deleted)
    selected: dict[str, str | list[str]] = {
        "action": "delete_selected",
        "_selected_action": ["1", "2"],
        "post": "yes",
    }
    assert submit(signed_in, BOOK_LIST, selected).status_code == 302
    snow_crash_ii = {"id": 3, **SNOW_CRASH, "title": "Snow Crash II"}
    assert DjangoChanges().changes() == [
        {
            "event": 1,
            "type": "created",
            "book_id": 3,
            "version": 1,
            "book": {"id": 3, **SNOW_CRASH},
        },
        {"event": 2, "type": "updated", "book_id": 3, "version": 2, "book": snow_crash_ii},
        {"event": 3, "type": "deleted", "book_id": 3, "version": 2, "book": None},
        {"event": 4, "type": "deleted", "book_id": 1, "version": 1, "book": None},
        {"event": 5, "type": "deleted", "book_id": 2, "version": 1, "book": None},
    ]


def test_an_unknown_admin_path_is_a_404_problem(signed_in: httpx2.Client) -> None:
    """Signed in, a path the admin does not know: the API's 404 problem, not an HTML page."""
    response = signed_in.get("/admin/books/review/")
    assert response.status_code == 404, describe(response)
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.django_db
def test_the_admin_css_is_served_by_whitenoise(browser: httpx2.Client) -> None:
    """With DEBUG off, Django serves no static files; WhiteNoise serves the collected CSS."""
    assert settings.DEBUG is False
    assert_is_css(fetch_stylesheet(browser, browser.get("/admin/login/")))


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
    assert token, f"no CSRF token in the login form: {describe(form)}"
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


# Live: `make createsuperuser`, then `make serve-django` under gunicorn with two workers.

LIVE_SUPERUSER = {"username": "curator", "password": "a long live-test passphrase"}
# gunicorn logs each request with the pid of the worker that served it.
ACCESS_LOG = "--access-logfile - --access-logformat '%(p)s %(r)s %(s)s'"
BOOK_LIST_SERVED = re.compile(rf"^<(\d+)> GET {BOOK_LIST} HTTP/1.1 200$", re.MULTILINE)


def locks_held() -> set[str]:
    """The pids that hold or wait for a file lock (`/proc/locks`)."""
    return {line.split()[-4] for line in Path("/proc/locks").read_text().splitlines()}


def served_by(server: LiveServer, loads: int) -> list[str]:
    """The pids of the workers that served the book list, once `loads` loads are in the log."""
    wait_for(lambda: len(BOOK_LIST_SERVED.findall(server.log_tail())) >= loads, 10, "access log")
    return BOOK_LIST_SERVED.findall(server.log_tail())


@pytest.fixture
def served_django(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    """`make serve-django` on a fresh database that `make createsuperuser` gave a superuser."""
    if request.config.getoption("server") != "live":
        pytest.skip("starts make serve-django under gunicorn: runs with --server=live")
    database_url = f"sqlite:///{tmp_path / 'books.sqlite3'}"
    superuser = {
        "DJANGO_SUPERUSER_USERNAME": LIVE_SUPERUSER["username"],
        "DJANGO_SUPERUSER_PASSWORD": LIVE_SUPERUSER["password"],
        "DJANGO_SUPERUSER_EMAIL": "curator@example.com",
    }
    created = subprocess.run(
        ["make", "--no-print-directory", "createsuperuser"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, **superuser},
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    # The workers share the key that `make serve-django` makes once into var/.
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    monkeypatch.setenv("GUNICORN_CMD_ARGS", ACCESS_LOG)
    server = LiveServer("django", database_url, TOKEN, tmp_path / "django.log", workers=2)
    watch_log(request, server)
    try:
        server.start()
        server.wait_until_healthy()
        yield server
    finally:
        server.terminate()


def test_the_admin_under_gunicorn(served_django: LiveServer) -> None:
    """Sign in at the server's address, get the CSS, stay signed in on every worker, edit a book."""
    with served_django.client(timeout=30) as browser:
        sign_in(browser, LIVE_SUPERUSER["username"], LIVE_SUPERUSER["password"])
        # A new connection for each load: on one kept-alive connection every load would go to
        # the worker that accepted it. Which worker accepts a new one is up to the kernel, so the
        # first load's worker is stopped for the second: only the other one can accept it.
        page = browser.get(BOOK_LIST, headers={"Connection": "close"})
        assert page.status_code == 200, describe(page)  # not a redirect to the login form
        [first] = served_by(served_django, loads=1)
        # Not while it closes its database connection, the process's last: SQLite then holds the
        # file's exclusive lock to fold the WAL back, and the other worker would wait on it.
        wait_for(lambda: first not in locks_held(), 10, f"worker {first} releasing its locks")
        os.kill(int(first), signal.SIGSTOP)
        try:
            page = browser.get(BOOK_LIST, headers={"Connection": "close"})
        finally:
            os.kill(int(first), signal.SIGCONT)
        assert page.status_code == 200, describe(page)
        workers = served_by(served_django, loads=2)
        assert len(set(workers)) == 2, workers
        assert_is_css(fetch_stylesheet(browser, page))
        assert edit_book(browser, 2, "Count Zero", "William Gibson").status_code == 302
        book = browser.get("/books/2").json()
        assert book == {"id": 2, "title": "Count Zero", "author": "William Gibson"}


def test_an_admin_search_with_nul_is_no_error(signed_in: httpx2.Client) -> None:
    """NUL in the admin's search is dropped by its form (PostgreSQL cannot take it): no 500."""
    response = signed_in.get(BOOK_LIST, params={"q": "Dune\x00"})
    assert response.status_code == 200, describe(response)
    assert 'name="q" value=""' in response.text
