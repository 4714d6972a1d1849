"""`make stack-<framework>`: nginx in front of several instances of one package, and PgBouncer
between them and PostgreSQL, started and stopped as one service.

    client -> nginx (HOST:PORT) -> instance 1..INSTANCES (`make serve-<framework>`, own ports)
                                       -> PgBouncer (transaction pooling) -> PostgreSQL

The migrations run once, straight to PostgreSQL, before any instance starts; the instances reach
PostgreSQL through PgBouncer alone. Every file the stack writes (the filled-in configuration,
logs, pid files) is in one directory, and every port but nginx's is chosen free, so that the
three stacks can run side by side. SIGTERM or SIGINT stops it all in order, each part draining
first: nginx, the instances, PgBouncer.
"""

import contextlib
import getpass
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx2
import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

REPO_ROOT = Path(__file__).resolve().parent.parent
DEPLOY = REPO_ROOT / "deploy"
LABELS = {"django": "Django + DRF", "flask": "Flask", "fastapi": "FastAPI"}
START_SECONDS = 90.0
STOP_SECONDS = 40.0  # the instances' drain time (30 s) and some


class StackError(RuntimeError):
    """A part of the stack did not start, or stopped while it should run."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            raise StackError(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.05)


def make_environment(**settings: str) -> dict[str, str]:
    """This process's environment with `settings`, for a make of its own: without the variables
    given on this make's command line, which would win over `settings`."""
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    return {**inherited, **settings}


def fill_in(template: str, **values: object) -> str:
    for name, value in values.items():
        template = template.replace(f"@{name.upper()}@", str(value))
    return template


