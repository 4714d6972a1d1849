"""make bench: load-test the three packages, the same work without the contract, the article's
snippets and each server's ceiling, on SQLite and on PostgreSQL.

Every server runs on CPU 0 and wrk on CPU 1 (taskset). The three packages start exactly as
`make serve-<framework>` starts them; every other Python app starts under the command line of its
framework's serve target (serving.py reads it from the Makefile), so each row runs the same server
and worker class. Each server gets its own database: a SQLite file, or a throwaway PostgreSQL
database on TEST_DATABASE_URL's server (databases.py). Raw results go to one JSON file
(bench/results/bench.json).

The rows beside the packages:
- same work (samework/): per framework a plain app doing the package's two queries of `GET /books`
  (the count and the page) with the same ORM, and FastAPI in the full-stack template's style;
- baseline: the FastAPI package as of BASELINE_COMMIT, taken from git into a scratch folder;
- django-pool: the Django package on Django's psycopg pool in place of CONN_MAX_AGE (PostgreSQL);
- the article's snippets (article/) and raw WSGI and ASGI apps (ceiling.py), on SQLite only;
- peers (peers/): the same `GET /books` in Go (net/http, database/sql) and in Node.js (Fastify and
  Express), one process each, built by `make peers`.

`GET /books/{id}/catalog` waits on an upstream: the catalog stub (tests/catalog_stub.py, through
upstream.py), on the load CPU beside wrk, answering after a delay set per scenario; every server
gets its CATALOG_URL. Beside the packages: the same work without the contract in each framework's
plain sync form (gunicorn's sync workers, a `def` route) and in its gevent or async form
(samework/), and in Go and Node.js; and the stub alone under wrk (the most a server can get through
it). On SWEEP_DATABASE the FastAPI package, its same-work async app, Go and Fastify are swept over
the upstream's delay (SWEEP_DELAYS_MS); then each server, one worker, is sampled with
HELD_REQUESTS requests waiting on the upstream at once (hold_requests()).

A server that does not answer a request within STALL_TIMEOUT_S after a load is reported as stalled
and stopped; its remaining loads are not run.

BENCH_NOTE="..." is printed with the results (say so when other work shares the machine).
BENCH_QUICK=1 makes a smoke run of about four minutes on a quiet 2-core machine: one 1 s run per
figure, no warm-up; `GET /books` alone beyond the packages' one-worker runs; on PostgreSQL, only
the package scenarios that differ there; the default workers for the packages on SQLite only; no
django-pool rows, no same work with the default workers, no cold starts; the catalog at 64
connections only, swept at 200 ms alone, and the memory of a few servers with fewer requests.
`--only NAME,...` and `--database sqlite|postgresql` run a part of the plan.
"""

import argparse
import dataclasses
import json
import os
import platform
import shlex
import shutil
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
from databases import DATABASES, Databases, grow_catalog, prepare
from footprint import code_size, dependencies, versions
from serving import (
    HOST,
    MACHINE_CPUS,
    rss_kb,
    serve_command,
    server_name,
    server_pids,
    stop,
    wait_for_workers,
    with_app,
    worker_class,
    worker_pids,
    workers_of,
)
from upstream import SEARCH_PATH, Upstream, allow_open_files, hold

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = ROOT / ".venv" / "bin"
TOKEN = "bench-token"
SERVER_CPU, LOAD_CPU = "0", "1"
SEED = json.loads((ROOT / "shared_fixtures" / "books.json").read_text(encoding="utf-8"))
LARGE_CATALOG = 1000
FRAMEWORKS = ("django", "flask", "fastapi")
# The FastAPI package before `async def`: the sync handlers in the thread pool.
BASELINE_COMMIT = "1ebf284"
STALL_TIMEOUT_S = 10
START_TIMEOUT_S = 180
PORTS = range(9400, 9500)
STALLED = f", STALLED: no answer within {STALL_TIMEOUT_S} s after the load"


@dataclass(frozen=True)
class Scenario:
    """One load: a request, the status it should get, and how many connections send it; for the
    catalog, how long the upstream takes to answer."""

    name: str
    path: str
    connections: int = 64
    expected_status: int = 200
    post: bool = False
    upstream_delay_ms: int | None = None


