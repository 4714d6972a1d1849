"""Flask and Django side by side under each concurrency model for `GET /books/{id}/catalog`.

.venv/bin/python bench/catalog_models.py [--rounds 3] [--seconds 3] [--stub STUB.py]
    [--frameworks django flask] [--models sync gthread64 ...]

Each candidate is a minimal app in bench/catalog_models/ doing the endpoint's work: read book 1
from SQLite with the framework's ORM (each framework's own migrations made the table), then GET
{upstream}/search.json?title=..&author=..&limit=1&fields=key,first_publish_year,isbn and answer the
record. The models, one worker process each (MODELS below): gunicorn sync; gthread with 64 and 256
threads; stock gevent (the app in each connection's greenlet); gevent with the app run one request
at a time per worker (deploy/gunicorn.conf.py as of IN_TURN_COMMIT); and the framework's `async
def` view (Flask under gthread, 256 threads; Django under uvicorn, ASGI, ORM via aget).

As bench/worker_cost.py does: every server on CPU 0 and wrk on CPU 1 (taskset), all servers started
at once and loaded in turn, --rounds interleaved rounds of --seconds after a 1 s warm-up, medians.
The upstream stubs (tests/catalog_stub.py, or --stub) run on CPU 1 too, one per delay: 50 ms and
200 ms for the loads (64 and 256 connections), 5 s for the memory test, which opens 1,000
connections that each send one request and reads the server's RSS while they all wait. The app
picks the stub by `?upstream=<delay in ms>`. Database connections are the open descriptors of the
SQLite file in the server's processes: the most seen during the loads (sampled every 0.25 s) and
during the memory test. Prints markdown tables; loopback only, every loop bounded.
"""

import argparse
import asyncio
import dataclasses
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from databases import Databases, prepare
from run import BIN, ROOT, Bench, Scenario, Server, Settings, Target, port_is_free
from serving import HOST, rss_kb, server_pids, stop

APPS = ROOT / "bench" / "catalog_models"
# The last commit whose deploy/gunicorn.conf.py runs the app one request at a time per worker.
IN_TURN_COMMIT = "767ee8a"
DELAYS_MS = (50, 200)
CONNECTIONS = (64, 256)
HOLD_DELAY_MS = 5000
HOLD_REQUESTS = 1000
STUB_PORTS = range(9600, 9700)
DRAIN_TIMEOUT_S = 120  # a queueing model works off the requests a load left behind
SAMPLE_EVERY_S = 0.25
GUNICORN = f"exec {BIN / 'gunicorn'} --no-control-socket --bind {HOST}:$PORT --workers 1"
UVICORN = f"exec {BIN / 'uvicorn'} --host {HOST} --port $PORT --no-access-log --log-level warning"


@dataclass(frozen=True, eq=False)
class Model:
    """One way to serve the endpoint: its server line per framework, and what it takes."""

    key: str
    label: str
    lines: dict[str, str]  # framework -> shell line (after `exec`), with $PORT
    needs: str


def gunicorn(options: str, async_view: bool = False) -> dict[str, str]:
    """The gunicorn line for each framework's WSGI app (the async view's app when asked)."""
    flask = "flask_catalog:async_app" if async_view else "flask_catalog:app"
    return {
        "flask": f"{GUNICORN} {options} {flask}",
        "django": f"{GUNICORN} {options} django_catalog.wsgi",
    }


MODELS = [
    Model("sync", "gunicorn sync", gunicorn(""), "nothing (today's serve line less --config)"),
    Model(
        "gthread64",
        "gthread, 64 threads",
        gunicorn("-k gthread --threads 64"),
        "`--threads 64` on the serve line",
    ),
    Model(
        "gthread256",
        "gthread, 256 threads",
        gunicorn("-k gthread --threads 256"),
        "`--threads 256` on the serve line",
    ),
    Model(
        "gevent",
        "gevent, app per greenlet (stock)",
        gunicorn("-k gevent"),
        "gevent (a dependency already); `-k gevent`, or today's config less its load_wsgi",
    ),
    Model(
        "in_turn",
        "gevent, app one at a time (today's config)",
        gunicorn("--config {in_turn_config}"),
        "today's deploy/gunicorn.conf.py: its load_wsgi queue (23 lines of code, 2 imports)",
    ),
    Model(
        "async",
        "async view",
        {
            "flask": gunicorn("-k gthread --threads 256", async_view=True)["flask"],
            "django": f"{UVICORN} django_catalog.asgi:application",
        },
        "Flask: flask[async] (asgiref), `async def`/`await`, an AsyncClient per request (one"
        " loop per call); Django: uvicorn, asgi.py, a plain async view (DRF has none) with aget,"
        " an AsyncClient per worker",
    ),
]
MODEL_KEYS = [model.key for model in MODELS]


