"""The servers' command lines, read from the Makefile's serve targets, and their processes.

`make -n serve-<framework>` prints the recipe without running it; its last line execs the server.
The benchmark takes that command line as it is, so whatever server, worker class, threads or other
options a serve target uses, every app benchmarked under that framework's server uses them too.
"""

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The argument that names the package's app on each serve target's command line.
PACKAGE_APP = re.compile(r"^(django|flask|fastapi)_books[.:]")
# The Makefile's CPUS, given on make's command line: under `taskset -c 0` its nproc would count one
# CPU, and the serve targets' defaults (workers, threads) are meant for the machine.
MACHINE_CPUS = os.cpu_count() or 1


def serve_command(framework: str, port: int, workers: int | None) -> list[str]:
    """The server command line of `make serve-<framework>`: the default workers when None."""
    env = {**os.environ, "HOST": HOST, "PORT": str(port)}
    env.pop("WORKERS", None)
    if workers is not None:
        env["WORKERS"] = str(workers)
    recipe = subprocess.run(
        ["make", "-n", "--no-print-directory", f"CPUS={MACHINE_CPUS}", f"serve-{framework}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in reversed(recipe.splitlines()) if " exec " in line)
    words = shlex.split(line.split(" exec ", 1)[1])
    # `env NAME=value ...` before the program: the harness sets what it needs in the environment.
    while words and (words[0] == "env" or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])):
        words.pop(0)
    # Paths relative to the repository (the program, a config file) hold from any folder.
    command = [str(ROOT / word) if is_path(word) else word for word in words]
    if Path(command[0]).name == "gunicorn" and option(command, "--config", "-c") is None:
        # gunicorn reads ./gunicorn.conf.py by default: the other apps run from other folders.
        config = ROOT / "gunicorn.conf.py"
        if config.exists():
            command[1:1] = ["--config", str(config)]
    return command


def is_path(word: str) -> bool:
    """Whether a command-line word names a file in the repository by a relative path."""
    return not word.startswith("-") and "/" in word and (ROOT / word).exists()


def with_app(command: list[str], app: str) -> list[str]:
    """The same command line serving another app in place of the package's."""
    return [app if PACKAGE_APP.match(word) else word for word in command]


def option(command: list[str], *names: str) -> str | None:
    """The value of a command-line option (`--name value`, `--name=value` or `-n value`)."""
    for index, word in enumerate(command):
        for name in names:
            if word == name and index + 1 < len(command):
                return command[index + 1]
            if word.startswith(f"{name}="):
                return word.split("=", 1)[1]
    return None


def workers_of(command: list[str]) -> int:
    """How many worker processes the command line asks for (the servers' default is 1)."""
    return int(option(command, "--workers", "-w") or 1)


def server_name(command: list[str]) -> str:
    """The server program: gunicorn, uvicorn, ..."""
    return Path(command[0]).name


def worker_class(command: list[str], log: str) -> str:
    """The worker class as the server ran it: gunicorn logs "Using worker: <class>"."""
    name = server_name(command)
    if name != "gunicorn":
        return name
    used = re.search(r"Using worker: (\S+)", log)
    worker = used.group(1) if used else option(command, "--worker-class", "-k") or "sync"
    threads = option(command, "--threads")
    return f"{worker}, {threads} threads" if threads and int(threads) > 1 else worker


# Processes ----------------------------------------------------------------------------------------


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


def wait_for_workers(root: int, name: str, wanted: int, deadline: float) -> None:
    """Wait until every worker process has started (and shown its RSS)."""
    while len(worker_pids(root)) < wanted or any(rss_kb(pid) == 0 for pid in worker_pids(root)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: fewer than {wanted} workers by the deadline")
        time.sleep(0.05)
    time.sleep(0.5)  # a bench script, not a test: let just-forked workers finish importing


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


def stop(process: subprocess.Popen, grace_s: float = 15) -> None:
    """Stop the server's whole process group, gracefully and then not."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