BOOKS = Scenario("GET /books", "/books")
BOOKS_256 = Scenario("GET /books, 256 connections", "/books", connections=256)
BOOK = Scenario("GET /books/1", "/books/1")
NOT_FOUND = Scenario("GET /books/{missing id}: 404", "/books/999999999", expected_status=404)
PAGE_OF_100 = Scenario(f"GET /books?limit=100 of {LARGE_CATALOG}", "/books?limit=100&offset=0")
CREATE = Scenario("POST /books", "/books", expected_status=201, post=True)
PACKAGE_SCENARIOS = [BOOKS, BOOK, NOT_FOUND, BOOKS_256, PAGE_OF_100, CREATE]
POSTGRESQL_SMOKE = [BOOKS, BOOKS_256, PAGE_OF_100, CREATE]

CATALOG_PATH = "/books/1/catalog"


def catalog(delay_ms: int, connections: int = 64) -> Scenario:
    """GET /books/1/catalog with the upstream answering after delay_ms."""
    more = f", {connections} connections" if connections != 64 else ""
    name = f"GET /books/1/catalog, upstream {delay_ms} ms{more}"
    return Scenario(name, CATALOG_PATH, connections, upstream_delay_ms=delay_ms)


CATALOG_DELAY_MS = 50
CATALOG = [catalog(CATALOG_DELAY_MS), catalog(CATALOG_DELAY_MS, 256)]
# The article's "on par" claim, swept: the delays beyond CATALOG_DELAY_MS, on one database.
SWEEP_DELAYS_MS = (5, CATALOG_DELAY_MS, 200)
SWEEP_DATABASE = "sqlite"
SWEEP = [catalog(delay, connections) for delay in SWEEP_DELAYS_MS for connections in (64, 256)]
SWEEP_MORE = [scenario for scenario in SWEEP if scenario not in CATALOG]
ON_PAR_CHECK = catalog(200)  # where the packages are held to Go's req/s
# Memory: this many requests waiting on an upstream this slow, one worker each, on SQLite; the
# server sampled until a second before the first answers (a slow server may take seconds to get
# every request to the upstream).
HELD_REQUESTS, HELD_DELAY_S, HELD_SAMPLE_S = 1000, 6.0, 5.0
# The packages give up on the upstream after CATALOG_TIMEOUT (2 s by default): more than the delay.
HELD_ENV = (("CATALOG_TIMEOUT", "30"),)


@dataclass(frozen=True)
class Target:
    """Something to serve under the server command line of a framework's serve target."""

    name: str
    # "package", "variant" (of a package), "baseline", "same-work", "article", "ceiling", "peer",
    # "upstream" (the catalog stub alone)
    kind: str
    framework: str | None
    serves_as: str  # the serve target whose command line runs it
    app: str = ""  # in place of the package's app argument; "" for the package itself
    folder: Path = ROOT
    ready_path: str = "/books"
    databases: tuple[str, ...] = DATABASES
    prepared_by: str | None = None  # the framework whose migrations make its database
    env: tuple[tuple[str, str], ...] = ()  # more environment for the server
    config: bool = True  # False: gunicorn without the serve line's --config (its sync workers)
    command: tuple[str, ...] = ()  # a command line of its own, not a serve target's

    @property
    def via_make(self) -> bool:
        """Whether it starts as `make serve-<framework>`, its own prepare step included."""
        return self.kind in {"package", "variant"}


