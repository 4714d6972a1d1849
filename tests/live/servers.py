"""Real servers for the live suite, started exactly as `make serve-<framework>` starts them.

Each server is `make --no-print-directory serve-<framework>` with PORT, WORKERS, DATABASE_URL,
BOOKS_API_TOKEN, CATALOG_URL and CATALOG_TIMEOUT in its environment, in its own process group, on
a free port. Readiness is `/health` answering before a deadline; its output (the prepare step, the
server's own log) goes to one log file, which the suite prints when a test fails.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from deploy.stack import launch

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
HOST = "127.0.0.1"
# Generous: on a busy 2-core machine the prepare step (migrations) and the workers' imports can
# take several seconds, and a slow start must not fail a test.
START_DEADLINE = 90.0
STOP_DEADLINE = 30.0
POLL_INTERVAL = 0.05


class ServerExited(RuntimeError):
    """The server's make process ended while it should be running."""


def free_port() -> int:
    """A TCP port on HOST that nothing listens on now; the OS chooses it."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def port_of(client: httpx2.Client) -> int:
    """The port of the live server a client speaks to: its base URL always names one."""
    port = client.base_url.port
    assert port is not None, client.base_url
    return port


def wait_for(condition: Callable[[], bool], deadline: float, what: str) -> None:
    """Poll `condition` until it holds; fail with `what` once `deadline` seconds have passed."""
    give_up = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > give_up:
            raise TimeoutError(f"{what}: not within {deadline:.0f} s")
        time.sleep(POLL_INTERVAL)


@dataclass
class LiveServer:
    """One `make serve-<framework>` process group and the log it writes."""

    framework: str
    database_url: str
    api_token: str
    log_path: Path
    # None: WORKERS left unset, so the serve target starts its own default number.
    workers: int | None = 2
    # The upstream catalog (tests/catalog_stub.py) and its timeout; "" and None: as the
    # environment says.
    catalog_url: str = ""
    catalog_timeout: float | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Where the server listens."""
        return f"http://{HOST}:{self.port}"

    def client(self, **options: Any) -> httpx2.Client:
        """An httpx2 client for this server, following no redirects."""
        return httpx2.Client(base_url=self.base_url, follow_redirects=False, **options)

    def start(self) -> None:
        """Run `make serve-<framework>` in a new process group; return once it is listening.

        Should another process take the free port before the server binds it, the server starts
        again on another one.
        """
        for _ in range(3):
            self.launch()
            try:
                wait_for(self.is_listening, START_DEADLINE, f"{self.framework} on {self.port}")
                return
            except ServerExited:
                if "already in use" not in self.log_tail().lower():
                    raise
                self.port = free_port()
        raise ServerExited(f"no free port for {self.framework}:\n{self.log_tail()}")

    def launch(self) -> None:
        """Start make with the server's settings in its environment, its output to the log."""
        environment = {
            **os.environ,
            "HOST": HOST,
            "PORT": str(self.port),
            "DATABASE_URL": self.database_url,
            "BOOKS_API_TOKEN": self.api_token,
        }
        environment.pop("WORKERS", None)
        if self.catalog_url:
            environment["CATALOG_URL"] = self.catalog_url
        if self.catalog_timeout is not None:
            environment["CATALOG_TIMEOUT"] = str(self.catalog_timeout)
        if self.workers is not None:
            environment["WORKERS"] = str(self.workers)
        with self.log_path.open("a") as log:
            log.write(f"\n--- make serve-{self.framework} on port {self.port}\n")
        command = ["make", "--no-print-directory", f"serve-{self.framework}"]
        self.process = launch(command, self.log_path, environment)

    def is_running(self) -> bool:
        """Whether the make process (and so the server it runs) is still alive."""
        return self.process is not None and self.process.poll() is None

    def is_listening(self) -> bool:
        """Whether the server listens on its port (not some other process); raises if it exited."""
        if not self.is_running():
            raise ServerExited(f"make serve-{self.framework} exited:\n{self.log_tail()}")
        listening = self.listening_socket()
        return listening is not None and listening in self.open_sockets()

    def listening_socket(self) -> str | None:
        """The socket that listens on the port, as /proc names it ("socket:[inode]"), if any."""
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rpartition(":")[2], 16)
            if local_port == self.port and fields[3] == "0A":  # 0A: LISTEN
                return f"socket:[{fields[9]}]"
        return None

    def open_sockets(self) -> set[str]:
        """The sockets the server's processes hold open."""
        sockets = set()
        for pid in self.process_ids():
            for descriptor in Path(f"/proc/{pid}/fd").glob("*"):
                with contextlib.suppress(OSError):  # closed, or the process exited meanwhile
                    target = os.readlink(descriptor)
                    if target.startswith("socket:"):
                        sockets.add(target)
        return sockets

    def wait_until_healthy(self, status: int = 200) -> None:
        """Poll GET /health until it answers with `status` (503 for a server without database)."""

        def answers() -> bool:
            if not self.is_running():
                raise ServerExited(f"make serve-{self.framework} exited:\n{self.log_tail()}")
            try:
                return httpx2.get(f"{self.base_url}/health", timeout=5).status_code == status
            except httpx2.TransportError:
                return False

        wait_for(answers, START_DEADLINE, f"{self.framework}: /health answering {status}")

    def signal(self, signum: int) -> None:
        """Send a signal to the whole process group: make, the server and its workers."""
        if self.is_running():
            assert self.process is not None
            os.killpg(self.process.pid, signum)

    def terminate(self) -> None:
        """SIGTERM to make, which passes it on to the server; wait until all of them have exited."""
        assert self.process is not None
        if self.is_running():
            self.process.send_signal(signal.SIGTERM)
        self.wait_for_exit()

    def kill(self) -> None:
        """SIGKILL to every process of the group, as `kill -9` would; wait until make is gone."""
        self.signal(signal.SIGKILL)
        self.wait_for_exit()

    def wait_for_exit(self) -> None:
        """Wait for make to exit, then make sure no process of its group survives it."""
        assert self.process is not None
        try:
            self.process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_DEADLINE)
        with contextlib.suppress(ProcessLookupError):  # workers that outlived their parent
            os.killpg(self.process.pid, signal.SIGKILL)

    def process_ids(self) -> set[int]:
        """The ids of every process in the group: make, the server and its workers."""
        assert self.process is not None
        ids = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # pid (comm) state ppid pgrp ...; comm may hold spaces, so split after it.
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue  # the process has exited meanwhile
            if int(fields[2]) == self.process.pid:
                ids.add(int(stat.parent.name))
        return ids

    def main_process_id(self) -> int:
        """The server's own process (make's child): gunicorn's arbiter, uvicorn's main process."""
        assert self.process is not None
        for pid in self.process_ids():
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            if int(fields[1]) == self.process.pid:
                return pid
        raise LookupError(f"make serve-{self.framework} has no server process")

    def connections_waiting_to_be_accepted(self) -> int:
        """How many connections wait in the listening socket's queue for a worker to accept them."""
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rpartition(":")[2], 16)
            if local_port == self.port and fields[3] == "0A":  # 0A: LISTEN
                return int(fields[4].partition(":")[2], 16)  # rx_queue: the accept queue
        raise LookupError(f"nothing listens on port {self.port}")

    def log_size(self) -> int:
        """The log's current length: where the next test's part of it begins."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        """The log written since `offset`."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def log_tail(self, size: int = 8000) -> str:
        """The end of the log, for error messages."""
        return self.log_since(max(0, self.log_size() - size))
