"""gunicorn's settings for `make serve-django` and `make serve-flask`: clients straight off the net.

gunicorn's default sync workers serve one connection each at a time and, as gunicorn's deployment
docs say, need a buffering proxy in front: a few idle or slow clients hold every worker. The
gevent workers below hold each connection in a greenlet of their own, read a request's head and
body within deadlines before the app runs, as such a proxy would, and run the app in that
greenlet: a request waiting on another service (the catalog) lets the worker serve the others.
"""

import json
import os
import sys

import gevent
from gevent import monkey, socket
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.errors import NoMoreData, ParseException
from gunicorn.workers.ggevent import GeventWorker

# A request head must be complete within this many seconds of the connection opening or of the
# previous response: the gevent worker's keepalive bounds each wait for a head, the first included.
keepalive = 5
# And its body within this many seconds of the head.
BODY_SECONDS = 10
# The contract's largest body (64 KiB) and one byte more, which tells a body over it (a 413).
BODY_BUFFER = 64 * 1024 + 1
# The head: a request line and 100 header fields of up to 8190 bytes each (gunicorn's maximum
# for the line, and its defaults for the fields).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Whose X-Forwarded-Proto gunicorn believes (and the apps, X-Forwarded-For): the proxy's addresses
# when there is one in front, else nobody's (gunicorn's default believes 127.0.0.1).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")
if forwarded_allow_ips:
    # A proxy adds its two fields (X-Forwarded-For, X-Forwarded-Proto) to the client's 100.
    limit_request_fields += 2
    # The scheme from the one field the proxy sets. gunicorn's default also reads
    # X-Forwarded-Ssl and X-Forwarded-Protocol, which a proxy passes on from the client as they
    # came: one that disagreed with X-Forwarded-Proto was gunicorn's own HTML 400.
    secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
# One line per request, as uvicorn writes by default (gunicorn writes none unless told).
accesslog = "-"
# On SIGTERM, requests in progress have this long to finish (gunicorn's default, stated here
# because the contract promises it).
graceful_timeout = 30


def problem_response(status: int, title: str, detail: str) -> bytes:
    """A problem document as a complete response that closes the connection."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    head = (
        f"HTTP/1.1 {status} {title}\r\nContent-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return (head + body).encode()


REQUEST_TIMEOUT = problem_response(
    408, "Request Timeout", f"The request body did not arrive within {BODY_SECONDS} seconds."
)
BAD_REQUEST = problem_response(400, "Bad Request", "The request body is not validly framed.")


class BufferedBody:
    """A body reader that gives out what was read ahead first, then the rest of the body."""

    def __init__(self, received: bytes, rest: Body) -> None:
        self.received = received
        self.rest = rest

    def read(self, size: int) -> bytes:
        if self.received:
            data, self.received = self.received[:size], self.received[size:]
            return data
        return self.rest.read(size)


class BufferingGeventWorker(GeventWorker):
    """gunicorn's gevent worker, which reads each body (up to the contract's limit) in full
    before the app runs: a client that stalls or leaves mid-body never reaches the app."""

    def patch(self):
        # gunicorn patches all of the standard library for gevent; here, all but select. Patched,
        # select makes psycopg 3 wait for PostgreSQL cooperatively, switching greenlets at every
        # query: measured side by side, that cost 10% of requests/s at 5 workers (0.90 of sync
        # workers' GET /books; 1.00 unpatched). A query holds up the worker's other requests while
        # it runs, as SQLite's do, so a worker's database work is one query at a time; what its
        # requests wait on over sockets (clients, the catalog upstream) they wait on together.
        monkey.patch_all(select=False)
        self.sockets = [
            socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach())
            for s in self.sockets
        ]

    def load_wsgi(self):
        super().load_wsgi()
        app = self.wsgi

        def in_turn_and_finished_before_sending(environ, start_response):
            # Each request first lets the requests already waiting go ahead. A greenlet yields only
            # when it would block, and a client that sends its next request at once never lets its
            # greenlet block: without this, a few connections were served again and again while
            # the others waited (GET /books, 64 connections, one worker: p50 2 ms, p99 1.4 s).
            gevent.sleep(0)
            # The whole response is made, and closed, before gunicorn writes it: closing ends the
            # request for the framework (Django's request_finished gives its database connection
            # back), so a client slow to read holds no database connection, as behind a buffering
            # proxy.
            response = app(environ, start_response)
            try:
                return list(response)
            finally:
                if hasattr(response, "close"):
                    response.close()

        self.wsgi = in_turn_and_finished_before_sending

    def handle(self, listener, client, addr):
        try:
            super().handle(listener, client, addr)
        finally:
            # Django keeps a database connection per thread, which in this worker is the greenlet
            # of one client connection, ending here: closed now, not when the garbage collector
            # finds it (an SQLite connection holds two file descriptors until then).
            if "django.db" in sys.modules:
                sys.modules["django.db"].connections.close_all()

    def handle_exit(self, sig, frame):
        # SIGTERM, the graceful stop: gunicorn stops accepting, then waits for the connections in
        # progress to end, for graceful_timeout. A live-updates WebSocket never ends by itself:
        # tell Flask's subscribers to close (1001) now. Only a flag is set (this is a signal
        # handler); the hub closes them within its next poll.
        super().handle_exit(sig, frame)
        # Not while the worker is still importing the app: a module half imported has no
        # shut_down yet, and no subscriber either.
        if shut_down := getattr(sys.modules.get("flask_books.live"), "shut_down", None):
            shut_down()

    def handle_request(self, listener_name, req, sock, addr):
        # gunicorn answers Expect: 100-continue as it calls the app, which here is after the body
        # has arrived: the client would wait for it first.
        if req._expected_100_continue:
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            req._expected_100_continue = False
        if isinstance(req.body.reader, LengthReader) and req.body.reader.length == 0:
            super().handle_request(listener_name, req, sock, addr)  # no body to wait for
            return
        # A Content-Length body that ends short of its length means the client has gone.
        announced = req.body.reader.length if isinstance(req.body.reader, LengthReader) else 0
        try:
            with gevent.Timeout(BODY_SECONDS):
                received = req.body.read(BODY_BUFFER)
        except gevent.Timeout:
            sock.sendall(REQUEST_TIMEOUT)
            self.log.info("Request body from %s not complete within %s s", addr[0], BODY_SECONDS)
            raise StopIteration("body timed out") from None
        except NoMoreData:
            raise StopIteration("client left mid-body") from None
        except ParseException:
            sock.sendall(BAD_REQUEST)
            raise StopIteration("bad chunked body") from None
        if len(received) < min(announced, BODY_BUFFER):
            raise StopIteration("client left mid-body")
        # gunicorn's parser skips what is left of this body before the next request: keep
        # reading the same body.
        req.body = Body(BufferedBody(received, req.body))
        super().handle_request(listener_name, req, sock, addr)


worker_class = BufferingGeventWorker
