"""How a server learns of a committed change: PostgreSQL's LISTEN/NOTIFY, or polling the outbox.

Usage: python -m bench.change_wakeups [--seconds 10] [--writers 8]

On a throwaway PostgreSQL database (TEST_DATABASE_URL's server, as the suite) and a SQLite file,
with an outbox and counter as the packages have them (one UPDATE ... RETURNING and one INSERT in
each write's transaction):
- latency: a writer commits 100 events a second; a LISTEN connection (NOTIFY in each write's
  transaction) and pollers (SELECT max(event) every 100 and 250 ms) note when each event shows;
  the delay from its commit to its sighting, p50 and p99;
- write cost: commits per second of several writer threads with and without the NOTIFY, in
  alternating rounds, each with a LISTEN connection draining the notifications.
"""

import argparse
import os
import secrets
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CHANNEL = "book_changes"
SCHEMA = (
    "CREATE TABLE outbox (event BIGINT PRIMARY KEY, book TEXT)",
    "CREATE TABLE counter (id INTEGER PRIMARY KEY, last_event BIGINT NOT NULL)",
    "INSERT INTO counter VALUES (1, 0)",
)
RAISE_COUNTER = "UPDATE counter SET last_event = last_event + 1 RETURNING last_event"
ADD_EVENT = 'INSERT INTO outbox VALUES (%s, \'{"id": 1, "title": "Dune"}\')'
EVENTS_PER_SECOND = 100
POLL_INTERVALS = (0.1, 0.25)


def percentile(delays: list[float], share: float) -> float:
    """The delay below which this share of them fall, in milliseconds."""
    ordered = sorted(delays)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Outbox:
    """A database with the outbox, and a way to connect to it."""

    def __init__(self, connect: Callable[[], Any], placeholder: str, url: str = "") -> None:
        self.connect = connect
        self.placeholder = placeholder
        self.url = url  # PostgreSQL's, for the LISTEN connections

    def write(self, connection: Any, notify: bool) -> int:
        """One write's outbox statements and commit; the event's number."""
        cursor = connection.cursor()
        if self.placeholder == "?":
            cursor.execute("BEGIN IMMEDIATE")
        event: int = cursor.execute(RAISE_COUNTER).fetchone()[0]
        cursor.execute(ADD_EVENT.replace("%s", self.placeholder), (event,))
        if notify:
            cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(event)))
        connection.commit()
        return event


def measure_latency(outbox: Outbox, seconds: float, listen: bool) -> dict[str, list[float]]:
    """Delays from commit to sighting, by watcher, while a writer commits 100 events a second."""
    committed: dict[int, float] = {}
    seen: dict[str, dict[int, float]] = {}
    stop = threading.Event()

    def poll(interval: float) -> None:
        mine = seen.setdefault(f"poll every {int(interval * 1000)} ms", {})
        connection = outbox.connect()
        last = 0
        while not stop.is_set():
            newest = connection.execute("SELECT max(event) FROM outbox").fetchone()[0] or 0
            connection.commit()
            now = time.perf_counter()
            for event in range(last + 1, newest + 1):
                mine[event] = now
            last = newest
            stop.wait(interval)

    def listen_for_notifications() -> None:
        mine = seen.setdefault("LISTEN/NOTIFY", {})
        with psycopg.connect(outbox.url, autocommit=True) as connection:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            ready.set()
            while not stop.is_set():
                for notification in connection.notifies(timeout=0.2):
                    mine[int(notification.payload)] = time.perf_counter()

    ready = threading.Event()
    watchers = [threading.Thread(target=poll, args=(interval,)) for interval in POLL_INTERVALS]
    if listen:
        watchers.append(threading.Thread(target=listen_for_notifications))
    else:
        ready.set()
    for watcher in watchers:
        watcher.start()
    ready.wait(10)
    writer = outbox.connect()
    started = time.perf_counter()
    for n in range(int(seconds * EVENTS_PER_SECOND)):
        # Paced against the clock, so that a slow commit does not slow the rate.
        time.sleep(max(0.0, started + n / EVENTS_PER_SECOND - time.perf_counter()))
        event = outbox.write(writer, notify=listen)
        committed[event] = time.perf_counter()
    time.sleep(max(POLL_INTERVALS) * 2)  # the last sightings (a bench script: no condition)
    stop.set()
    for watcher in watchers:
        watcher.join()
    return {
        name: [sightings[event] - at for event, at in committed.items() if event in sightings]
        for name, sightings in seen.items()
    }


def measure_write_cost(outbox: Outbox, seconds: float, writers: int) -> dict[str, list[float]]:
    """Commits per second of the writers without and with NOTIFY, in alternating rounds."""
    rates: dict[str, list[float]] = {"without NOTIFY": [], "with NOTIFY": []}
    drain_stop = threading.Event()

    def drain() -> None:
        with psycopg.connect(outbox.url, autocommit=True) as connection:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            while not drain_stop.is_set():
                for _ in connection.notifies(timeout=0.2):
                    pass

    drainer = threading.Thread(target=drain)
    drainer.start()
    connections = [outbox.connect() for _ in range(writers)]

    def write(index: int, notify: bool, deadline: float, counts: list[int]) -> None:
        while time.perf_counter() < deadline:
            outbox.write(connections[index], notify)
            counts[index] += 1

    for round_ in range(6):
        notify = round_ % 2 == 1
        deadline = time.perf_counter() + seconds
        counts = [0] * writers
        threads = [
            threading.Thread(target=write, args=(index, notify, deadline, counts))
            for index in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rates["with NOTIFY" if notify else "without NOTIFY"].append(sum(counts) / seconds)
    drain_stop.set()
    drainer.join()
    return rates


def postgres_outbox(name: str) -> Outbox:
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(SERVER_URL, dbname=name)
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in SCHEMA:
            connection.execute(statement)

    def connect() -> psycopg.Connection:
        return psycopg.connect(url)

    return Outbox(connect, "%s", url)


def sqlite_outbox(path: Path) -> Outbox:
    with sqlite3.connect(path, isolation_level=None) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        for statement in SCHEMA:
            connection.execute(statement)

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=20)

    return Outbox(connect, "?")


def report(title: str, delays: dict[str, list[float]]) -> None:
    print(title)
    for name, measured in sorted(delays.items()):
        print(
            f"  {name:<20} {len(measured):5} events  p50 {percentile(measured, 0.5):6.1f} ms"
            f"  p99 {percentile(measured, 0.99):6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--writers", type=int, default=8)
    arguments = parser.parse_args()
    name = f"bench_wakeups_{secrets.token_hex(4)}"
    try:
        postgres = postgres_outbox(name)
        report("PostgreSQL, 100 writes/s:", measure_latency(postgres, arguments.seconds, True))
        rates = measure_write_cost(postgres, arguments.seconds / 2, arguments.writers)
        without, with_ = (statistics.median(rates[key]) for key in rates)
        print(
            f"PostgreSQL, {arguments.writers} writers: {without:.0f} commits/s without NOTIFY,"
            f" {with_:.0f} with ({with_ / without:.2f}); rounds {rates}"
        )
        with tempfile.TemporaryDirectory() as folder:
            sqlite = sqlite_outbox(Path(folder) / "outbox.sqlite3")
            report("SQLite, 100 writes/s:", measure_latency(sqlite, arguments.seconds, False))
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
