"""A local stand-in for the upstream catalog (Open Library's search API), for tests and bench.

    python -m tests.catalog_stub --port PORT [--host 127.0.0.1] [--delay SECONDS]

`GET /search.json?...` answers, after the delay, 200 `application/json` with one record (`RECORD`),
whatever the query. Other paths of the catalog are 404. The behaviour can be changed while it runs:

- `PUT /_stub/behaviour` with a JSON object of any of: `delay` (seconds before answering), `status`,
  `body` (the raw text of the body), `content_type`, `headers` (more response headers, name to
  value), `fault` (null; `"close"`: close the connection without answering; `"trickle"`: send the
  head at once, then the body one byte every `trickle_interval` seconds) and `trickle_interval`.
  Missing keys take their defaults; the answer is the behaviour now in force.
- `DELETE /_stub/behaviour` restores the defaults (with the `--delay` of the command line).
- `GET /_stub/requests` lists the catalog requests received (every request outside `/_stub/`), the
  last `MAX_RECORDED` of them: `method`, `target` and `headers` (names lower-cased).
  `DELETE /_stub/requests` forgets them.
- `GET /_stub/health` is 200 once the stub listens.

With `--port 0` the system chooses the port. Either way the stub prints one line,
`catalog stub listening on http://HOST:PORT`, once it listens.

It must never be the bottleneck of a benchmark: one process on asyncio with uvloop, a raw
`asyncio.Protocol` with a minimal HTTP/1.1 keep-alive parser, and delays with `loop.call_later`.
"""

import argparse
import asyncio
import contextlib
import json
import os
import select
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field, fields, replace
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any, TypedDict, cast

import httpx2

HOST = "127.0.0.1"
RECORD: dict[str, Any] = {
    "key": "/works/OL893415W",
    "first_publish_year": 1965,
    "isbn": [
        "9780441013593",
        "0441013597",
        "9780340960196",
        "0340960191",
        "9780441172719",
        "0441172717",
        "9780593099322",
    ],
}
DEFAULT_BODY = json.dumps({"numFound": 1, "start": 0, "docs": [RECORD]})
CATALOG_PATH = "/search.json"
CONTROL_PREFIX = "/_stub/"
CATALOG_PATH_BYTES = CATALOG_PATH.encode()
CONTROL_PREFIX_BYTES = CONTROL_PREFIX.encode()
FAULTS = (None, "close", "trickle")
# Enough for any test; a benchmark's millions of requests are not all kept.
MAX_RECORDED = 10_000
MAX_HEAD = 65536
MAX_CONTROL_BODY = 1024 * 1024
READY_LINE = "catalog stub listening on "
START_DEADLINE = 30.0


