"""make bench: load-test the three packages, the article's snippets and each server's ceiling.

Every server runs on CPU 0 and wrk on CPU 1 (taskset). The three packages start exactly as
`make serve-<framework>` starts them; the article's snippets and the raw WSGI and ASGI apps start
under the same server command lines. Raw results go to one JSON file (bench/results/bench.json).

BENCH_NOTE="..." is printed with the results (say so when other work shares the machine).
BENCH_QUICK=1 makes a smoke run of about a minute: one short run per figure instead of three, no
256-connection runs beyond the packages', no ceilings with the default workers, no cold starts.
"""

import argparse
import json
import os
import platform
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx2
from footprint import code_size, dependencies, versions

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
TOKEN = "bench-token"
SERVER_CPU, LOAD_CPU = "0", "1"
# The Makefile's default WORKERS, each server's advice: gunicorn 2 x CPUs + 1, uvicorn one per CPU.
DEFAULT_WORKERS = {"gunicorn": 2 * (os.cpu_count() or 1) + 1, "uvicorn": os.cpu_count() or 1}
SEED = json.loads((ROOT / "shared_fixtures" / "books.json").read_text(encoding="utf-8"))
LARGE_CATALOG = 1000
FRAMEWORKS = ("django", "flask", "fastapi")


@dataclass(frozen=True)
class Scenario:
    """One load: a request, the status it should get, and how many connections send it."""

    name: str
    path: str
    connections: int = 64
    expected_status: int = 200
    post: bool = False


BOOKS = Scenario("GET /books", "/books")
BOOKS_256 = Scenario("GET /books, 256 connections", "/books", connections=256)
BOOK = Scenario("GET /books/1", "/books/1")
NOT_FOUND = Scenario("GET /books/{missing id}: 404", "/books/999999999", expected_status=404)
PAGE_OF_100 = Scenario(f"GET /books?limit=100 of {LARGE_CATALOG}", "/books?limit=100&offset=0")
CREATE = Scenario("POST /books", "/books", expected_status=201, post=True)


@dataclass(frozen=True)
class Target:
    """Something to serve: one of the packages, an article snippet or a server's ceiling."""

    name: str
    kind: str  # "package", "article" or "ceiling"
    server: str  # "gunicorn" or "uvicorn"
    framework: str | None
    app: str = ""  # the server's app argument, for the article's snippets and the ceilings
    folder: Path = ROOT
    ready_path: str = "/books"


PACKAGES = [
    Target("django", "package", "gunicorn", "django", ready_path="/health"),
    Target("flask", "package", "gunicorn", "flask", ready_path="/health"),
    Target("fastapi", "package", "uvicorn", "fastapi", ready_path="/health"),
]
ARTICLE = BENCH / "article"
ARTICLES = [
    Target("article-django", "article", "gunicorn", "django", "django_article.wsgi", ARTICLE),
    Target("article-flask", "article", "gunicorn", "flask", "flask_article:app", ARTICLE),
    Target("article-fastapi", "article", "uvicorn", "fastapi", "fastapi_article:app", ARTICLE),
]
ARTICLE_DJANGO_FILES = ("models", "serializers", "views", "urls")
CEILINGS = [
    Target("wsgi-ceiling", "ceiling", "gunicorn", None, "ceiling:wsgi_app", BENCH),
    Target("asgi-ceiling", "ceiling", "uvicorn", None, "ceiling:asgi_app", BENCH),
]


@dataclass
class Settings:
    """How long each load runs, and how often."""

    quick: bool
    warmup_s: int
    duration_s: int
    runs: int
    cold_starts: int


@dataclass
class Server:
    """A running server: its process group, port and the start-up time to its first 200."""

    target: Target
    workers: int
    port: int
    process: subprocess.Popen
    first_200_s: float
    log: Path
    idle: dict = field(default_factory=dict)


