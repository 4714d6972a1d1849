"""What the framework-specific tests of the stack's two settings share (nginx in front of several
instances, PgBouncer behind them: deploy/stack.py): FORWARDED_ALLOW_IPS and DATABASE_POOLER, each
checked on a framework's own app or database connection."""

from typing import TYPE_CHECKING, Any
from wsgiref.util import setup_testing_defaults

import pytest
from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

    from tests.databases import TestDatabases

PROXY = "127.0.0.1"
CLIENT = "203.0.113.7"
# Whatever the client sent, then the address the proxy saw (as a proxy that appends does; nginx's
# $proxy_add_x_forwarded_for).
FORWARDED_FOR = f"198.51.100.1, {CLIENT}"

# FORWARDED_ALLOW_IPS, the peer that sends the request, and whether its X-Forwarded-* is believed.
WHOSE_HEADERS_COUNT = pytest.mark.parametrize(
    ("proxies", "peer", "believed"),
    [([PROXY], PROXY, True), ([PROXY], "127.0.0.2", False), ([], PROXY, False)],
    ids=["from-the-proxy", "from-another-peer", "unset"],
)

# psycopg prepares a statement the sixth time one connection runs it (prepare_threshold, 5 by
# default), and pg_prepared_statements lists the asking connection's: after ten runs of this
# count, the count says whether the connection prepares.
COUNT_PREPARED_STATEMENTS = "SELECT count(*) FROM pg_prepared_statements"
RUNS_PAST_PREPARE_THRESHOLD = 10


def environ_after_forwarded_request(app: "WSGIApplication", peer: str) -> "WSGIEnvironment":
    """Call the app as gunicorn would for an HTTPS request the proxy passed on from CLIENT, from
    `peer`; return the environ as the app left it, which gunicorn's access log then reads."""
    environ: dict[str, Any] = {
        "PATH_INFO": "/nowhere",
        "REMOTE_ADDR": peer,
        "HTTP_X_FORWARDED_FOR": FORWARDED_FOR,
        "HTTP_X_FORWARDED_PROTO": "https",
    }
    setup_testing_defaults(environ)  # the rest, over plain HTTP

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
        return None

    response = app(environ, start_response)
    b"".join(response)
    getattr(response, "close", lambda: None)()
    return environ


def postgresql_url(test_databases: "TestDatabases", framework: str) -> str:
    """The framework's database on PostgreSQL; on SQLite, where nothing pools, the test skips."""
    if test_databases.server is None:
        pytest.skip("DATABASE_POOLER is PostgreSQL's: run with --database=postgresql")
    return test_databases.prepared(framework).url


def prepared_statements(connection: Connection) -> int:
    """How many statements the connection holds prepared after running one past the threshold."""
    for _ in range(RUNS_PAST_PREPARE_THRESHOLD):
        count: int = connection.scalar(text(COUNT_PREPARED_STATEMENTS))
    return count