class RecordedRequest(TypedDict):
    """A catalog request as the stub received it."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Behaviour:
    """How the stub answers catalog requests."""

    delay: float = 0.0
    status: int = 200
    body: str = DEFAULT_BODY
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None
    trickle_interval: float = 0.1

    @classmethod
    def parse(cls, settings: object, default: "Behaviour") -> "Behaviour":
        """The default behaviour with these settings applied; ValueError if they are not valid."""
        if not isinstance(settings, dict):
            raise ValueError("the behaviour is a JSON object")
        known = {f.name for f in fields(cls)}
        if unknown := set(settings) - known:
            raise ValueError(f"unknown keys: {sorted(unknown)}; known: {sorted(known)}")
        behaviour = replace(default, **settings)
        checks = {
            "delay": is_number(behaviour.delay) and behaviour.delay >= 0,
            "status": type(behaviour.status) is int and 100 <= behaviour.status <= 599,
            "body": isinstance(behaviour.body, str),
            "content_type": isinstance(behaviour.content_type, str),
            "headers": isinstance(behaviour.headers, dict)
            and all(isinstance(v, str) for v in behaviour.headers.values()),
            "fault": behaviour.fault in FAULTS,
            "trickle_interval": is_number(behaviour.trickle_interval)
            and behaviour.trickle_interval > 0,
        }
        if invalid := [name for name, valid in checks.items() if not valid]:
            raise ValueError(f"invalid values: {invalid}")
        return behaviour

    def as_json(self) -> dict[str, Any]:
        """The behaviour as the control API shows it."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def head(self, body_length: int) -> bytes:
        """The status line and headers of a catalog answer."""
        lines = [
            f"HTTP/1.1 {self.status} {reason(self.status)}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {body_length}",
            *(f"{name}: {value}" for name, value in self.headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


def is_number(value: object) -> bool:
    """An int or float that is not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def reason(status: int) -> str:
    """The reason phrase of a status, or a neutral one for a code Python does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    """A complete response."""
    head = (
        f"HTTP/1.1 {status} {reason(status)}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def json_response(status: int, document: object) -> bytes:
    """A complete JSON response."""
    return response(status, json.dumps(document).encode())


def header_fields(head: bytes) -> dict[str, str]:
    """The header fields of a request head, names lower-cased; repeated ones joined by ", "."""
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def recorded_request(head: bytes) -> RecordedRequest:
    """A recorded request head as the control API lists it."""
    method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return {"method": method, "target": target, "headers": header_fields(head)}


class Stub:
    """The stub's state, shared by every connection: the behaviour and the recorded requests."""

    def __init__(self, default: Behaviour) -> None:
        self.default = default
        self.behaviour = default
        # The heads of the catalog requests, parsed when listed.
        self.recorded: deque[bytes] = deque(maxlen=MAX_RECORDED)
        self.set_behaviour(default)

    def set_behaviour(self, behaviour: Behaviour) -> None:
        """Put a behaviour in force, with its answer to GET and to HEAD built once."""
        self.behaviour = behaviour
        self.body = behaviour.body.encode()
        self.head = behaviour.head(len(self.body))
        self.answer = self.head + self.body

    def control(self, method: str, path: str, body: bytes) -> bytes:
        """Answer a request to the control API."""
        route = path.removeprefix(CONTROL_PREFIX)
        if route == "health" and method in {"GET", "HEAD"}:
            return json_response(200, {"status": "ok"})
        if route == "behaviour" and method == "GET":
            return json_response(200, self.behaviour.as_json())
        if route == "behaviour" and method == "PUT":
            try:
                settings = json.loads(body)
                self.set_behaviour(Behaviour.parse(settings, self.default))
            except ValueError as error:
                return json_response(400, {"error": str(error)})
            return json_response(200, self.behaviour.as_json())
        if route == "behaviour" and method == "DELETE":
            self.set_behaviour(self.default)
            return json_response(200, self.behaviour.as_json())
        if route == "requests" and method == "GET":
            return json_response(200, [recorded_request(head) for head in self.recorded])
        if route == "requests" and method == "DELETE":
            self.recorded.clear()
            return json_response(200, [])
        return json_response(404, {"error": f"no {method} {path}"})


class Connection(asyncio.Protocol):
    """One client connection: requests read one at a time, each answered in turn."""

    def __init__(self, stub: Stub) -> None:
        self.stub = stub
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.busy = False  # a request is being answered: the next waits in the buffer
        self.close_after = False
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transport is an asyncio.Transport in all but its class hierarchy.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def data_received(self, data: bytes) -> None:
        self.buffer = self.buffer + data if self.buffer else data
        if not self.busy:
            self.next_request()

    def next_request(self) -> None:
        """Parse the next complete request in the buffer, if there is one, and answer it.

        The hot path (a GET with a few headers) stays in bytes and C-level methods: the header
        fields are parsed only when a body or a Connection header may be there, and a recorded
        request only when the requests are listed.
        """
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD:
                self.finish(response(431, b"head too large", "text/plain"), close=True)
            return
        head = buffer[:end]
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) != 3:
            self.finish(response(400, b"bad request line", "text/plain"), close=True)
            return
        method, target, version = parts
        lowered = head.lower()
        length = 0
        connection = ""
        if b"content-length:" in lowered or b"connection:" in lowered:
            headers = header_fields(head)
            length = int(headers.get("content-length", "0") or "0")
            connection = headers.get("connection", "").lower()
        if length > MAX_CONTROL_BODY:
            self.finish(response(413, b"body too large", "text/plain"), close=True)
            return
        if len(buffer) < end + 4 + length:
            return  # the body is still arriving
        body = buffer[end + 4 : end + 4 + length]
        self.buffer = buffer[end + 4 + length :]
        self.close_after = connection == "close" or (
            version == b"HTTP/1.0" and connection != "keep-alive"
        )
        self.busy = True
        path = target.partition(b"?")[0]
        if path.startswith(CONTROL_PREFIX_BYTES):
            self.finish(self.stub.control(method.decode(), path.decode("latin-1"), body))
            return
        self.stub.recorded.append(head)
        if path != CATALOG_PATH_BYTES or method not in (b"GET", b"HEAD"):
            self.finish(response(404, b'{"error": "not found"}'))
            return
        behaviour = self.stub.behaviour
        answer = self.answer_head if method == b"HEAD" else self.answer_get
        if behaviour.delay > 0:
            self.timer = self.loop.call_later(behaviour.delay, answer, behaviour)
        else:
            answer(behaviour)

    def answer_get(self, behaviour: Behaviour) -> None:
        """Answer a catalog GET as the behaviour says."""
        self.timer = None
        if behaviour.fault == "close":
            self.close()
        elif behaviour.fault == "trickle":
            self.write(self.stub.head)
            self.trickle(self.stub.body, behaviour.trickle_interval)
        else:
            self.finish(self.stub.answer)

    def answer_head(self, behaviour: Behaviour) -> None:
        """Answer a catalog HEAD: the GET's head, no body."""
        self.timer = None
        if behaviour.fault == "close":
            self.close()
        else:
            self.finish(self.stub.head)

    def trickle(self, rest: bytes, interval: float) -> None:
        """Send the body one byte at a time, `interval` seconds apart, while the client stays."""
        if self.transport is None:
            return
        if not rest:
            self.finish(b"")
            return
        self.write(rest[:1])
        self.timer = self.loop.call_later(interval, self.trickle, rest[1:], interval)

    def write(self, data: bytes) -> None:
        """Send bytes, if the client is still there."""
        if self.transport is not None:
            self.transport.write(data)

    def finish(self, data: bytes, close: bool = False) -> None:
        """Send the end of a response; then close, or go on with the next request."""
        self.timer = None
        self.write(data)
        if close or self.close_after:
            self.close()
            return
        self.busy = False
        if self.buffer:
            self.next_request()

    def close(self) -> None:
        """Close the connection (after what was written is sent)."""
        if self.transport is not None:
            self.transport.close()


async def serve(host: str, port: int, delay: float) -> None:
    """Listen and serve until cancelled; print the ready line once listening."""
    stub = Stub(Behaviour(delay=delay))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(stub), host, port, backlog=4096)
    bound = server.sockets[0].getsockname()
    print(f"{READY_LINE}http://{bound[0]}:{bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve, on uvloop."""
    import uvloop  # only the server needs it, not the fixtures that start it

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0: any free port")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    arguments = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(arguments.host, arguments.port, arguments.delay))


# The Python API of the fixtures and the benchmark.


class StubExited(RuntimeError):
    """The stub's process ended while it should be running."""


class CatalogStub:
    """The stub in a subprocess on a free port: `start()`, `configure(...)`, `reset()`, `stop()`."""

    def __init__(self, host: str = HOST, delay: float = 0.0, log_path: Path | None = None) -> None:
        self.host = host
        self.delay = delay
        self.log_path = log_path
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0

    def start(self) -> "CatalogStub":
        """Start the stub on a port the system chooses; return once /_stub/health answers."""
        with contextlib.ExitStack() as files:
            log: IO[str] | None = None  # without a log file: this process's stderr
            if self.log_path is not None:
                log = files.enter_context(self.log_path.open("a"))
            self.process = self.launch(log)
        try:
            line = self.ready_line()
            self.url = line.removeprefix(READY_LINE).strip()
            self.port = int(self.url.rpartition(":")[2])
            status, _ = self.call("GET", "/_stub/health")
            if status != 200:
                raise StubExited(f"the stub answered /_stub/health with {status}")
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self, log: IO[str] | None) -> "subprocess.Popen[str]":
        """The stub's process, on a port the system chooses; its ready line on a pipe."""
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "tests.catalog_stub"),
                *("--host", self.host, "--port", "0", "--delay", str(self.delay)),
            ],
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def ready_line(self) -> str:
        """Wait (bounded) for the line the stub prints once it listens."""
        assert self.process is not None
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], START_DEADLINE)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith(READY_LINE):
            raise StubExited(f"the catalog stub did not start: {line!r}")
        return line

    def call(self, method: str, path: str, document: object = None) -> tuple[int, Any]:
        """A request to the control API; its status and parsed JSON answer."""
        answer = httpx2.request(method, f"{self.url}{path}", json=document, timeout=10)
        return answer.status_code, answer.json()

    def configure(self, **behaviour: object) -> None:
        """Change the behaviour: missing keys take their defaults (see the module's doc)."""
        status, answer = self.call("PUT", "/_stub/behaviour", behaviour)
        if status != 200:
            raise ValueError(f"the stub refused {behaviour}: {answer}")

    def reset(self) -> None:
        """The default behaviour again, and no recorded request."""
        self.call("DELETE", "/_stub/behaviour")
        self.call("DELETE", "/_stub/requests")

    def requests(self) -> list[RecordedRequest]:
        """The catalog requests received since the last reset."""
        recorded: list[RecordedRequest] = self.call("GET", "/_stub/requests")[1]
        return recorded

    def stop(self) -> None:
        """Stop the stub and wait for it to exit."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> "CatalogStub":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


if __name__ == "__main__":
    main()
