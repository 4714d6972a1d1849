"""Live updates: GET /books/changes, a WebSocket (Flask-Sock) that sends each committed change.

One hub per worker process reads the outbox every 100 ms and hands each new event to the queue of
every subscriber of that worker; each subscriber's handler sends its queue down its WebSocket.
"""

import contextlib
import json
import logging
import os
import queue
import re
import threading
import time
import weakref
from typing import Any

from flask import Flask, current_app, g, request
from flask_smorest import Blueprint
from flask_sock import Sock
from simple_websocket import ConnectionClosed, Server
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from wsproto.utilities import RemoteProtocolError

from flask_books.models import BookChange, BookChangeCounter
from flask_books.problems import ProblemResponse, problem, problem_responses

POLL_SECONDS = 0.1
PAGE = 1000
QUEUE_SIZE = 1000
# At most this many new events a poll: 1,000 a second, more than any package writes. A burst
# (thousands of books deleted at once) reaches the subscribers at a pace that one who keeps up can
# follow, rather than all at once into queues that would overflow.
LIVE_PAGE = 100
PING_SECONDS = 30
# How often a handler with nothing to send looks at its client (gone? messages to discard?).
IDLE_SECONDS = 1.0
# How long a handler waits for the client's reply to its close frame.
CLOSE_SECONDS = 2.0
# How long a send may wait for a client that reads nothing before the connection is dropped.
SEND_SECONDS = 60.0
MAX_EVENT = 2**63 - 1
SHUTTING_DOWN = 1001
TOO_FAR_BEHIND = 1013
GONE = 4410
UNAVAILABLE = (1011, "The database is unavailable; try again later.")
INVALID_AFTER = 4422
INVALID_AFTER_REASON = f"after must be a whole number from 0 to {MAX_EVENT}."
INVALID_HANDSHAKE = "The WebSocket handshake is invalid."
CHANGE_COLUMNS = (
    BookChange.event,
    BookChange.type,
    BookChange.book_id,
    BookChange.version,
    BookChange.book,
)

log = logging.getLogger(__name__)
sock = Sock()
blp = Blueprint("changes", __name__, description="Live updates of the books.")
# Every hub of this process, for shut_down() (one per app; one app per worker).
HUBS: "weakref.WeakSet[Hub]" = weakref.WeakSet()


def close_reason(code: int, last_sent: int) -> str:
    if code == SHUTTING_DOWN:
        return "Server shutting down."
    if code == TOO_FAR_BEHIND:
        return f"Too far behind: resume with after={last_sent}."
    return (
        f"Events after {last_sent} are no longer kept: reload the list and subscribe without after."
    )


def read_page(
    engine: Engine, after: int, up_to: int | None = None, limit: int = PAGE
) -> list[dict[str, Any]]:
    """Up to `limit` events numbered above `after` (and at most `up_to`), in order, as messages."""
    query = select(*CHANGE_COLUMNS).where(BookChange.event > after)
    if up_to is not None:
        query = query.where(BookChange.event <= up_to)
    # A short connection of its own for each page: none is held between polls or while sending.
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(BookChange.event).limit(limit)).all()
    return [
        {"event": r.event, "type": r.type, "id": r.book_id, "version": r.version, "book": r.book}
        for r in rows
    ]


def read_last_event(engine: Engine) -> int:
    with engine.connect() as connection:
        last_event: int = connection.execute(select(BookChangeCounter.last_event)).scalar_one()
    return last_event


def is_kept_after(engine: Engine, after: int) -> bool:
    """Whether every event after `after` is there: `after` is the last event, or below it with
    the next one still kept (not pruned)."""
    with engine.connect() as connection:
        last_event = connection.execute(select(BookChangeCounter.last_event)).scalar_one()
        if after >= last_event:
            return after == last_event
        query = select(BookChange.event).where(BookChange.event == after + 1)
        return connection.execute(query).first() is not None


class Subscriber:
    """One WebSocket's queue of events to send, and the close code the hub decided for it."""

    def __init__(self) -> None:
        # None in the queue only wakes the handler up to look at closing.
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self.closing: int | None = None

    def close(self, code: int) -> None:
        if self.closing is None:
            self.closing = code
        # Full: the handler is not waiting, it has events to take first, then sees closing.
        with contextlib.suppress(queue.Full):
            self.events.put_nowait(None)


