"""What each hop of `make stack-*` costs, measured side by side on PostgreSQL: `GET /books` and
`POST /books` straight to a serve target, to an instance that reaches PostgreSQL through
PgBouncer, and through nginx and PgBouncer to one instance and to two.

    taskset -c 0 .venv/bin/python -m bench.stack_hops [SECONDS] [ROUNDS]

Every server runs with WORKERS=1 on the CPU this script is given (its children inherit it), wrk
on the other (CPU 1), 64 connections. The targets are loaded in turn, ROUNDS times; the medians
are printed as a Markdown table, each with its ratio to the serve target alone.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from deploy.stack import Instance, Stack, free_port

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432"
TOKEN = "bench-token"
LOAD_CPU = "1"
CONNECTIONS = 64
SCENARIOS = {"GET /books": False, "POST /books": True}


def fresh_database(framework: str) -> str:
    name = f"bench_hops_{framework}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{SERVER}/{name}"


def wrk(port: int, post: bool, seconds: int, run: str) -> tuple[float, float]:
    """Requests/s and p99 (ms) of one wrk run; fails on any answer but the expected one."""
    env = {**os.environ, "BENCH_RUN_ID": run}
    if post:
        env["BENCH_POST_TOKEN"] = TOKEN
    command = [
        *["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s"],
        *["--timeout", "10s", "-s", str(ROOT / "bench" / "wrk" / "measure.lua")],
        f"http://127.0.0.1:{port}/books",
    ]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON"))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    expected = "201" if post else "200"
    if set(raw["statuses"]) != {expected} or any(raw["socket_errors"].values()):
        raise RuntimeError(f"port {port}: {raw}")
    return raw["requests"] / (raw["duration_us"] / 1e6), raw["latency_us"]["p99"] / 1000


def measure(framework: str, seconds: int, rounds: int) -> list[str]:
    database_url = fresh_database(framework)
    work = Path(tempfile.mkdtemp(prefix=f"stack-hops-{framework}-"))
    environment = {"WORKERS": "1", "BOOKS_API_TOKEN": TOKEN}
    one = Stack(framework, database_url, work / "one", instances=1, environment=environment)
    two = Stack(framework, database_url, work / "two", instances=2, environment=environment)
    # The serve target alone, straight to PostgreSQL, beside the stacks.
    alone = Instance("alone", work / "alone.log", port=free_port())
    try:
        one.start()
        two.start()
        alone.launch(
            ["make", "--no-print-directory", f"serve-{framework}"],
            {**os.environ, **environment, "PORT": str(alone.port), "DATABASE_URL": database_url},
        )
        alone.wait_until_healthy("127.0.0.1")
        targets = {
            "the serve target alone": alone.port,
            "an instance, through PgBouncer": one.members[0].port,
            "nginx, PgBouncer, 1 instance": one.port,
            "nginx, PgBouncer, 2 instances": two.port,
        }
        figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for scenario, post in SCENARIOS.items():
            for round_number in range(rounds):
                for name, port in targets.items():
                    run = f"{framework}-{round_number}-{port}"
                    figures.setdefault((scenario, name), []).append(wrk(port, post, seconds, run))
    finally:
        alone.stop()
        one.stop()
        two.stop()
    lines = []
    for scenario in SCENARIOS:
        base = statistics.median(rps for rps, _ in figures[(scenario, "the serve target alone")])
        for name in targets:
            rps = statistics.median(rps for rps, _ in figures[(scenario, name)])
            p99 = statistics.median(p99 for _, p99 in figures[(scenario, name)])
            row = [framework, f"`{scenario}`", name, f"{rps:,.0f}", f"{rps / base:.2f}"]
            lines.append("| " + " | ".join([*row, f"{p99:,.1f}"]) + " |")
    return lines


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    print("| package | request | to | requests/s | ÷ alone | p99 (ms) |\n|---|---|---|---|---|---|")
    for framework in ("django", "flask", "fastapi"):
        for line in measure(framework, seconds, rounds):
            print(line, flush=True)


if __name__ == "__main__":
    main()
