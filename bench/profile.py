"""Profile one package's worker under wrk load with py-spy, and print where its time goes.

python bench/profile.py django /books [--seconds 10] [--connections 64] [--catalog 1000]
    [--database postgresql]

The server starts as in make bench (one worker on CPU 0, on a database of its own: a SQLite file
or a throwaway PostgreSQL database); wrk and py-spy run on CPU 1. py-spy
samples only the thread holding the GIL (--gil), so idle threads and waits do not count. Prints the
share of samples that pass through each function (inclusive) and that end in it (own time), and
keeps py-spy's collapsed stacks (flame graph input) in the file --stacks names.
"""

import argparse
import collections
import subprocess
import tempfile
from pathlib import Path

from databases import DATABASES, Databases
from run import BIN, LOAD_CPU, PACKAGES, Bench, Settings
from serving import HOST, stop, worker_pids


def main() -> None:
    """Start, load, sample, summarize."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework", choices=[target.name for target in PACKAGES])
    parser.add_argument("path", help="the request path, e.g. /books or '/books?limit=100'")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--catalog", type=int, default=0, help="grow the catalog to 1000 first")
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument("--stacks", type=Path, default=Path("/tmp/profile-stacks.txt"))
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--all-threads",
        dest="sampling",
        action="store_const",
        const=[],
        default=["--gil"],
        help="sample every thread that is not idle, not only the one holding the GIL",
    )
    arguments = parser.parse_args()
    target = next(target for target in PACKAGES if target.name == arguments.framework)
    settings = Settings(quick=True, warmup_s=1, duration_s=1, runs=1, cold_starts=0)
    with tempfile.TemporaryDirectory(prefix="profile-") as work:
        databases = Databases(Path(work))
        bench = Bench(settings, Path(work), databases)
        url = bench.new_database(target, arguments.database)
        server = bench.start(target, 1, arguments.database, url)
        try:
            if arguments.catalog:
                bench.grow_catalog(server)
            (worker,) = worker_pids(server.process.pid)
            url = f"http://{HOST}:{server.port}{arguments.path}"
            wrk = ["wrk", "-t1", f"-c{arguments.connections}", f"-d{arguments.seconds + 2}s"]
            load = subprocess.Popen(
                ["taskset", "-c", LOAD_CPU, *wrk, "--latency", url],
                stdout=subprocess.PIPE,
                text=True,
            )
            py_spy = [str(BIN / "py-spy"), "record", "--pid", str(worker), *arguments.sampling]
            sample = ["--duration", str(arguments.seconds), "--rate", "250"]
            output = ["--format", "raw", "--output", str(arguments.stacks)]
            subprocess.run(
                ["taskset", "-c", LOAD_CPU, *py_spy, *sample, *output],
                check=True,
                capture_output=True,
            )
            print(load.communicate()[0])
        finally:
            stop(server.process)
            databases.drop_all()
    summarize(arguments.stacks, arguments.top)


def summarize(stacks: Path, top: int) -> None:
    """Inclusive and own shares of samples per function, from collapsed stacks."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [frame.split(" (")[0] + " " + location(frame) for frame in stack.split(";")]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    print(f"{total} samples\n\ninclusive:")
    for frame, count in inclusive.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {frame}")
    print("\nown time:")
    for frame, count in own.most_common(top // 2):
        print(f"  {100 * count / total:5.1f}%  {frame}")


def location(frame: str) -> str:
    """The module part of a py-spy frame, "name (path/to/module.py:line)", shortened."""
    if " (" not in frame:
        return ""
    path = frame.split(" (", 1)[1].rstrip(")").rsplit(":", 1)[0]
    return "(" + "/".join(Path(path).parts[-2:]) + ")"


if __name__ == "__main__":
    main()
