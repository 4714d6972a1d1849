"""Behind nginx, which gunicorn worker: the project's gevent worker (deploy/gunicorn.conf.py)
against gunicorn's stock sync and gthread workers, for Django and Flask, with and without slow
clients at nginx.

    taskset -c 0 .venv/bin/python -m bench.proxy_workers [SECONDS] [ROUNDS] [SLOW_CLIENTS]

Each stack (`make stack-*`'s, one instance, the serve target's default workers) runs on the CPU
this script is given, wrk on the other (CPU 1), `GET /books` at 64 connections. The slow clients
are SLOW_CLIENTS connections to nginx that each send a request head one line every half second,
and start again when nginx cuts them (its 5 s head deadline): without nginx, each would hold a
sync worker. The worker class comes from GUNICORN_CMD_ARGS, which overrides the config file.
The medians are printed as a Markdown table, each with its ratio to the gevent worker's.
"""

import socket
import statistics
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.stack_hops import fresh_database, wrk
from deploy.stack import Stack

WORKER_CLASSES = {
    "gevent (deploy/gunicorn.conf.py)": "",
    "sync": "--worker-class sync",
    "gthread, 4 threads": "--worker-class gthread --threads 4",
}


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[None]:
    """`count` connections to 127.0.0.1:port, each trickling a head that never ends."""
    stopping = threading.Event()

    def trickle() -> None:
        while not stopping.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                    connection.sendall(b"GET /books HTTP/1.1\r\nHost: bench\r\n")
                    line = 0
                    while not stopping.wait(0.5):
                        connection.sendall(f"X-Slow-{line}: 1\r\n".encode())
                        line += 1
            except OSError:
                continue  # cut by nginx: start again

    threads = [threading.Thread(target=trickle, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stopping.set()
        for thread in threads:
            thread.join(15)


def measure(framework: str, seconds: int, rounds: int, slow: int) -> list[str]:
    database_url = fresh_database(framework)
    work = Path(tempfile.mkdtemp(prefix=f"proxy-workers-{framework}-"))
    figures: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for name, arguments in WORKER_CLASSES.items():
        environment = {"BOOKS_API_TOKEN": "bench-token", "GUNICORN_CMD_ARGS": arguments}
        stack = Stack(
            framework,
            database_url,
            work / str(len(figures)),
            instances=1,
            environment=environment,
        )
        stack.start()
        try:
            for round_number in range(rounds):
                for clients in (0, slow):
                    with slow_clients(stack.port, clients):
                        run = f"{framework}-{name}-{round_number}-{clients}"
                        result = wrk(stack.port, False, seconds, run)
                    figures.setdefault((name, clients), []).append(result)
        finally:
            stack.stop()
    lines = []
    for clients in (0, slow):
        base = statistics.median(rps for rps, _ in figures[(next(iter(WORKER_CLASSES)), clients)])
        for name in WORKER_CLASSES:
            rps = statistics.median(rps for rps, _ in figures[(name, clients)])
            p99 = statistics.median(p99 for _, p99 in figures[(name, clients)])
            row = [framework, name, str(clients), f"{rps:,.0f}", f"{rps / base:.2f}", f"{p99:,.1f}"]
            lines.append("| " + " | ".join(row) + " |")
    return lines


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    slow = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    print(
        "| package | worker | slow clients | requests/s | ÷ gevent | p99 (ms) |\n"
        "|---|---|---|---|---|---|"
    )
    for framework in ("django", "flask"):
        for line in measure(framework, seconds, rounds, slow):
            print(line, flush=True)


if __name__ == "__main__":
    main()