@dataclass
class Candidate:
    """A framework under a model: its server and what was measured."""

    framework: str
    model: Model
    server: Server | None = None
    runs: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    db_peak_load: int = 0
    hold: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.framework}-{self.model.key}"


# Stubs -------------------------------------------------------------------------------------------


def stub_command(stub: Path | None) -> list[str]:
    """The stub's command line: tests/catalog_stub.py when it exists, else --stub."""
    if stub is not None:
        return [str(BIN / "python"), str(stub)]
    if (ROOT / "tests" / "catalog_stub.py").exists():
        return [str(BIN / "python"), "-m", "tests.catalog_stub"]
    raise SystemExit("no tests/catalog_stub.py yet: give a stub with --stub PATH")


def start_stubs(
    command: list[str], work: Path
) -> tuple[dict[int, str], list[subprocess.Popen[bytes]]]:
    """One stub per delay on the load CPU; their base URLs by delay in ms, once each is healthy."""
    urls: dict[int, str] = {}
    processes: list[subprocess.Popen[bytes]] = []
    ports = (port for port in STUB_PORTS if port_is_free(port))
    try:
        for delay_ms in (*DELAYS_MS, HOLD_DELAY_MS):
            port = next(ports)
            log = (work / f"stub-{delay_ms}.log").open("w")
            launch = ["taskset", "-c", "1", *command, "--port", str(port)]
            processes.append(
                subprocess.Popen(
                    [*launch, "--delay", str(delay_ms / 1000)],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            urls[delay_ms] = f"http://{HOST}:{port}"
            wait_healthy(f"{urls[delay_ms]}/_stub/health", processes[-1])
    except BaseException:
        for process in processes:
            stop(process)
        raise
    return urls, processes


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """Wait (with a deadline) for a 200 from url."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the stub exited")
        try:
            if httpx2.get(url, timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url}: no 200 within {timeout_s} s")


# Servers -----------------------------------------------------------------------------------------


def start(bench: Bench, candidate: Candidate, url: str, upstreams: str, config: Path) -> Server:
    """The candidate's server on CPU 0 (bench.start), serving the catalog apps' folder."""
    line = candidate.model.lines[candidate.framework].format(in_turn_config=config)
    target = Target(
        candidate.name,
        "catalog",
        candidate.framework,
        candidate.framework,
        folder=APPS,
        ready_path="/health",
        env=(("CATALOG_UPSTREAMS", upstreams),),
        command=("sh", "-c", line),
    )
    return bench.start(target, 1, "sqlite", url)


def check_answer(server: Server) -> None:
    """One request: the record the stub's answer gives."""
    answer = httpx2.get(f"http://{HOST}:{server.port}/books/1/catalog?upstream=50", timeout=10)
    good = answer.status_code == 200 and answer.json().get("first_publish_year") == 1965
    if not good or not str(answer.json().get("key")).startswith("/works/"):
        raise RuntimeError(f"{server.target.name}: {answer.status_code} {answer.text[:300]}")


def drain(server: Server) -> None:
    """Wait until the server answers again: requests a load left queued are worked off first."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://{HOST}:{server.port}/health", timeout=5).status_code == 200:
                return
        except httpx2.TransportError:
            pass
    raise RuntimeError(f"{server.target.name}: no answer within {DRAIN_TIMEOUT_S} s after a load")


def database_connections(server: Server, database: Path) -> int:
    """Open descriptors of the SQLite file in the server's processes."""
    count = 0
    for pid in server_pids(server.process.pid):
        try:
            entries = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for entry in entries:
            try:
                count += os.readlink(entry) == str(database)
            except OSError:
                continue
    return count


@contextmanager
def peak_connections(server: Server, database: Path) -> Iterator[list[int]]:
    """Sample the server's database connections until the block ends; the most seen in [0]."""
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_EVERY_S):
            peak[0] = max(peak[0], database_connections(server, database))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join(timeout=5)
        peak[0] = max(peak[0], database_connections(server, database))


def cpu_seconds(server: Server) -> float:
    """The CPU time (user and system) the server's processes have used so far."""
    ticks = 0
    for pid in server_pids(server.process.pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: the stat file's 14th, 15th
    return ticks / os.sysconf("SC_CLK_TCK")


def threads_of(server: Server) -> int:
    """The threads of the server's processes."""
    total = 0
    for pid in server_pids(server.process.pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^Threads:\s+(\d+)", status, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total


def upstream_connections(server: Server, port: int) -> int:
    """The server's established connections to the upstream at port."""
    inodes: set[str] = set()
    for pid in server_pids(server.process.pid):
        try:
            links = [os.readlink(entry) for entry in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        inodes.update(link[8:-1] for link in links if link.startswith("socket:["))
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            count += state == "01" and int(remote.split(":")[1], 16) == port and inode in inodes
    return count


async def hold_requests(port: int, path: str, count: int, seconds: float) -> int:
    """Open count connections, send one request on each, keep them open for seconds, close.
    The number of connections that could be opened and written to."""
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    writers: list[asyncio.StreamWriter] = []

    async def one() -> None:
        _, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 10)
        writer.write(request)
        await writer.drain()
        writers.append(writer)

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    await asyncio.sleep(seconds)
    for writer in writers:
        writer.close()
    return sum(1 for result in results if not isinstance(result, BaseException))


def hold(candidate: Candidate, database: Path, stub_url: str) -> None:
    """HOLD_REQUESTS requests waiting on the 5 s upstream at once: RSS, threads, connections."""
    server = candidate.server
    assert server is not None
    stub_port = int(stub_url.rsplit(":", 1)[1])
    idle_rss = sum(rss_kb(pid) for pid in server_pids(server.process.pid))
    samples: list[dict[str, int]] = []
    path = f"/books/1/catalog?upstream={HOLD_DELAY_MS}"
    holding = 4.5  # the first answers come 5 s after their request reached the upstream

    def sample() -> None:
        time.sleep(2.5)
        for _ in range(4):
            pids = server_pids(server.process.pid)
            samples.append(
                {
                    "rss_kb": sum(rss_kb(pid) for pid in pids),
                    "threads": threads_of(server),
                    "db": database_connections(server, database),
                    "upstream": upstream_connections(server, stub_port),
                }
            )
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent = asyncio.run(hold_requests(server.port, path, HOLD_REQUESTS, holding))
    sampler.join(timeout=10)
    candidate.hold = {
        "sent": sent,
        "idle_rss_kb": idle_rss,
        **{key: max(s[key] for s in samples) for key in ("rss_kb", "threads", "db", "upstream")},
    }


# Loads -------------------------------------------------------------------------------------------


def scenario(connections: int, delay_ms: int) -> Scenario:
    path = f"/books/1/catalog?upstream={delay_ms}"
    return Scenario(f"{connections} conns, {delay_ms} ms", path, connections=connections)


def load(bench: Bench, candidates: list[Candidate], rounds: int, database: dict[str, Path]) -> None:
    """Each load on every server in turn, --rounds times after a warm-up."""
    for delay_ms in DELAYS_MS:
        for connections in CONNECTIONS:
            chosen = scenario(connections, delay_ms)
            for candidate in candidates:
                assert candidate.server is not None
                drain(candidate.server)
                bench.wrk(candidate.server, chosen, bench.settings.warmup_s)
            for round_number in range(1, rounds + 1):
                for candidate in candidates:
                    server = candidate.server
                    assert server is not None
                    drain(server)
                    cpu_before = cpu_seconds(server)
                    with peak_connections(server, database[candidate.framework]) as peak:
                        run = bench.wrk(server, chosen, bench.settings.duration_s)
                    run["cpu_ms_per_request"] = (
                        1000 * (cpu_seconds(server) - cpu_before) / max(run["requests"], 1)
                    )
                    candidate.db_peak_load = max(candidate.db_peak_load, peak[0])
                    candidate.runs.setdefault((connections, delay_ms), []).append(run)
                    errors = errors_of(run)
                    bench.say(
                        f"{chosen.name} round {round_number}: {candidate.name:<18}"
                        f" {run['requests_per_s']:6.0f} req/s, p99 {run['p99_ms']:7.0f} ms,"
                        f" {run['cpu_ms_per_request']:5.1f} CPU ms/request"
                        f"{f', errors {errors}' if errors else ''}"
                    )


def errors_of(run: dict[str, Any]) -> int:
    return int(run["unexpected_statuses"] + run["socket_error_count"])


# Report ------------------------------------------------------------------------------------------


def spread(values: list[float]) -> float:
    """(max - min) / median: how far the rounds of one figure were apart."""
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle else 0.0


def shown(line: str) -> str:
    """A server line as the table shows it: the program, its workers and what differs."""
    config = f"deploy/gunicorn.conf.py@{IN_TURN_COMMIT}"
    for said in (f"exec {BIN}/", f" --no-control-socket --bind {HOST}:$PORT", f" --host {HOST}"):
        line = line.replace(said, "")
    line = line.replace(" --port $PORT", "").format(in_turn_config=config)
    return " ".join(line.split())


def tables(candidates: list[Candidate], rounds: int, seconds: int, loads: list[str]) -> str:
    """The markdown tables: loads, memory and connections, what each model needs."""
    cells = [(c, d) for d in DELAYS_MS for c in CONNECTIONS]
    head = " | ".join(f"{c} conns, {d} ms (ceiling {c * 1000 // d})" for c, d in cells)
    lines = [
        f"req/s, median of {rounds} interleaved rounds of {seconds} s (p99 ms);"
        " errors = non-200s + socket errors/timeouts (10 s), all runs",
        "",
        f"| framework | model | {head} | errors | spread | CPU ms/request |",
        "|---|---|" + "---|" * (len(cells) + 3),
    ]
    spreads: list[float] = []
    for candidate in candidates:
        row, errors, row_spreads = [], 0, []
        for key in cells:
            runs = candidate.runs.get(key, [])
            if not runs:
                row.append("-")
                continue
            rps = [run["requests_per_s"] for run in runs]
            p99 = statistics.median(run["p99_ms"] for run in runs)
            row.append(f"{statistics.median(rps):,.0f} ({p99:,.0f})")
            errors += sum(errors_of(run) for run in runs)
            row_spreads.append(spread(rps))
        spreads += row_spreads
        worst = f"{max(row_spreads):.0%}" if row_spreads else "-"
        every = [run for runs in candidate.runs.values() for run in runs if run["requests"]]
        cpu = statistics.median(run["cpu_ms_per_request"] for run in every) if every else 0
        lines.append(
            f"| {candidate.framework} | {candidate.model.label} | {' | '.join(row)}"
            f" | {errors:,} | {worst} | {cpu:.1f} |"
        )
    if spreads:
        lines += [
            "",
            "CPU ms/request: the server's CPU time during a run over the requests it answered,"
            " median of all runs (least changed by other work on the machine).",
            f"spread = (max - min) / median of a cell's req/s over its rounds, the row's worst;"
            f" median over all cells {statistics.median(spreads):.0%}.",
        ]
    lines += [
        "",
        f"{HOLD_REQUESTS:,} requests waiting at once on a {HOLD_DELAY_MS / 1000:.0f} s upstream"
        " (the most seen in 4 samples, 2.5 to 4 s after sending):",
        "",
        "| framework | model | RSS idle → waiting (MiB) | threads | upstream requests in flight"
        " | DB connections: waiting / peak in loads |",
        "|---|---|---|---|---|---|",
    ]
    for candidate in candidates:
        hold_figures = candidate.hold
        if not hold_figures:
            continue
        lines.append(
            f"| {candidate.framework} | {candidate.model.label}"
            f" | {hold_figures['idle_rss_kb'] / 1024:.0f} → {hold_figures['rss_kb'] / 1024:.0f}"
            f" | {hold_figures['threads']} | {hold_figures['upstream']}"
            f" | {hold_figures['db']} / {candidate.db_peak_load} |"
        )
    lines += ["", "| model | server line | needs |", "|---|---|---|"]
    for model in dict.fromkeys(c.model for c in candidates):
        servers = "; ".join(
            f"{framework}: `{shown(model.lines[framework])}`"
            for framework in dict.fromkeys(c.framework for c in candidates)
        )
        lines.append(f"| {model.label} | {servers} | {model.needs} |")
    return "\n".join([*lines, "", *loads])


def bench_settings(seconds: int) -> Settings:
    """run.py's Settings: a 1 s warm-up and runs of seconds, for every load it knows of."""
    values: dict[str, Any] = {"quick": False, "runs": 1, "cold_starts": 0}
    for name in (item.name for item in dataclasses.fields(Settings)):
        if name.endswith("warmup_s"):
            values[name] = 1
        elif name.endswith("duration_s"):
            values[name] = seconds
    return Settings(**values)


def main() -> None:
    """Start every candidate, load them in turn, hold 1,000 requests on each, print the tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="0: the memory test alone")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--stub", type=Path, help="a stub script (default: tests.catalog_stub)")
    parser.add_argument("--frameworks", nargs="+", choices=("django", "flask"))
    parser.add_argument("--models", nargs="+", choices=MODEL_KEYS, default=MODEL_KEYS)
    parser.add_argument("--no-hold", action="store_true", help="skip the 1,000-request test")
    arguments = parser.parse_args()
    frameworks = arguments.frameworks or ["django", "flask"]
    settings = bench_settings(arguments.seconds)
    stub = stub_command(arguments.stub)
    candidates = [
        Candidate(framework, model)
        for model in MODELS
        if model.key in arguments.models
        for framework in frameworks
    ]
    loads = [f"load average before: {Path('/proc/loadavg').read_text().strip()}"]
    with tempfile.TemporaryDirectory(prefix="catalog-models-") as folder:
        work = Path(folder)
        config = work / "gunicorn_in_turn.conf.py"
        config.write_bytes(
            subprocess.run(
                ["git", "show", f"{IN_TURN_COMMIT}:deploy/gunicorn.conf.py"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            ).stdout
        )
        databases = Databases(work)
        bench = Bench(settings, work, databases)
        urls, stubs = start_stubs(stub, work)
        upstreams = ",".join(f"{delay}={url}" for delay, url in urls.items())
        database: dict[str, Path] = {}
        try:
            for framework in frameworks:
                url = databases.new("sqlite", f"catalog-{framework}")
                prepare(framework, url)
                database[framework] = Path(url.removeprefix("sqlite:///"))
            for candidate in candidates:
                bench.say(f"starting {candidate.name}")
                database_url = f"sqlite:///{database[candidate.framework]}"
                candidate.server = start(bench, candidate, database_url, upstreams, config)
                check_answer(candidate.server)
            if arguments.rounds:
                load(bench, candidates, arguments.rounds, database)
            for candidate in candidates:
                assert candidate.server is not None
                if not arguments.no_hold:
                    drain(candidate.server)
                    bench.say(f"holding {HOLD_REQUESTS:,} requests on {candidate.name}")
                    hold(candidate, database[candidate.framework], urls[HOLD_DELAY_MS])
                    bench.say(f"  {candidate.hold}")
                # Stopped at once: a queueing model would work off the held requests for long.
                threading.Thread(target=stop, args=(candidate.server.process,)).start()
        finally:
            for candidate in candidates:
                if candidate.server is not None:
                    stop(candidate.server.process)
            for process in stubs:
                stop(process)
    loads.append(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    print(tables(candidates, arguments.rounds, arguments.seconds, loads))


if __name__ == "__main__":
    main()
