"""Two of make bench's targets at once, loaded in turn: a ratio that load elsewhere on the machine
changes far less than it changes two figures taken minutes apart.

python bench/side_by_side.py django django-pool --database postgresql [--rounds 6] [--seconds 5]

Both servers start as in make bench (one worker each on CPU 0, each on a database of its own);
wrk (on CPU 1) loads `GET /books` with 64 connections on one, then the other, for --rounds rounds
after a warm-up. Prints each round and the median req/s and p99 of each, and their ratio.
"""

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from databases import DATABASES, Databases
from run import BASELINE, BOOKS, SCRATCH, TARGETS, Bench, Settings
from serving import stop


def main() -> None:
    """Start both, load them in turn, print the medians and the ratio."""
    names = [target.name for target in TARGETS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", choices=names)
    parser.add_argument("second", choices=names)
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5)
    arguments = parser.parse_args()
    chosen = [
        next(t for t in TARGETS if t.name == name) for name in (arguments.first, arguments.second)
    ]
    settings = Settings(
        quick=False, warmup_s=2, duration_s=arguments.seconds, runs=1, cold_starts=0
    )
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as work:
        databases = Databases(Path(work))
        bench = Bench(settings, Path(work), databases)
        servers = []
        try:
            if BASELINE in chosen:
                bench.check_baseline()
                if bench.not_measured:
                    raise SystemExit(bench.not_measured[BASELINE.name])
            for target in chosen:
                url = bench.new_database(target, arguments.database)
                servers.append(bench.start(target, 1, arguments.database, url))
            for server in servers:
                bench.wrk(server, BOOKS, settings.warmup_s)
            runs: dict[str, list[dict]] = {server.target.name: [] for server in servers}
            for round_number in range(1, arguments.rounds + 1):
                for server in servers:
                    run = bench.wrk(server, BOOKS, settings.duration_s)
                    runs[server.target.name].append(run)
                    errors = run["unexpected_statuses"] + run["socket_error_count"]
                    bench.say(
                        f"round {round_number}: {server.target.name:<18}"
                        f" {run['requests_per_s']:7.0f} req/s, p99 {run['p99_ms']:7.1f} ms,"
                        f" errors {errors}"
                    )
        finally:
            for server in servers:
                stop(server.process)
            databases.drop_all()
            shutil.rmtree(SCRATCH, ignore_errors=True)
    medians = {
        name: statistics.median(run["requests_per_s"] for run in target_runs)
        for name, target_runs in runs.items()
    }
    for name, target_runs in runs.items():
        p99 = statistics.median(run["p99_ms"] for run in target_runs)
        print(f"{name}: median {medians[name]:.0f} req/s, p99 {p99:.1f} ms")
    first, second = (target.name for target in chosen)
    print(f"{second} ÷ {first}: {medians[second] / medians[first]:.2f}")


if __name__ == "__main__":
    main()