PACKAGES = [
    Target(name, "package", name, name, ready_path="/health", prepared_by=name)
    for name in FRAMEWORKS
]
# Filled by check_baseline() and removed at the end of the run.
SCRATCH = Path(tempfile.gettempdir()) / f"bench-baseline-{os.getpid()}"
BASELINE = Target(
    "fastapi-baseline",
    "baseline",
    "fastapi",
    "fastapi",
    folder=SCRATCH,
    ready_path="/health",
    prepared_by="fastapi",
)
SAMEWORK = BENCH / "samework"
SAME_WORK = [
    Target(name, "same-work", framework, framework, app, SAMEWORK, prepared_by=framework)
    for name, framework, app in [
        ("samework-django", "django", "django_samework.wsgi"),
        ("samework-flask", "flask", "flask_samework:app"),
        ("samework-fastapi", "fastapi", "fastapi_samework:app"),
        ("template-fastapi", "fastapi", "fastapi_template:app"),
    ]
]
ARTICLE = BENCH / "article"
ARTICLES = [
    Target(f"article-{name}", "article", name, name, app, ARTICLE, databases=("sqlite",))
    for name, app in [
        ("django", "django_article.wsgi"),
        ("flask", "flask_article:app"),
        ("fastapi", "fastapi_article:app"),
    ]
]
ARTICLE_DJANGO_FILES = ("models", "serializers", "views", "urls")
# The raw apps under Flask's and FastAPI's server command lines.
CEILINGS = [
    Target(name, "ceiling", None, serves_as, app, BENCH, databases=("sqlite",))
    for name, serves_as, app in [
        ("wsgi-ceiling", "flask", "ceiling:wsgi_app"),
        ("asgi-ceiling", "fastapi", "ceiling:asgi_app"),
    ]
]
# The Django package on Django's psycopg pool instead of CONN_MAX_AGE (docs/profiles.md).
DJANGO_POOL = Target(
    "django-pool",
    "variant",
    "django",
    "django",
    ready_path="/health",
    databases=("postgresql",),
    prepared_by="django",
    env=(("DJANGO_SETTINGS_MODULE", "django_pool_settings"), ("PYTHONPATH", str(SAMEWORK))),
)
# The same catalog work in the other forms of each framework: Django's and Flask's apps above under
# gunicorn's sync workers (the serve line's config makes them gevent workers), FastAPI with a sync
# `def` route, and FastAPI's async app with aiohttp in place of httpx2.
CATALOG_FORMS = [
    Target(
        "samework-django-sync",
        "same-work",
        "django",
        "django",
        "django_samework.wsgi",
        SAMEWORK,
        ready_path=CATALOG_PATH,
        prepared_by="django",
        config=False,
    ),
    Target(
        "samework-flask-sync",
        "same-work",
        "flask",
        "flask",
        "flask_samework:app",
        SAMEWORK,
        ready_path=CATALOG_PATH,
        prepared_by="flask",
        config=False,
    ),
    Target(
        "samework-fastapi-sync",
        "same-work",
        "fastapi",
        "fastapi",
        "fastapi_sync:app",
        SAMEWORK,
        ready_path=CATALOG_PATH,
        prepared_by="fastapi",
    ),
    Target(
        "samework-fastapi-aiohttp",
        "same-work",
        "fastapi",
        "fastapi",
        "fastapi_samework:app",
        SAMEWORK,
        prepared_by="fastapi",
        env=(("CATALOG_CLIENT", "aiohttp"),),
    ),
]
# The same-work apps that serve the catalog too: their gevent (Django, Flask) or async forms.
CATALOG_SAME_WORK = [target for target in SAME_WORK if target.name != "template-fastapi"]
# Go and Node.js doing the same work, one process each, on the FastAPI package's table.
PEERS_DIR = BENCH / "peers"
PEERS = [
    Target(
        "go-nethttp",
        "peer",
        None,
        "go",
        folder=PEERS_DIR / "go",
        prepared_by="fastapi",
        command=(str(PEERS_DIR / "go" / "books-go"),),
        env=(("GOMAXPROCS", "1"),),
    ),
    *[
        Target(
            f"node-{name}",
            "peer",
            None,
            "node",
            folder=PEERS_DIR / "node",
            prepared_by="fastapi",
            command=("node", f"{name}.js"),
        )
        for name in ("fastify", "express")
    ],
]
# The catalog stub itself under wrk: the most any server can get through it.
UPSTREAM = Target(
    "catalog-upstream", "upstream", None, "stub", ready_path="/_stub/health", databases=("sqlite",)
)
# Swept over the upstream's delay on SWEEP_DATABASE (the stub alone is, too).
SWEPT = {"fastapi", "samework-fastapi", "go-nethttp", "node-fastify"}
TARGETS = [
    *PACKAGES,
    DJANGO_POOL,
    BASELINE,
    *SAME_WORK,
    *CATALOG_FORMS,
    *ARTICLES,
    *CEILINGS,
    *PEERS,
    UPSTREAM,
]
BY_NAME = {target.name: target for target in TARGETS}


@dataclass
class Settings:
    """How long each load runs, and how often."""

    quick: bool
    warmup_s: int
    duration_s: int
    runs: int
    cold_starts: int
    # The catalog's loads: shorter, as an I/O-bound server's rate is set by its concurrency and
    # the delay, and there are many of them (88 in a full run: about 9 minutes). No warm-up: the
    # median of 3 runs leaves out a cold first one.
    catalog_warmup_s: int
    catalog_duration_s: int


@dataclass
class Server:
    """A running server: its process group, port, database and start-up time to its first 200."""

    target: Target
    workers: int | None  # None: the serve target's default
    port: int
    database: str
    url: str
    command: list[str]
    process: subprocess.Popen
    first_200_s: float
    log: Path
    idle: dict = field(default_factory=dict)

    @property
    def worker_count(self) -> int:
        return workers_of(self.command)

    def describe(self) -> dict:
        """The server, its worker class and command line, as the results record them."""
        log = self.log.read_text(errors="replace")
        return {
            "server": server_name(self.command),
            "worker_class": worker_class(self.command, log),
            "command": shlex.join([Path(self.command[0]).name, *self.command[1:]]),
        }


