"""gunicorn's sync workers against the serve targets' gevent workers: what facing clients costs.

python bench/worker_cost.py [--rounds 3] [--seconds 5] [--databases ...] [--workers 1 5]

For Django and Flask, on each database and at each worker count, the package runs twice at once:
under its serve line (gevent workers, deploy/gunicorn.conf.py) and under the same line without
--config (gunicorn's default sync workers), each on a database of its own, both on CPU 0. wrk (on
CPU 1) loads `GET /books`, then `POST /books`, with 64 connections on one and then the other, for
--rounds rounds after a warm-up. Prints each pair's medians and gevent ÷ sync.
"""

import argparse
import statistics
import tempfile
from pathlib import Path

from databases import DATABASES, Databases
from run import BOOKS, CREATE, Bench, Server, Settings, Target
from serving import stop

KINDS = ("sync", "gevent")


def start_pair(bench: Bench, framework: str, database: str, workers: int) -> dict[str, Server]:
    """The package under sync and under gevent workers, each on a new database."""
    servers: dict[str, Server] = {}
    try:
        for kind in KINDS:
            target = Target(
                f"{framework}-{kind}",
                "workers",
                framework,
                framework,
                ready_path="/health",
                prepared_by=framework,
                config=kind == "gevent",
            )
            url = bench.new_database(target, database)
            servers[kind] = bench.start(target, workers, database, url)
    except BaseException:
        for server in servers.values():
            stop(server.process)
        raise
    return servers


def compare(bench: Bench, servers: dict[str, Server], rounds: int) -> list[str]:
    """Each scenario on both servers in turn; a line per scenario with the medians."""
    lines = []
    for scenario in (BOOKS, CREATE):
        for server in servers.values():
            bench.wrk(server, scenario, bench.settings.warmup_s)
        rps: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(rounds):
            for kind, server in servers.items():
                run = bench.wrk(server, scenario, bench.settings.duration_s)
                rps[kind].append(run["requests_per_s"])
                if run["unexpected_statuses"] + run["socket_error_count"]:
                    bench.say(f"  {kind}: {run['statuses']}, {run['socket_errors']}")
        sync, gevent = (statistics.median(rps[kind]) for kind in KINDS)
        server = servers["gevent"]
        lines.append(
            f"{server.database:<10} {server.target.framework:<6} {server.worker_count} worker(s)"
            f"  {scenario.name:<11} sync {sync:5.0f}  gevent {gevent:5.0f} req/s"
            f"  gevent ÷ sync {gevent / sync:.2f}"
        )
        bench.say(lines[-1])
    return lines


def main() -> None:
    """Every pair, one after the other; the lines again at the end."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--databases", nargs="+", choices=DATABASES, default=list(DATABASES))
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 5])
    arguments = parser.parse_args()
    settings = Settings(
        quick=False, warmup_s=2, duration_s=arguments.seconds, runs=1, cold_starts=0
    )
    lines = []
    with tempfile.TemporaryDirectory(prefix="worker-cost-") as work:
        databases = Databases(Path(work))
        bench = Bench(settings, Path(work), databases)
        try:
            for database in arguments.databases:
                for framework in ("django", "flask"):
                    for workers in arguments.workers:
                        servers = start_pair(bench, framework, database, workers)
                        try:
                            lines += compare(bench, servers, arguments.rounds)
                        finally:
                            for server in servers.values():
                                stop(server.process)
        finally:
            databases.drop_all()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