class Bench:
    """Starts servers one at a time, loads them and collects the results."""

    def __init__(self, settings: Settings, work: Path) -> None:
        self.settings = settings
        self.work = work
        self.ports = iter(range(9100, 9200))
        self.started = time.monotonic()
        self.results: list[dict] = []
        self.servers: list[dict] = []
        self.features: dict[str, dict[str, int]] = {}
        self.run_id = 0

    def say(self, text: str) -> None:
        """Print progress with the time since the start."""
        print(f"[{time.monotonic() - self.started:6.1f} s] {text}", flush=True)

    # Servers ------------------------------------------------------------------------------------

    def command(self, target: Target, workers: int, port: int) -> list[str]:
        """The command line: `make serve-<framework>` for a package, else the same server line."""
        pinned = ["taskset", "-c", SERVER_CPU]
        if target.kind == "package":
            return [*pinned, "make", "--no-print-directory", f"serve-{target.framework}"]
        if target.server == "gunicorn":
            bind = f"{HOST}:{port}"
            server = [str(BIN / "gunicorn"), "--no-control-socket", target.app, "--bind", bind]
            return [*pinned, *server, "--workers", str(workers)]
        server = [str(BIN / "uvicorn"), target.app, "--host", HOST, "--port", str(port)]
        return [*pinned, *server, "--workers", str(workers)]

    def start(self, target: Target, workers: int, database: Path) -> Server:
        """Start a server and wait (with a deadline) until it answers 200."""
        port = next(port for port in self.ports if port_is_free(port))
        env = {
            **os.environ,
            "HOST": HOST,
            "PORT": str(port),
            "WORKERS": str(workers),
            "DATABASE_URL": f"sqlite:///{database}",
            "ARTICLE_DATABASE": str(database),
            "BOOKS_API_TOKEN": TOKEN,
        }
        log = self.work / f"{target.name}-{port}.log"
        began = time.monotonic()
        process = subprocess.Popen(
            self.command(target, workers, port),
            cwd=target.folder,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: make, the server and its workers
        )
        url = f"http://{HOST}:{port}{target.ready_path}"
        deadline = began + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{target.name} exited: see {log}\n{log.read_text()[-2000:]}")
            try:
                if httpx2.get(url, timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                stop(process)
                raise RuntimeError(f"{target.name} did not answer 200 on {url} within 60 s")
            time.sleep(0.02)
        first_200 = time.monotonic() - began
        # The first 200 may come from one worker while the others still start.
        wait_for_workers(process.pid, target, workers, deadline)
        return Server(target, workers, port, process, first_200, log)

    def prepare_article_database(self, target: Target, database: Path) -> None:
        """The Django snippet reads a database: create its tables and the seed."""
        if target.name != "article-django":
            return
        env = {**os.environ, "ARTICLE_DATABASE": str(database)}
        subprocess.run(
            [str(BIN / "python"), "-m", "django", "migrate", "--run-syncdb", "--verbosity", "0"],
            cwd=ARTICLE,
            env={**env, "DJANGO_SETTINGS_MODULE": "django_article.settings"},
            check=True,
        )
        with sqlite3.connect(database) as connection:
            connection.executemany(
                "INSERT INTO django_article_book (id, title, author) VALUES (?, ?, ?)",
                [(book["id"], book["title"], book["author"]) for book in SEED],
            )

    # Load ---------------------------------------------------------------------------------------

    def wrk(self, server: Server, scenario: Scenario, seconds: int) -> dict:
        """One wrk run on the load CPU; its counts, latencies and the server's RSS after it."""
        self.run_id += 1
        env = {**os.environ, "BENCH_RUN_ID": f"{os.getpid()}-{self.run_id}"}
        if scenario.post:
            env["BENCH_POST_TOKEN"] = TOKEN
        command = [
            *["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{scenario.connections}"],
            # A response slower than 10 s counts as a timeout error (wrk's default is 2 s).
            *[f"-d{seconds}s", "--timeout", "10s", "-s", str(BENCH / "wrk" / "measure.lua")],
            f"http://{HOST}:{server.port}{scenario.path}",
        ]
        output = subprocess.run(command, env=env, capture_output=True, text=True)
        if output.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {output.stderr}")
        line = next(line for line in output.stdout.splitlines() if line.startswith("BENCH_JSON"))
        raw = json.loads(line.removeprefix("BENCH_JSON "))
        seconds_measured = raw["duration_us"] / 1e6
        statuses = {int(status): count for status, count in raw["statuses"].items()}
        expected = statuses.get(scenario.expected_status, 0)
        return {
            "requests": raw["requests"],
            "requests_per_s": raw["requests"] / seconds_measured,
            "p50_ms": raw["latency_us"]["p50"] / 1000,
            "p90_ms": raw["latency_us"]["p90"] / 1000,
            "p99_ms": raw["latency_us"]["p99"] / 1000,
            "max_ms": raw["latency_us"]["max"] / 1000,
            "statuses": statuses,
            "unexpected_statuses": sum(statuses.values()) - expected,
            "socket_errors": raw["socket_errors"],
            "socket_error_count": sum(raw["socket_errors"].values()),
            "server_rss_kb": sum(rss_kb(pid) for pid in server_pids(server.process.pid)),
        }

    def measure(self, server: Server, scenario: Scenario) -> None:
        """Warm up, then the runs; record the median, min and max of each figure."""
        settings = self.settings
        self.wrk(server, scenario, settings.warmup_s)
        runs = [self.wrk(server, scenario, settings.duration_s) for _ in range(settings.runs)]
        summary = {
            key: {
                "median": statistics.median(run[key] for run in runs),
                "min": min(run[key] for run in runs),
                "max": max(run[key] for run in runs),
            }
            for key in ("requests_per_s", "p50_ms", "p90_ms", "p99_ms", "server_rss_kb")
        }
        errors = sum(run["unexpected_statuses"] + run["socket_error_count"] for run in runs)
        self.results.append(
            {
                "target": server.target.name,
                "kind": server.target.kind,
                "framework": server.target.framework,
                "server": server.target.server,
                "workers": server.workers,
                "scenario": scenario.name,
                "path": scenario.path,
                "method": "POST" if scenario.post else "GET",
                "connections": scenario.connections,
                "expected_status": scenario.expected_status,
                "errors": errors,
                "summary": summary,
                "runs": runs,
            }
        )
        rps, p99 = summary["requests_per_s"], summary["p99_ms"]
        self.say(
            f"  {scenario.name:<32} {rps['median']:8.0f} req/s"
            f" ({rps['min']:.0f} to {rps['max']:.0f}), p99 {p99['median']:6.1f} ms,"
            f" errors {errors}"
        )

    # Passes -------------------------------------------------------------------------------------

    def serve(self, target: Target, workers: int, scenarios: list[Scenario]) -> None:
        """Start one server on its own database, run the scenarios, stop it."""
        database = self.work / f"{target.name}-{workers}.sqlite3"
        if target.kind == "article":
            self.prepare_article_database(target, database)
        self.say(f"{target.name}, {workers} worker(s)")
        server = self.start(target, workers, database)
        try:
            self.record_server(server)
            for scenario in scenarios:
                if scenario is PAGE_OF_100:
                    self.grow_catalog(server, database)
                self.measure(server, scenario)
        finally:
            stop(server.process)

    def record_server(self, server: Server) -> None:
        """Idle RSS per worker, the first start's time to 200, and which extra pages it serves."""
        workers = worker_pids(server.process.pid)
        self.servers.append(
            {
                "target": server.target.name,
                "workers": server.workers,
                "first_200_s": server.first_200_s,
                "idle_rss_per_worker_kb": statistics.mean(rss_kb(pid) for pid in workers),
                "worker_processes": len(workers),
            }
        )
        if server.target.kind == "package":
            self.features[server.target.name] = probe_features(server.port)

    def grow_catalog(self, server: Server, database: Path) -> None:
        """Add books with SQL until the catalog holds LARGE_CATALOG; check the count by the API."""
        with sqlite3.connect(database) as connection:
            table = book_table(connection)
            (last_id,) = connection.execute(f"SELECT max(id) FROM {table}").fetchone()
            connection.executemany(
                f"INSERT INTO {table} (id, title, author) VALUES (?, ?, ?)",
                [
                    (number, f"Catalog book {number}", f"Author {number % 97}")
                    for number in range(last_id + 1, LARGE_CATALOG + 1)
                ],
            )
        books = httpx2.get(f"http://{HOST}:{server.port}/books?limit=1", timeout=30)
        total = int(books.headers["X-Total-Count"])
        if total != LARGE_CATALOG:
            raise RuntimeError(f"{server.target.name} holds {total} books, not {LARGE_CATALOG}")

    def cold_starts(self, target: Target) -> None:
        """Start the package again on its prepared database: process start to first 200."""
        database = self.work / f"{target.name}-cold.sqlite3"
        self.start_and_stop(target, database)  # creates and seeds the database
        times = [self.start_and_stop(target, database) for _ in range(self.settings.cold_starts)]
        self.servers.append({"target": target.name, "workers": 1, "cold_start_s": times})
        self.say(f"{target.name}: cold start to first 200: {statistics.median(times):.2f} s")

    def start_and_stop(self, target: Target, database: Path) -> float:
        """Start one worker, fetch GET /books once it is up, stop it; seconds to that 200."""
        server = self.start(target, 1, database)
        stop(server.process)
        return server.first_200_s

    def run(self, quick: bool) -> None:
        """Every pass, in an order that puts the comparable figures close together in time."""
        package_scenarios = [BOOKS, BOOK, NOT_FOUND, BOOKS_256, PAGE_OF_100, CREATE]
        for target in PACKAGES:
            self.serve(target, 1, package_scenarios)
        for target in ARTICLES + CEILINGS:
            self.serve(target, 1, [BOOKS] if quick else [BOOKS, BOOKS_256])
        for target in PACKAGES if quick else PACKAGES + CEILINGS:
            workers = DEFAULT_WORKERS[target.server]
            self.serve(target, workers, [BOOKS] if quick else [BOOKS, BOOKS_256])
        if not quick:
            for target in PACKAGES:
                self.cold_starts(target)


# Processes ----------------------------------------------------------------------------------------


def book_table(connection: sqlite3.Connection) -> str:
    """The name of the one table with id, title and author columns (each framework names it)."""
    tables = [
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    found = [
        table
        for table in tables
        if {"id", "title", "author"}
        <= {column[1] for column in connection.execute(f"PRAGMA table_info({table})")}
    ]
    if len(found) != 1:
        raise RuntimeError(f"no single table of books among {tables}")
    return found[0]


def children(pid: int) -> list[int]:
    """The direct children of a process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def server_pids(root: int) -> list[int]:
    """The server's processes: the root's descendants that are not make or a shell."""
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        pending.extend(children(pid))
        if process_name(pid) not in {"make", "sh", "bash", "taskset"}:
            found.append(pid)
    return found


def worker_pids(root: int) -> list[int]:
    """The processes that serve requests: server processes without children of their own, less
    the resource tracker that multiprocessing starts beside uvicorn's workers."""
    return [
        pid
        for pid in server_pids(root)
        if not children(pid) and b"multiprocessing.resource_tracker" not in command_line(pid)
    ]


def command_line(pid: int) -> bytes:
    """The process's command line, or b"" once it has gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_for_workers(root: int, target: Target, workers: int, deadline: float) -> None:
    """Wait until every worker process has started (and shown its RSS)."""
    wanted = workers if workers > 1 or target.server == "gunicorn" else 1
    while len(worker_pids(root)) < wanted or any(rss_kb(pid) == 0 for pid in worker_pids(root)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{target.name}: fewer than {wanted} workers within 60 s")
        time.sleep(0.05)
    time.sleep(0.5)  # a bench script, not a test: let just-forked workers finish importing


def port_is_free(port: int) -> bool:
    """Whether nothing listens on this port (a server left over from an earlier run might)."""
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) != 0


def process_name(pid: int) -> str:
    """The process's short name, or "" once it has gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def rss_kb(pid: int) -> int:
    """The process's resident set size in KiB (0 if it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def stop(process: subprocess.Popen) -> None:
    """Stop the server's whole process group, gracefully and then not."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def probe_features(port: int) -> dict[str, int]:
    """The status of the pages the article counts as features: API docs and an admin."""
    paths = ["/docs", "/redoc", "/openapi.json", "/admin/"]
    with httpx2.Client(base_url=f"http://{HOST}:{port}", timeout=10) as client:
        return {path: client.get(path).status_code for path in paths}


# Machine ------------------------------------------------------------------------------------------


def machine() -> dict:
    """The machine and the software the numbers were taken on."""
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk_version[1] if len(wrk_version) > 1 else "unknown",
    }


def main() -> None:
    """Run the benchmark and write the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "bench.json")
    output = parser.parse_args().output
    quick = os.environ.get("BENCH_QUICK", "") not in {"", "0"}
    settings = (
        Settings(quick=True, warmup_s=1, duration_s=1, runs=1, cold_starts=0)
        if quick
        else Settings(quick=False, warmup_s=2, duration_s=5, runs=3, cold_starts=3)
    )
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        bench = Bench(settings, Path(work))
        bench.say(f"{'Quick' if quick else 'Full'} run; servers on CPU 0, wrk on CPU 1")
        bench.run(quick)
    results = {
        "started": started.isoformat(timespec="seconds"),
        # What the numbers cannot show, e.g. "Other work ran on the machine meanwhile."
        "note": os.environ.get("BENCH_NOTE", ""),
        "duration_s": round(time.monotonic() - bench.started, 1),
        "settings": settings.__dict__,
        "machine": machine(),
        "versions": versions(),
        "default_workers": DEFAULT_WORKERS,
        "results": bench.results,
        "servers": bench.servers,
        "features": bench.features,
        "code": {
            **{name: code_size(ROOT / f"{name}_books") for name in FRAMEWORKS},
            # What the article shows of Django: the model, serializer, view and URL.
            "article-django": code_size(
                *(ARTICLE / "django_article" / f"{name}.py" for name in ARTICLE_DJANGO_FILES)
            ),
            "article-flask": code_size(ARTICLE / "flask_article.py"),
            "article-fastapi": code_size(ARTICLE / "fastapi_article.py"),
        },
        "dependencies": dependencies(ROOT),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    bench.say(f"Wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")


if __name__ == "__main__":
    sys.exit(main())