class Bench:
    """Starts servers one at a time, loads them and collects the results."""

    def __init__(self, settings: Settings, work: Path, databases: Databases) -> None:
        self.settings = settings
        self.work = work
        self.databases = databases
        self.started = time.monotonic()
        self.results: list[dict] = []
        self.servers: list[dict] = []
        self.features: dict[str, dict[str, int]] = {}
        self.not_measured: dict[str, str] = {}
        self.memory: list[dict] = []
        self.upstream: Upstream | None = None
        self.run_id = 0

    def say(self, text: str) -> None:
        """Print progress with the time since the start."""
        print(f"[{time.monotonic() - self.started:6.1f} s] {text}", flush=True)

    # Servers ------------------------------------------------------------------------------------

    def start(
        self,
        target: Target,
        workers: int | None,
        database: str,
        url: str,
        more_env: tuple[tuple[str, str], ...] = (),
    ) -> Server:
        """Start a server on a prepared database and wait (with a deadline) until it answers 200."""
        port = next(port for port in PORTS if port_is_free(port))
        command = list(target.command) or serve_command(target.serves_as, port, workers)
        if not target.config:
            at = command.index("--config")
            command = command[:at] + command[at + 2 :]
        if target.app:
            command = with_app(command, target.app)
        env = {
            **os.environ,
            "HOST": HOST,
            "PORT": str(port),
            "DATABASE_URL": url,
            "ARTICLE_DATABASE": url.removeprefix("sqlite:///"),
            "BOOKS_API_TOKEN": TOKEN,
        }
        env.pop("WORKERS", None)
        if workers is not None:
            env["WORKERS"] = str(workers)
        if self.upstream:
            env["CATALOG_URL"] = self.upstream.url
        env.update(target.env + more_env)
        pinned = ["taskset", "-c", SERVER_CPU]
        if target.via_make:
            serve = [f"CPUS={MACHINE_CPUS}", f"serve-{target.framework}"]
            launch = [*pinned, "make", "--no-print-directory", *serve]
        else:
            launch = [*pinned, *command]
            # Its modules before the installed package's; then the repository's, for the modules
            # the serve line names in deploy/ (uvicorn's --http protocol).
            env["PYTHONPATH"] = os.pathsep.join([str(target.folder), str(ROOT)])
        log = self.work / f"{target.name}-{database}-{port}.log"
        began = time.monotonic()
        process = subprocess.Popen(
            launch,
            cwd=target.folder,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: make, the server and its workers
        )
        try:
            first_200 = wait_until_serving(target, process, port, command, log, began)
        except BaseException:
            stop(process)  # a server that failed to start leaves no process behind
            raise
        return Server(target, workers, port, database, url, command, process, first_200, log)

    def new_database(self, target: Target, database: str) -> str:
        """A new database for the target, migrated and seeded as its framework does it."""
        url = self.databases.new(database, target.name)
        if target.prepared_by and not target.via_make:  # make serve-<framework> prepares its own
            # The baseline with its own migrations; the same-work apps on their package's tables.
            code = target.folder if target is BASELINE else ROOT
            prepare(target.prepared_by, url, code)
        if target.name == "article-django":
            prepare_article_database(url.removeprefix("sqlite:///"))
        return url

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
        output = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
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

    def answers(self, server: Server) -> bool:
        """Whether the server still answers one request in time once the load has stopped."""
        try:
            url = f"http://{HOST}:{server.port}{server.target.ready_path}"
            return httpx2.get(url, timeout=STALL_TIMEOUT_S).status_code == 200
        except httpx2.TransportError:
            return False

    def measure(self, server: Server, scenario: Scenario) -> bool:
        """Warm up, then the runs; record the median, min and max of each figure. False when the
        server stalled: it answered no request within STALL_TIMEOUT_S after a run."""
        settings = self.settings
        warmup_s, duration_s = settings.warmup_s, settings.duration_s
        if scenario.upstream_delay_ms is not None:
            assert self.upstream
            self.upstream.set_delay(scenario.upstream_delay_ms / 1000)
            warmup_s, duration_s = settings.catalog_warmup_s, settings.catalog_duration_s
        if warmup_s:
            self.wrk(server, scenario, warmup_s)
            # The warm-up's last requests may still queue for a sync worker (a catalog request
            # holds it for the upstream's delay): the runs start once they are served.
            self.answers(server)
        runs, stalled = [], False
        for _ in range(settings.runs):
            runs.append(self.wrk(server, scenario, duration_s))
            if not self.answers(server):
                stalled = True
                break
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
                "database": server.database,
                **server.describe(),
                "workers": server.worker_count,
                "default_workers": server.workers is None,
                "scenario": scenario.name,
                "path": scenario.path,
                "method": "POST" if scenario.post else "GET",
                "connections": scenario.connections,
                "upstream_delay_ms": scenario.upstream_delay_ms,
                "expected_status": scenario.expected_status,
                "errors": errors,
                "stalled": stalled,
                "summary": summary,
                "runs": runs,
            }
        )
        rps, p99 = summary["requests_per_s"], summary["p99_ms"]
        self.say(
            f"  {scenario.name:<32} {rps['median']:8.0f} req/s"
            f" ({rps['min']:.0f} to {rps['max']:.0f}), p99 {p99['median']:6.1f} ms,"
            f" errors {errors}{STALLED if stalled else ''}"
        )
        return not stalled

    # Passes -------------------------------------------------------------------------------------

    def serve(
        self, target: Target, database: str, workers: int | None, scenarios: list[Scenario]
    ) -> None:
        """Start one server on its own database, run the scenarios, stop it."""
        if target.name in self.not_measured:
            return
        url = self.new_database(target, database)
        shown = "default" if workers is None else workers
        self.say(f"{target.name} on {database}, {shown} worker(s)")
        try:
            server = self.start(target, workers, database, url)
            answering = True
            try:
                self.record_server(server)
                for scenario in scenarios:
                    if scenario is PAGE_OF_100:
                        self.grow_catalog(server)
                    answering = self.measure(server, scenario)
                    if not answering:
                        self.say(f"  {target.name} stalled: its other loads are not run")
                        break
            finally:
                # A stalled server may never finish its requests: no graceful stop for it.
                stop(server.process, grace_s=15 if answering else 1)
        finally:
            self.databases.drop(url)

    def record_server(self, server: Server) -> None:
        """Idle RSS per worker, the first start's time to 200, and which extra pages it serves."""
        workers = worker_pids(server.process.pid)
        self.servers.append(
            {
                "target": server.target.name,
                "database": server.database,
                "workers": server.worker_count,
                "default_workers": server.workers is None,
                **server.describe(),
                "first_200_s": server.first_200_s,
                "idle_rss_per_worker_kb": statistics.mean(rss_kb(pid) for pid in workers),
                "worker_processes": len(workers),
            }
        )
        if server.target.kind == "package":
            self.features[server.target.name] = probe_features(server.port)

    def grow_catalog(self, server: Server) -> None:
        """Grow the catalog to LARGE_CATALOG books in SQL; check the count by the API."""
        grow_catalog(server.url, server.target.framework, LARGE_CATALOG)
        books = httpx2.get(f"http://{HOST}:{server.port}/books?limit=1", timeout=30)
        total = int(books.headers["X-Total-Count"])
        if total != LARGE_CATALOG:
            raise RuntimeError(f"{server.target.name} holds {total} books, not {LARGE_CATALOG}")

    def cold_starts(self, target: Target) -> None:
        """Start the package again on its prepared database: process start to first 200."""
        url = self.new_database(target, "sqlite")
        self.start_and_stop(target, url)  # migrates and seeds the database
        times = [self.start_and_stop(target, url) for _ in range(self.settings.cold_starts)]
        self.servers.append(
            {"target": target.name, "database": "sqlite", "workers": 1, "cold_start_s": times}
        )
        self.say(f"{target.name}: cold start to first 200: {statistics.median(times):.2f} s")

    def start_and_stop(self, target: Target, url: str) -> float:
        """Start one worker, fetch GET /books once it is up, stop it; seconds to that 200."""
        server = self.start(target, 1, "sqlite", url)
        stop(server.process)
        return server.first_200_s

    def check_peers(self) -> None:
        """Say which peers are not measured because `make peers` has not built them."""
        for target in PEERS:
            built = target.folder / ("books-go" if target.serves_as == "go" else "node_modules")
            if not built.exists():
                self.not_measured[target.name] = f"not built: run make peers ({built} is missing)"
                self.say(f"{target.name} not measured: {self.not_measured[target.name]}")

    def check_baseline(self) -> None:
        """Put the FastAPI package of BASELINE_COMMIT in SCRATCH, or say why it is not measured."""
        archive = subprocess.run(
            # The package, and the seed its migrations read.
            [
                "git",
                "-C",
                str(ROOT),
                "archive",
                BASELINE_COMMIT,
                "fastapi_books",
                "shared_fixtures",
            ],
            capture_output=True,
        )
        if archive.returncode != 0:
            reason = f"commit {BASELINE_COMMIT} is not in this clone"
            self.not_measured[BASELINE.name] = reason
            self.say(f"{BASELINE.name} not measured: {reason} ({archive.stderr.decode().strip()})")
            return
        SCRATCH.mkdir()
        subprocess.run(["tar", "-x", "-C", str(SCRATCH)], input=archive.stdout, check=True)

    def measure_upstream(self, scenarios: list[Scenario]) -> None:
        """The stub alone under wrk, at each scenario's delay and connections: the most any
        server can get through it."""
        assert self.upstream
        self.say(f"{UPSTREAM.name}: the stub alone")
        stub = self.upstream.stub
        assert stub.process
        assert stub.log_path
        command = [sys.executable, "-m", "tests.catalog_stub", "--port", str(stub.port)]
        process, log = stub.process, stub.log_path
        server = Server(UPSTREAM, 1, stub.port, SWEEP_DATABASE, "", command, process, 0, log)
        for scenario in scenarios:
            self.measure(server, dataclasses.replace(scenario, path=SEARCH_PATH))

    def hold_requests(self, target: Target, count: int, delay_s: float, sample_s: float) -> None:
        """One worker on SQLite with `count` requests waiting on the upstream at once: its RSS
        (all processes) and connections to the upstream at their peak."""
        if target.name in self.not_measured:
            return
        assert self.upstream
        self.say(f"{target.name}: {count} requests waiting {delay_s:g} s on the upstream")
        # Started with a quick upstream: its first 200 may come from the catalog.
        self.upstream.set_delay(CATALOG_DELAY_MS / 1000)
        url = self.new_database(target, "sqlite")
        try:
            server = self.start(target, 1, "sqlite", url, HELD_ENV)
            try:
                pids = server_pids(server.process.pid)

                def rss() -> int:
                    return sum(rss_kb(pid) for pid in pids)

                idle = rss()
                self.upstream.set_delay(delay_s)
                held = hold(
                    server.port, CATALOG_PATH, count, sample_s, rss, self.upstream, int(LOAD_CPU)
                )
            finally:
                stop(server.process, grace_s=1)  # its requests are of no use any more
        finally:
            self.databases.drop(url)
        self.memory.append(
            {
                "target": target.name,
                "kind": target.kind,
                "framework": target.framework,
                "database": "sqlite",
                **server.describe(),
                "workers": server.worker_count,
                "requests": count,
                "upstream_delay_s": delay_s,
                "sample_s": sample_s,
                "connected": held.connected,
                "idle_rss_kb": idle,
                "peak_rss_kb": held.peak_rss_kb,
                "peak_upstream_connections": held.peak_upstream_connections,
                "answered": held.answered,
            }
        )
        early = f", {sum(held.answered.values())} answered early" if held.answered else ""
        self.say(
            f"  RSS {idle / 1024:.0f} MiB idle, {held.peak_rss_kb / 1024:.0f} MiB at the peak;"
            f" {held.peak_upstream_connections} upstream connections{early}"
        )

    def run(self, quick: bool, only: set[str] | None, databases: tuple[str, ...]) -> None:
        """Every pass, in an order that puts the comparable figures close together in time."""
        short = [BOOKS] if quick else [BOOKS, BOOKS_256]
        passes: list[tuple[Target, str, int | None, list[Scenario]]] = []
        for database in databases:
            # A smoke run takes on PostgreSQL only what differs there: reads, the grown catalog
            # (its id sequence) and the writes after it; and the packages' catalog.
            first = database == databases[0]
            scenarios = PACKAGE_SCENARIOS if first or not quick else POSTGRESQL_SMOKE
            passes += [
                (target, database, 1, scenarios + catalog_plan(target, database, quick, first))
                for target in PACKAGES
            ]
            if not quick:
                passes.append((DJANGO_POOL, database, 1, short))
            passes.append((BASELINE, database, 1, short))
            passes += [
                (target, database, 1, short + catalog_plan(target, database, quick, first))
                for target in SAME_WORK
            ]
            passes += [
                (target, database, 1, catalog_plan(target, database, quick, first))
                for target in CATALOG_FORMS
                if catalog_plan(target, database, quick, first)
            ]
            passes += [(target, database, 1, short) for target in ARTICLES + CEILINGS]
            if first or not quick:
                passes += [
                    (target, database, 1, short + catalog_plan(target, database, quick, first))
                    for target in PEERS
                ]
            if database == SWEEP_DATABASE:
                sweep = [catalog(CATALOG_DELAY_MS), ON_PAR_CHECK] if quick else SWEEP
                passes.append((UPSTREAM, database, 1, sweep))
            if first or not quick:
                default_catalog = [] if quick else CATALOG
                passes += [(target, database, None, short + default_catalog) for target in PACKAGES]
            if not quick:
                passes.append((DJANGO_POOL, database, None, short))
                # The same work's catalog with the default workers: at 64 connections, on one
                # database (the full run's time).
                more = CATALOG[:1] if database == SWEEP_DATABASE else []
                passes += [
                    (target, database, None, short + (more if target in CATALOG_SAME_WORK else []))
                    for target in SAME_WORK + CEILINGS
                ]
                if more:
                    passes += [(target, database, None, more) for target in CATALOG_FORMS]
        chosen = [
            (target, database, workers, scenarios)
            for target, database, workers, scenarios in passes
            if database in target.databases and (only is None or target.name in only)
        ]
        held = (
            [BY_NAME[name] for name in ("fastapi", "samework-fastapi", "go-nethttp")]
            if quick
            else [*PACKAGES, *CATALOG_SAME_WORK, *CATALOG_FORMS, *PEERS]
        )
        held = [t for t in held if "sqlite" in databases and (only is None or t.name in only)]
        wanted = {target for target, *_ in chosen} | set(held)
        if BASELINE in wanted:
            self.check_baseline()
        if wanted & set(PEERS):
            self.check_peers()
        for target, database, workers, scenarios in chosen:
            if target is UPSTREAM:
                self.measure_upstream(scenarios)
            else:
                self.serve(target, database, workers, scenarios)
        count, delay_s, sample_s = (
            (100, 2.0, 1.5) if quick else (HELD_REQUESTS, HELD_DELAY_S, HELD_SAMPLE_S)
        )
        for target in held:
            self.hold_requests(target, count, delay_s, sample_s)
        if not quick:
            for target in PACKAGES:
                if only is None or target.name in only:
                    self.cold_starts(target)


