"""Each package as of another commit beside the package as it is here, loaded in turn.

Usage: python -m bench.versus_commit COMMIT [--frameworks django,flask,fastapi]
       [--database sqlite|postgresql] [--post] [--rounds 4] [--seconds 5]

For each framework, both servers start as its serve target starts them (one worker each, on CPU
0, each on a new database of its own, the old one from `git archive COMMIT` in a scratch folder,
on this checkout's .venv); wrk (CPU 1, 16 connections) loads `GET /books`, or with --post
`POST /books`, on one and then the other for --rounds rounds after a warm-up, alternating which
goes first. Prints the median requests/s of each and their ratio: the cost of what changed since.
"""

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx2
import psycopg
from psycopg import sql
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TOKEN = "bench-token"
PORTS = {"then": 18101, "now": 18102}
START_SECONDS = 120


def new_database(database: str, folder: Path, created: list[str]) -> str:
    """The URL of a new, empty database (a PostgreSQL one's name added to created)."""
    name = f"bench_versus_{secrets.token_hex(4)}"
    if database == "sqlite":
        return f"sqlite:///{folder / name}.sqlite3"
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    created.append(name)
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


def drop_databases(created: list[str]) -> None:
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        for name in created:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def start(framework: str, tree: Path, port: int, database_url: str, log: Path) -> subprocess.Popen:
    """The package of this tree, served as its serve target serves it; healthy when returned."""
    env = {
        **os.environ,
        "PORT": str(port),
        "WORKERS": "1",
        "DATABASE_URL": database_url,
        "BOOKS_API_TOKEN": TOKEN,
        # The tree's packages ahead of this checkout's editable install.
        "PYTHONPATH": str(tree),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    }
    server = subprocess.Popen(
        [
            "taskset",
            "-c",
            "0",
            "make",
            "--no-print-directory",
            "-C",
            str(tree),
            f"serve-{framework}",
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx2.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{framework} in {tree} did not start: see {log}")


def requests_per_second(port: int, seconds: int, post: bool) -> float:
    """wrk's requests/s for one load of `GET /books` or `POST /books`."""
    env = {**os.environ, "BENCH_RUN_ID": secrets.token_hex(4)}
    if post:
        env["BENCH_POST_TOKEN"] = TOKEN
    script = str(ROOT / "bench" / "wrk" / "measure.lua")
    url = f"http://127.0.0.1:{port}/books"
    output = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{seconds}s", "-s", script, url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("Requests/sec"))
    return float(line.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit")
    parser.add_argument("--frameworks", default="django,flask,fastapi")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--post", action="store_true", help="POST /books instead of GET /books")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=5)
    arguments = parser.parse_args()
    created: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-versus-") as scratch:
        folder = Path(scratch)
        then = folder / "then"
        then.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", arguments.commit], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(then)], input=archive.stdout, check=True)
        (then / ".venv").symlink_to(ROOT / ".venv")
        trees = {"then": then, "now": ROOT}
        for framework in arguments.frameworks.split(","):
            servers = {
                name: start(
                    framework,
                    tree,
                    PORTS[name],
                    new_database(arguments.database, folder, created),
                    folder / f"{framework}-{name}.log",
                )
                for name, tree in trees.items()
            }
            try:
                for name in trees:
                    requests_per_second(PORTS[name], 2, arguments.post)
                rates: dict[str, list[float]] = {name: [] for name in trees}
                for round_ in range(arguments.rounds):
                    for name in list(trees)[:: 1 if round_ % 2 == 0 else -1]:
                        rate = requests_per_second(PORTS[name], arguments.seconds, arguments.post)
                        rates[name].append(rate)
            finally:
                for server in servers.values():
                    os.killpg(server.pid, signal.SIGTERM)
                    server.wait()
                drop_databases(created)
                created.clear()
            then_rate, now_rate = (statistics.median(rates[name]) for name in trees)
            print(
                f"{framework:<8} {arguments.database:<10} {'POST' if arguments.post else 'GET'}"
                f" /books: {arguments.commit} {then_rate:6.0f} req/s, now {now_rate:6.0f} req/s,"
                f" ratio {now_rate / then_rate:.2f}   rounds {rates}",
                flush=True,
            )


if __name__ == "__main__":
    main()
