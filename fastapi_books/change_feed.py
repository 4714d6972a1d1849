"""Live updates: each worker reads the outbox (changes.py) and hands its new events to the worker's
subscribers, each through a bounded queue of its own."""

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fastapi_books.models import BookChange, BookChangeCounter

logger = logging.getLogger(__name__)

# Polling, not LISTEN/NOTIFY, which cost writes a quarter of their rate and cannot pass PgBouncer's
# transaction pooling (docs/live-updates.md).
POLL_SECONDS = 0.1
PAGE = 1_000
# A subscriber this many events behind is closed (1013) rather than held in memory.
QUEUE_LIMIT = 1_000
# At most this many new events a poll: 1,000 a second, more than any package writes. A burst
# (thousands of books deleted at once) reaches the subscribers at a pace that one who keeps
# up can follow, rather than all at once into queues that would overflow.
LIVE_PAGE = 100

TRY_AGAIN_LATER = 1013
GONE = 4410


def gone(after: int) -> tuple[int, str]:
    return (
        GONE,
        f"Events after {after} are no longer kept: reload the list and subscribe without after.",
    )


def message(change: BookChange) -> str:
    """The event as the subscriber receives it: serialized once for all of them."""
    return json.dumps(
        {
            "event": change.event,
            "type": change.type,
            "id": change.book_id,
            "version": change.version,
            "book": change.book,
        },
        separators=(",", ":"),
    )


async def last_event(session: AsyncSession) -> int:
    return (await session.exec(select(BookChangeCounter.last_event))).one()


async def events_after(
    session: AsyncSession, after: int, upto: int | None = None, limit: int = PAGE
) -> Sequence[BookChange]:
    """The next page of events after `after` (up to `upto`), in order."""
    query = select(BookChange).where(col(BookChange.event) > after)
    if upto is not None:
        query = query.where(col(BookChange.event) <= upto)
    return (await session.exec(query.order_by(col(BookChange.event)).limit(limit))).all()


@dataclass(eq=False)
class Subscriber:
    """One connection: the events it has been sent, those still to send, and why it must close,
    once it must."""

    position: int
    replay_from: int | None = None
    sent: int = 0
    pending: deque[tuple[int, str]] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closing: tuple[int, str] | None = None

    def __post_init__(self) -> None:
        self.sent = self.position if self.replay_from is None else self.replay_from

    def deliver(self, change: BookChange, text: str) -> None:
        if self.closing or change.event <= self.position:
            return
        if len(self.pending) >= QUEUE_LIMIT:
            self.close(TRY_AGAIN_LATER, f"Too far behind: resume with after={self.sent}.")
            return
        self.pending.append((change.event, text))
        self.position = change.event
        self.ready.set()

    def close(self, code: int, reason: str) -> None:
        self.closing = (code, reason)
        self.pending.clear()
        self.ready.set()

    async def messages(self) -> AsyncIterator[str]:
        """Each event as it comes, until the subscriber must close."""
        while not self.closing:
            await self.ready.wait()
            self.ready.clear()
            while self.pending and not self.closing:
                self.sent, text = self.pending.popleft()
                yield text


class ChangeFeed:
    """The worker's reader of the outbox, running while it has subscribers."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.subscribers: set[Subscriber] = set()
        self.last_seen = 0
        self.reader: asyncio.Task[None] | None = None

    def session(self) -> AsyncSession:
        return AsyncSession(self.engine)

    async def subscribe(self, after: int | None) -> Subscriber:
        """A new subscriber, from `after` on (from now without it).

        Raises LookupError with the close code and reason for an `after` above the last event.
        """
        async with self.session() as session:
            last = await last_event(session)
        if after is not None and after > last:
            raise LookupError(*gone(after))
        if last < self.last_seen:
            self.start_again(last)
        if not self.reading():
            # Not read since the last subscriber left, if ever: start from the last event.
            self.last_seen = last
            self.reader = asyncio.create_task(self.read())
        # From here on the reader hands it every event after last_seen (after `after`, when this
        # worker has not read up to that one yet); up to there, `replay`.
        position = self.last_seen if after is None else max(after, self.last_seen)
        subscriber = Subscriber(position=position, replay_from=after)
        self.subscribers.add(subscriber)
        return subscriber

    async def replay(self, subscriber: Subscriber) -> AsyncIterator[str]:
        """The kept events the subscriber asked for that came before it subscribed, a page at a
        time, each read in a session of its own: none is held while the client reads. An event
        no longer kept closes the subscriber (4410)."""
        upto = subscriber.position
        while not subscriber.closing and subscriber.sent < upto:
            async with self.session() as session:
                page = await events_after(session, subscriber.sent, upto)
            if not page or page[0].event != subscriber.sent + 1:
                subscriber.close(*gone(subscriber.sent))
                return
            for change in page:
                yield message(change)
                subscriber.sent = change.event

    def start_again(self, last: int) -> None:
        """The outbox was emptied and its counter set back (the database was reset): no
        subscriber's position means anything any more."""
        for subscriber in self.subscribers:
            subscriber.close(*gone(subscriber.position))
        self.last_seen = last

    def reading(self) -> bool:
        return self.reader is not None and not self.reader.done()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    async def read(self) -> None:
        """Every POLL_SECONDS, hand the events committed since to each subscriber."""
        failing = False
        while self.subscribers:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.read_new_events()
            except SQLAlchemyError:
                # The database is away: the subscribers wait, and the next poll tries again.
                if not failing:
                    logger.warning("Live updates: the outbox cannot be read; trying again.")
                failing = True
            else:
                if failing:
                    logger.info("Live updates: the outbox can be read again.")
                failing = False

    async def read_new_events(self) -> None:
        async with self.session() as session:
            last = await last_event(session)
            if last < self.last_seen:
                self.start_again(last)
            if last == self.last_seen:
                return
            page = await events_after(session, self.last_seen, limit=LIVE_PAGE)
        for change in page:
            text = message(change)
            for subscriber in self.subscribers:
                subscriber.deliver(change, text)
        if page:
            self.last_seen = page[-1].event

    def stop(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