class Hub:
    """This worker's reader of the outbox, started with the first subscriber: after gunicorn's
    fork, so that each worker has its own (a thread, a greenlet under gevent's patching)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.subscribers: set[Subscriber] = set()
        self.last_seen = 0
        self.stopping = False
        self.started_in: int | None = None  # the process id the thread runs in
        # Held while events are handed out and while a subscriber joins, so that it joins between
        # two batches (under gevent neither yields in between anyway), and while starting.
        self.lock = threading.Lock()
        self.start_lock = threading.Lock()
        HUBS.add(self)

    def subscribe(self) -> tuple[Subscriber, int]:
        """A new subscriber, and the last event the hub had seen when it joined: its queue gets
        every event after that one."""
        self.start()
        last_event = read_last_event(self.engine)
        subscriber = Subscriber()
        with self.lock:
            if last_event < self.last_seen:
                self.start_again(last_event)
            if self.stopping:
                subscriber.close(SHUTTING_DOWN)
            self.subscribers.add(subscriber)
            return subscriber, self.last_seen

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self.lock:
            self.subscribers.discard(subscriber)

    def start(self) -> None:
        with self.start_lock:
            if self.started_in == os.getpid():
                return
            # The worker learns the last event when it starts.
            self.last_seen = read_last_event(self.engine)
            threading.Thread(target=self.run, name="books-live-hub", daemon=True).start()
            self.started_in = os.getpid()

    def run(self) -> None:
        failing = False
        while not self.stopping:
            time.sleep(POLL_SECONDS)
            try:
                self.poll()
            except Exception:
                # The database is away (or worse): the subscribers wait, and the next poll tries
                # again. Logged once, not every 100 ms.
                if not failing:
                    log.warning("Live updates cannot read the outbox; trying every 100 ms")
                failing = True
            else:
                if failing:
                    log.warning("Live updates read the outbox again")
                failing = False
        with self.lock:
            self.close_all(SHUTTING_DOWN)

    def poll(self) -> None:
        last_event = read_last_event(self.engine)
        if last_event < self.last_seen:
            with self.lock:
                self.start_again(last_event)
            return
        if last_event == self.last_seen:
            return
        changes = read_page(self.engine, self.last_seen, limit=LIVE_PAGE)
        with self.lock:
            for change in changes:
                for subscriber in self.subscribers:
                    if subscriber.closing is not None:
                        continue
                    try:
                        subscriber.events.put_nowait(change)
                    except queue.Full:
                        subscriber.close(TOO_FAR_BEHIND)
            if changes:
                self.last_seen = changes[-1]["event"]

    def start_again(self, last_event: int) -> None:
        """The outbox was emptied and its counter set back (the database was reset): no
        subscriber's position means anything any more (with the lock held)."""
        self.close_all(GONE)
        self.last_seen = last_event

    def close_all(self, code: int) -> None:
        """Close every subscriber with this code (with the lock held)."""
        for subscriber in list(self.subscribers):
            subscriber.close(code)
        self.subscribers.clear()


def shut_down() -> None:
    """The server is stopping (SIGTERM): every hub closes its subscribers with 1001 within a poll.

    Safe in a signal handler: it only sets a flag, which each hub's thread reads.
    """
    for hub in list(HUBS):
        hub.stopping = True


class WholeFrames:
    """A socket for simple-websocket whose send() sends all it is given, one caller at a time.

    simple-websocket sends each frame with one socket.send(), which may send only part of it once
    the client reads slower than events come (the rest is lost, and the stream corrupt); and its
    reading thread sends pongs and pings on the same socket, which gevent refuses while the
    handler's send waits (two greenlets writing one socket).
    """

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.sending = threading.Lock()
        # A client that stops reading, but stays connected, would hold its handler in a send for
        # ever. The reading thread is not affected: with pings on, it receives only once the
        # selector says there is something to read.
        sock.settimeout(SEND_SECONDS)

    def send(self, data: bytes) -> int:
        with self.sending:
            self.sock.sendall(data)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def server_options() -> dict[str, Any]:
    """simple-websocket's options (flask-sock reads SOCK_SERVER_OPTIONS): ping every 30 s."""
    options: dict[str, Any] = {"ping_interval": PING_SECONDS}
    try:
        from gevent import monkey
    except ImportError:
        return options
    if monkey.is_module_patched("socket") and not monkey.is_module_patched("select"):
        # With pings, simple-websocket's reading thread waits in a selector between them; the
        # gevent worker leaves select unpatched (deploy/gunicorn.conf.py), and the standard
        # selector would block the whole worker for up to 30 s.
        from gevent.selectors import GeventSelector

        options["selector_class"] = GeventSelector
    return options


def parse_after(value: str) -> int | None:
    if re.fullmatch("[0-9]+", value, re.ASCII) and int(value) <= MAX_EVENT:
        return int(value)
    return None