def catalog_plan(target: Target, database: str, quick: bool, first: bool) -> list[Scenario]:
    """A one-worker pass's catalog scenarios: CATALOG (for the same work beyond SWEEP_DATABASE, at
    64 connections: the full run's time); on SWEEP_DATABASE, the sweep's other delays for the swept
    and ON_PAR_CHECK for every package. A smoke run: 64 connections, ON_PAR_CHECK alone of the
    sweep, and the packages alone beyond the first database."""
    if target not in [*PACKAGES, *CATALOG_SAME_WORK, *CATALOG_FORMS, *PEERS]:
        return []
    if quick and not first and target.kind != "package":
        return []
    short = quick or (target.kind == "same-work" and database != SWEEP_DATABASE)
    plan = CATALOG[:1] if short else list(CATALOG)
    if database == SWEEP_DATABASE and target.name in SWEPT:
        plan += [ON_PAR_CHECK] if quick else SWEEP_MORE
    elif database == SWEEP_DATABASE and target.kind == "package":
        plan.append(ON_PAR_CHECK)
    return plan


def wait_until_serving(
    target: Target,
    process: subprocess.Popen,
    port: int,
    command: list[str],
    log: Path,
    began: float,
) -> float:
    """Wait (with deadlines) for a 200 and for every worker; the seconds to that first 200."""
    ready = f"http://{HOST}:{port}{target.ready_path}"
    # Django's migrations and collectstatic may take a while on a busy machine.
    deadline = began + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{target.name} exited: see {log}\n{log.read_text()[-2000:]}")
        try:
            if httpx2.get(ready, timeout=1).status_code == 200:
                break
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{target.name} did not answer 200 on {ready} within {START_TIMEOUT_S} s"
            )
        time.sleep(0.02)
    first_200 = time.monotonic() - began
    # The first 200 may come from one worker while the others still start.
    count = workers_of(command)
    wanted = count if count > 1 or server_name(command) == "gunicorn" else 1
    wait_for_workers(process.pid, target.name, wanted, time.monotonic() + START_TIMEOUT_S)
    return first_200


