"""The upstream catalog of `GET /books/{id}/catalog` for make bench, and its memory load.

The stub (tests/catalog_stub.py) answers every search after a delay that the harness sets per
scenario through its control endpoint; it runs on the load CPU beside wrk, so the servers under
test keep theirs. hold() puts many requests in flight at once and samples the server meanwhile.
"""

import asyncio
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The stub lives with the tests, importable from the repository's root.
sys.path.append(str(ROOT))
from tests.catalog_stub import CatalogStub  # noqa: E402

HOST = "127.0.0.1"
# What the servers ask the stub (a book's search, as the contract words it): the upstream-alone
# rows send it to the stub directly.
SEARCH_PATH = (
    "/search.json?title=Dune&author=Frank%20Herbert&limit=1&fields=key,first_publish_year,isbn"
)
ESTABLISHED = "01"  # a connection's state in /proc/net/tcp


class Upstream:
    """The stub, started once per run on a port of its own and pinned to one CPU; its delay
    changed between scenarios through its control endpoint."""

    def __init__(self, cpu: int, log: Path) -> None:
        self.stub = CatalogStub(HOST, log_path=log).start()
        # One process, one event loop: pinning its main thread pins the stub.
        os.sched_setaffinity(self.stub.process.pid, {cpu})  # type: ignore[union-attr]
        self.url = self.stub.url
        self.port = self.stub.port
        self.delay_s = 0.0

    def set_delay(self, seconds: float) -> None:
        """Make every search wait this long before its answer (a no-op when it already does)."""
        if seconds != self.delay_s:
            self.stub.configure(delay=seconds)
            self.delay_s = seconds

    def connections(self) -> int:
        """How many TCP connections to the stub are open (each counted once, from the client's
        side: its remote port is the stub's)."""
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                count += remote_port == self.port and fields[3] == ESTABLISHED
        return count

    def stop(self) -> None:
        self.stub.stop()


def allow_open_files(count: int) -> None:
    """Raise this process's soft limit on open files to `count` (within the hard limit): hold()'s
    connections, and the servers started after it, which inherit it (a server holding N requests
    has N client sockets and N to the upstream open)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@dataclass
class Held:
    """What hold() saw: the peak of the sampled figures and how the requests fared."""

    connected: int = 0
    peak_rss_kb: int = 0
    peak_upstream_connections: int = 0
    # Responses that came back within the window, by status: those requests were not waiting.
    answered: dict[int, int] = field(default_factory=dict)


def hold(
    port: int,
    path: str,
    count: int,
    seconds: float,
    rss_kb: Callable[[], int],  # the server's RSS now
    upstream: Upstream,
    cpu: int,
) -> Held:
    """Send `count` requests on as many connections at once, sample the server's RSS and the open
    connections to the upstream every 0.1 s for `seconds`, then close every connection. Runs on
    the load CPU, as wrk does."""
    held = Held()
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        asyncio.run(_hold(port, path, count, seconds, rss_kb, upstream, held))
    finally:
        os.sched_setaffinity(0, affinity)
    return held


async def _hold(
    port: int,
    path: str,
    count: int,
    seconds: float,
    rss_kb: Callable[[], int],
    upstream: Upstream,
    held: Held,
) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()

    async def one() -> None:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            return
        held.connected += 1
        try:
            writer.write(request)
            status = int((await reader.readline()).split()[1])
            held.answered[status] = held.answered.get(status, 0) + 1
        except (OSError, IndexError, ValueError):
            pass
        finally:
            writer.close()

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # bounded: one sample per 0.1 s until the deadline
        await asyncio.sleep(0.1)
        held.peak_rss_kb = max(held.peak_rss_kb, rss_kb())
        held.peak_upstream_connections = max(held.peak_upstream_connections, upstream.connections())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