@sock.route("/books/changes")
def send_changes(ws: Server) -> None:
    """Send each committed change, from after=<event> or from now, until either side closes."""
    ws.sock = WholeFrames(ws.sock)
    hub = current_app.extensions["books_live_hub"]
    # A repeated query parameter: its last value counts, as on every route.
    after = request.args.getlist("after")[-1] if "after" in request.args else None
    try:
        if g.subscription is None:
            ws.close(*UNAVAILABLE)
        else:
            serve(ws, hub, g.subscription, after)
    except (ConnectionClosed, OSError):
        pass  # the client has gone
    except SQLAlchemyError:
        # Replaying: after the handshake a problem document can no longer be the answer.
        with contextlib.suppress(ConnectionClosed, OSError):
            ws.close(*UNAVAILABLE)
    finally:
        # The closing handshake: the reading thread ends with the client's reply to the close
        # frame (or when it has gone), before gunicorn closes the connection.
        ws.thread.join(CLOSE_SECONDS)


def serve(
    ws: Server, hub: Hub, subscription: tuple[Subscriber, int], after_text: str | None
) -> None:
    after = None
    if after_text is not None:
        after = parse_after(after_text)
        if after is None:
            ws.close(INVALID_AFTER, INVALID_AFTER_REASON)
            return
    subscriber, joined_at = subscription
    last_sent = joined_at
    if after is not None:
        if not is_kept_after(hub.engine, after):
            ws.close(GONE, close_reason(GONE, after))
            return
        last_sent = after
    # The kept events up to where the queue begins, page by page.
    while last_sent < joined_at and subscriber.closing is None:
        changes = read_page(hub.engine, last_sent, joined_at)
        if not changes or changes[0]["event"] != last_sent + 1:
            # Pruned meanwhile, or the database was reset (the hub will see it too).
            ws.close(GONE, close_reason(GONE, last_sent))
            return
        for change in changes:
            ws.send(json.dumps(change))
        last_sent = changes[-1]["event"]
    while subscriber.closing is None and ws.connected:
        # Messages from the client are read (by simple-websocket's thread) and discarded.
        while ws.receive(timeout=0) is not None:
            pass
        try:
            queued = subscriber.events.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            continue
        # Events up to after= may still come through the queue when after was ahead of it.
        if queued is not None and queued["event"] > last_sent:
            ws.send(json.dumps(queued))
            last_sent = queued["event"]
    if subscriber.closing is not None:
        ws.close(subscriber.closing, close_reason(subscriber.closing, last_sent))


@blp.get("/books/changes")
@blp.alt_response(101, description="Switching Protocols, to the WebSocket.")
@blp.doc(responses=problem_responses(426))
def changes_without_upgrade() -> ProblemResponse:
    """A WebSocket: one JSON message per committed change of a book (docs/live-updates.md).

    Connect with `Upgrade: websocket`, optionally with `?after=<event>` to replay the events after
    that one first. A request without the upgrade is a 426.
    """
    return problem(
        426,
        "GET /books/changes is a WebSocket: connect with Upgrade: websocket.",
        headers={"Upgrade": "websocket"},
    )


def invalid_handshake(error: RemoteProtocolError) -> ProblemResponse:
    """An upgrade request simple-websocket cannot take (such as one without Sec-WebSocket-Key):
    a 400, where the exception would be a 500."""
    return problem(400, INVALID_HANDSHAKE)


def subscribe_before_the_handshake() -> None:
    """flask-sock completes the handshake before its view runs: the subscriber joins first, so
    that every change committed after the handshake reaches it."""
    if request.url_rule is not None and request.url_rule.websocket:
        hub = current_app.extensions["books_live_hub"]
        try:
            g.subscription = hub.subscribe()
        except SQLAlchemyError:
            g.subscription = None  # closed with 1011 once the handshake is done


def unsubscribe(error: BaseException | None) -> None:
    if subscription := g.pop("subscription", None):
        current_app.extensions["books_live_hub"].unsubscribe(subscription[0])


def init_app(app: Flask) -> None:
    app.before_request(subscribe_before_the_handshake)
    app.teardown_request(unsubscribe)
    app.config.setdefault("SOCK_SERVER_OPTIONS", server_options())
    app.register_error_handler(RemoteProtocolError, invalid_handshake)
    app.extensions["books_live_hub"] = Hub(app.extensions["books_engine"])
    # Werkzeug matches flask-sock's rule only for an upgrade request, and the blueprint's for the
    # others: OPTIONS and 405 come from it as for every route.
    sock.init_app(app)