def prepare_article_database(path: str) -> None:
    """The Django snippet reads a database: create its tables and the seed."""
    env = {**os.environ, "ARTICLE_DATABASE": path}
    subprocess.run(
        [str(BIN / "python"), "-m", "django", "migrate", "--run-syncdb", "--verbosity", "0"],
        cwd=ARTICLE,
        env={**env, "DJANGO_SETTINGS_MODULE": "django_article.settings"},
        check=True,
    )
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO django_article_book (id, title, author) VALUES (?, ?, ?)",
            [(book["id"], book["title"], book["author"]) for book in SEED],
        )


def port_is_free(port: int) -> bool:
    """Whether nothing listens on this port (a server left over from an earlier run might)."""
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) != 0


def probe_features(port: int) -> dict[str, int]:
    """The status of the pages the article counts as features: API docs and an admin."""
    paths = ["/docs", "/redoc", "/openapi.json", "/admin/"]
    with httpx2.Client(base_url=f"http://{HOST}:{port}", timeout=10) as client:
        return {path: client.get(path).status_code for path in paths}


# Machine ------------------------------------------------------------------------------------------


def machine(databases: Databases, used: tuple[str, ...]) -> dict:
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
        "postgresql": databases.server_version() if "postgresql" in used else None,
        "wrk": wrk_version[1] if len(wrk_version) > 1 else "unknown",
        "go": version_of(["go", "version"], 2),
        "node": version_of(["node", "--version"], 0),
    }