def launch(
    command: list[str], log_path: Path, environment: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`command` at the repository root, in a session of its own (a Ctrl-C meant for the stack
    does not reach it), its output added to `log_path`."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def accepts_connections(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


@dataclass
class Part:
    """One process of the stack, in a session of its own (Ctrl-C reaches the stack alone, which
    stops the parts in order), writing to its own log."""

    name: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def launch(self, command: list[str], environment: dict[str, str] | None = None) -> None:
        self.process = launch(command, self.log_path, environment)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_running(self) -> None:
        if not self.is_running():
            tail = self.log_path.read_text(errors="replace")[-4000:]
            raise StackError(f"{self.name} exited:\n{tail}")

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Signal the process, wait for it to exit (SIGKILL after STOP_SECONDS), then kill what
        is left of its process group."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL to the whole process group, as a crash would."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Instance(Part):
    port: int = 0

    def wait_until_healthy(self, host: str) -> None:
        def healthy() -> bool:
            self.check_running()
            try:
                return httpx2.get(f"http://{host}:{self.port}/health", timeout=5).is_success
            except httpx2.TransportError:
                return False

        wait_until(healthy, START_SECONDS, f"{self.name} answering /health")


@dataclass
class Stack:
    """nginx, the instances and PgBouncer for one framework, against a PostgreSQL database."""

    framework: str
    database_url: str
    directory: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    instances: int = 2
    # What each instance's `make serve-<framework>` gets besides the stack's own settings
    # (BOOKS_API_TOKEN, WORKERS, CATALOG_URL...).
    environment: dict[str, str] = field(default_factory=dict)
    pgbouncer_port: int = field(default_factory=free_port)
    members: list[Instance] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pgbouncer = Part("PgBouncer", self.directory / "pgbouncer.out")
        self.nginx = Part("nginx", self.directory / "nginx.out")
        # One log for every instance, as one server's workers write to one.
        self.members = [
            Instance(f"instance {n}", self.instances_log, port=free_port())
            for n in range(1, self.instances + 1)
        ]

    @property
    def instances_log(self) -> Path:
        return self.directory / "instances.log"

    @property
    def parts(self) -> list[Part]:
        return [self.nginx, *self.members, self.pgbouncer]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pooled_database_url(self) -> str:
        """DATABASE_URL through PgBouncer: the same database, user and password."""
        url = make_url(self.database_url).set(host="127.0.0.1", port=self.pgbouncer_port)
        return url.render_as_string(hide_password=False)

    def start(self) -> None:
        try:
            create_database_if_missing(make_url(self.database_url))
            self.start_pgbouncer()
            self.migrate()
            for member in self.members:
                self.start_instance(member)
            for member in self.members:
                member.wait_until_healthy(self.host)
            self.start_nginx()
        except BaseException:
            self.stop()
            raise

    def start_pgbouncer(self) -> None:
        server = make_url(self.database_url)
        self.write(
            "pgbouncer.ini",
            fill_in(
                (DEPLOY / "pgbouncer.ini").read_text(),
                server_host=server.host or "127.0.0.1",
                server_port=server.port or 5432,
                listen_host="127.0.0.1",
                listen_port=self.pgbouncer_port,
                directory=self.directory,
            ),
        )
        user, password = server.username or getpass.getuser(), server.password or ""
        self.write("userlist.txt", f'"{user}" "{password}"\n')
        command = ["pgbouncer", str(self.directory / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root; -u makes it switch to another user once it has
            # read its files. It logs to stderr, which is pgbouncer.out.
            command[1:1] = ["-u", "postgres"]
        self.pgbouncer.launch(command)

        def listening() -> bool:
            self.pgbouncer.check_running()
            return accepts_connections("127.0.0.1", self.pgbouncer_port)

        wait_until(listening, START_SECONDS, "PgBouncer listening")

    def migrate(self) -> None:
        """The prepare step of the serve target, once, straight to PostgreSQL: migrations take
        locks and set session state that a transaction pooler would not keep."""
        with (self.directory / "migrate.log").open("ab") as log:
            result = subprocess.run(
                ["make", "--no-print-directory", f"prepare-{self.framework}"],
                cwd=REPO_ROOT,
                env=make_environment(DATABASE_URL=self.database_url),
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            log_text = (self.directory / "migrate.log").read_text(errors="replace")
            raise StackError(f"make prepare-{self.framework} failed:\n{log_text[-4000:]}")

    def start_instance(self, member: Instance) -> None:
        """`make serve-<framework>` as the serve target runs it, on the instance's own port and
        through PgBouncer, believing the proxy's X-Forwarded-* headers; its prepare step is the
        stack's."""
        environment = make_environment(
            **self.environment,
            HOST="127.0.0.1",
            PORT=str(member.port),
            DATABASE_URL=self.pooled_database_url,
            DATABASE_POOLER="transaction",
            FORWARDED_ALLOW_IPS="127.0.0.1",
            PREPARE="0",
        )
        member.launch(["make", "--no-print-directory", f"serve-{self.framework}"], environment)

    def restart_instance(self, member: Instance) -> None:
        """Take the instance out of nginx's group, stop it (SIGTERM: it drains), start it again,
        and put it back once it answers /health.

        Out of the group first: a server that stops closes its listening socket, which resets
        every connection still waiting to be accepted, and nginx may already have sent a request
        on one. It resends a read elsewhere, never a write: under load, a bare SIGTERM cost a few
        POSTs a 502 each time.
        """
        self.reload_nginx(down=member)
        member.stop()
        self.start_instance(member)
        member.wait_until_healthy(self.host)
        self.reload_nginx()

    def write_nginx_conf(self, down: Instance | None = None) -> None:
        servers = "\n".join(
            f"        server 127.0.0.1:{member.port} max_fails=1 fail_timeout=2s"
            f"{' down' if member is down else ''};"
            for member in self.members
        )
        self.write(
            "nginx.conf",
            fill_in(
                (DEPLOY / "nginx.conf").read_text(),
                directory=self.directory,
                servers=servers,
                listen=f"{self.host}:{self.port}",
            ),
        )

    def reload_nginx(self, down: Instance | None = None) -> None:
        """nginx with a new configuration (SIGHUP), once every worker of the old one has
        finished its requests and closed its connections to the instances, and exited."""
        assert self.nginx.process is not None
        workers = subprocess.run(
            ["pgrep", "-P", str(self.nginx.process.pid)], capture_output=True, text=True
        ).stdout.split()
        self.write_nginx_conf(down)
        self.nginx.process.send_signal(signal.SIGHUP)

        def old_workers_gone() -> bool:
            self.nginx.check_running()
            return not any(is_alive(int(pid)) for pid in workers)

        wait_until(old_workers_gone, STOP_SECONDS, "nginx's old workers exiting")

    def start_nginx(self) -> None:
        self.write_nginx_conf()
        self.nginx.launch(
            [
                "nginx",
                "-p", str(self.directory),
                "-e", str(self.directory / "nginx-error.log"),
                "-c", str(self.directory / "nginx.conf"),
                "-g", "daemon off;",
            ]
        )  # fmt: skip

        def healthy() -> bool:
            self.nginx.check_running()
            try:
                return httpx2.get(f"{self.url}/health", timeout=5).is_success
            except httpx2.TransportError:
                return False

        wait_until(healthy, START_SECONDS, "nginx answering /health")

    def stop(self) -> None:
        """nginx first (SIGQUIT: it finishes the requests it has), then each instance (SIGTERM:
        it drains), then PgBouncer (SIGINT: it waits for the transactions in progress)."""
        self.nginx.stop(signal.SIGQUIT)
        threads = [threading.Thread(target=member.stop) for member in self.members]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.pgbouncer.stop(signal.SIGINT)

    def check_running(self) -> None:
        for part in self.parts:
            part.check_running()

    def kill(self) -> None:
        for part in self.parts:
            part.kill()

    def write(self, name: str, text: str) -> None:
        (self.directory / name).write_text(text)

    def banner(self, token: str, out: IO[str]) -> None:
        ports = ", ".join(str(member.port) for member in self.members)
        database = make_url(self.database_url).render_as_string(hide_password=True)
        print(
            f"\n{LABELS[self.framework]} behind nginx on {self.url}\n"
            f"  {len(self.members)} instances of make serve-{self.framework} on 127.0.0.1:"
            f"{ports}\n"
            f"  PgBouncer on 127.0.0.1:{self.pgbouncer_port} (transaction pooling), to {database}\n"
            f"  Configuration and logs: {self.directory}/ (the instances': instances.log)\n"
            f"Write token: {token}\n\nTry:\n  curl -i {self.url}/books\n"
            f"  curl -i {self.url}/health\n\nCtrl-C stops it all, draining first.\n",
            file=out,
            flush=True,
        )


def create_database_if_missing(url: URL) -> None:
    """Create DATABASE_URL's database on its server, as the serve targets create SQLite's file."""
    if not url.database:
        raise StackError("DATABASE_URL names no database")
    name = url.database
    with psycopg.connect(
        url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False),
        autocommit=True,
        connect_timeout=5,
    ) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main() -> None:
    framework = sys.argv[1]
    if framework not in LABELS:
        sys.exit(f"usage: python -m deploy.stack {'|'.join(LABELS)}")
    database_url = os.environ["DATABASE_URL"]
    if make_url(database_url).get_backend_name() != "postgresql":
        sys.exit("make stack-* needs DATABASE_URL to name a PostgreSQL database")
    port = int(os.environ["PORT"])
    stack = Stack(
        framework,
        database_url,
        REPO_ROOT / "var" / f"stack-{framework}-{port}",
        host=os.environ.get("HOST", "127.0.0.1"),
        port=port,
        instances=int(os.environ.get("INSTANCES", "2")),
    )

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    # While starting, the first signal interrupts the start, which then stops what it had started.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    print(f"Starting {LABELS[framework]} stack in {stack.directory}/ ...", flush=True)
    try:
        stack.start()
    except KeyboardInterrupt:
        sys.exit("Stopped while starting.")
    # Once started, a signal (a second one too) only asks for the stop below, in order.
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stack.banner(os.environ["BOOKS_API_TOKEN"], sys.stdout)
    try:
        while not stopping.wait(1):
            stack.check_running()
    finally:
        print("Stopping: nginx, then the instances (draining), then PgBouncer.", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
