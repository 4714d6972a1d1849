"""Live updates under load: how long a change takes to reach every subscriber, and what the
subscribers cost the server.

    .venv/bin/python -m bench.live_updates [--subscribers 1000] [--rate 100] [--seconds 10]
        [--database sqlite|postgresql] [FRAMEWORK ...]

Each package as `make serve-<framework>` serves it (its default workers), on a fresh database, one
after the other. SUBSCRIBERS WebSocket clients (asyncio, in this process) subscribe to
/books/changes; a writer POSTs RATE books a second for SECONDS; each event's delay is the time
from the POST's response to the event's arrival at a subscriber. Printed per package, as a
Markdown row: the delays' p50, p99 and maximum over every subscriber, the events that never
arrived (must be 0), the subscribers closed early, and the server's memory (RSS of all its
processes) before the subscribers came and with them.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx2
import psycopg
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.serving import ROOT, rss_kb, server_pids

TOKEN = "bench-token"
POSTGRES = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def fresh_database(framework: str, kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='live-updates-')}/{framework}.sqlite3"
    name = f"bench_live_{framework}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}"


def start(framework: str, port: int, database_url: str) -> subprocess.Popen[bytes]:
    log = Path(tempfile.mkdtemp(prefix="live-updates-")) / f"{framework}.log"
    environment = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "BOOKS_API_TOKEN": TOKEN,
    }
    server = subprocess.Popen(
        ["make", "--no-print-directory", f"serve-{framework}"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(600):
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx2.TransportError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"make serve-{framework} did not become healthy: see {log}")


def server_rss_mib(server: subprocess.Popen[bytes]) -> float:
    return sum(rss_kb(pid) for pid in server_pids(server.pid)) / 1024


async def subscriber(
    url: str, arrivals: dict[int, list[float]], ready: asyncio.Event, count: list[int]
) -> str:
    """Note each event's arrival under its book's id; how the subscription ended."""
    async with connect(url, open_timeout=60, ping_interval=None, max_queue=None) as websocket:
        count[0] += 1
        if count[0] == count[1]:
            ready.set()
        try:
            async for text in websocket:
                arrivals.setdefault(json.loads(text)["id"], []).append(time.monotonic())
        except ConnectionClosed as closed:
            return str(closed)
    return "closed"


async def run(
    framework: str,
    server: subprocess.Popen[bytes],
    port: int,
    subscribers: int,
    rate: int,
    seconds: int,
) -> dict:
    url = f"ws://127.0.0.1:{port}/books/changes"
    arrivals: dict[int, list[float]] = {}
    ready, count = asyncio.Event(), [0, subscribers]
    tasks = [
        asyncio.create_task(subscriber(url, arrivals, ready, count)) for _ in range(subscribers)
    ]
    await asyncio.wait_for(ready.wait(), 120)
    responses: dict[int, float] = {}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
        started = time.monotonic()
        for n in range(rate * seconds):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            book = {"title": f"Live {n}", "author": framework}
            response = await client.post("/books", json=book)
            responses[response.json()["id"]] = time.monotonic()
    await asyncio.sleep(5)  # the last events' way to every subscriber
    rss = server_rss_mib(server)
    ended_early = sum(1 for task in tasks if task.done())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays = [
        1000 * (arrival - responded)
        for book, responded in responses.items()
        for arrival in arrivals.get(book, [])
    ]
    missing = subscribers * len(responses) - len(delays)
    return {"delays": sorted(delays), "missing": missing, "ended_early": ended_early, "rss": rss}


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frameworks", nargs="*", default=["django", "flask", "fastapi"])
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--port", type=int, default=8650)
    options = parser.parse_args()
    print(
        f"{options.subscribers} subscribers, {options.rate} writes/s for {options.seconds} s, "
        f"{options.database}\n\n"
        "| package | p50 (ms) | p99 (ms) | max (ms) | events missing | closed early "
        "| RSS before → with subscribers (MiB) |\n|---|---:|---:|---:|---:|---:|---|"
    )
    for framework in options.frameworks:
        server = start(framework, options.port, fresh_database(framework, options.database))
        try:
            before = server_rss_mib(server)
            result = asyncio.run(
                run(
                    framework,
                    server,
                    options.port,
                    options.subscribers,
                    options.rate,
                    options.seconds,
                )
            )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)
        delays = result["delays"]
        print(
            f"| {framework} | {statistics.median(delays) if delays else float('nan'):,.0f} "
            f"| {percentile(delays, 0.99):,.0f} | {max(delays, default=float('nan')):,.0f} "
            f"| {result['missing']:,} | {result['ended_early']} "
            f"| {before:,.0f} → {result['rss']:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