def version_of(command: list[str], word: int) -> str | None:
    """A word of what `command` prints, e.g. "go1.19.8" of `go version`; None if not installed."""
    try:
        printed = subprocess.run(command, capture_output=True, text=True).stdout.split()
    except FileNotFoundError:
        return None
    return printed[word] if len(printed) > word else None


def main() -> None:
    """Run the benchmark and write the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "bench.json")
    parser.add_argument(
        "--only", help="comma-separated target names, e.g. fastapi,fastapi-baseline"
    )
    parser.add_argument("--database", choices=DATABASES, help="one database instead of both")
    arguments = parser.parse_args()
    output = arguments.output
    only = set(arguments.only.split(",")) if arguments.only else None
    unknown = (only or set()) - {target.name for target in TARGETS}
    if unknown:
        parser.error(f"no target named {', '.join(sorted(unknown))}")
    databases = (arguments.database,) if arguments.database else DATABASES
    quick = os.environ.get("BENCH_QUICK", "") not in {"", "0"}
    settings = (
        Settings(
            quick=True,
            warmup_s=0,
            duration_s=1,
            runs=1,
            cold_starts=0,
            catalog_warmup_s=0,
            catalog_duration_s=1,
        )
        if quick
        else Settings(
            quick=False,
            warmup_s=2,
            duration_s=5,
            runs=3,
            cold_starts=3,
            catalog_warmup_s=0,
            catalog_duration_s=2,
        )
    )
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        throwaway = Databases(Path(work))
        if "postgresql" in databases:
            throwaway.check_postgresql()
        bench = Bench(settings, Path(work), throwaway)
        bench.say(
            f"{'Quick' if quick else 'Full'} run; servers on CPU 0, wrk and the catalog stub"
            " on CPU 1"
        )
        allow_open_files(4 * HELD_REQUESTS + 1024)
        try:
            bench.upstream = Upstream(int(LOAD_CPU), Path(work) / "catalog-stub.log")
            bench.run(quick, only, databases)
        finally:
            if bench.upstream:
                bench.upstream.stop()
            throwaway.drop_all()
            shutil.rmtree(SCRATCH, ignore_errors=True)
    results = {
        "started": started.isoformat(timespec="seconds"),
        # What the numbers cannot show, e.g. "Other work ran on the machine meanwhile."
        "note": os.environ.get("BENCH_NOTE", ""),
        "duration_s": round(time.monotonic() - bench.started, 1),
        "settings": settings.__dict__,
        "machine": machine(throwaway, databases),
        "versions": versions(),
        # The serve targets' default WORKERS, each server's advice.
        "default_workers": {name: workers_of(serve_command(name, 0, None)) for name in FRAMEWORKS},
        "not_measured": bench.not_measured,
        "results": bench.results,
        "servers": bench.servers,
        # Each server with many catalog requests waiting on the upstream at once.
        "memory": bench.memory,
        "catalog": {
            "delay_ms": CATALOG_DELAY_MS,
            "sweep_delays_ms": list(SWEEP_DELAYS_MS),
            "sweep_database": SWEEP_DATABASE,
            "on_par_check_ms": ON_PAR_CHECK.upstream_delay_ms,
        },
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
