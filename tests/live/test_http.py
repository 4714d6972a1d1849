"""What only real servers on real sockets show: concurrency, chunked bodies, framing, keep-alive."""

import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import httpx2
import pytest

from tests.contract import AUTH, MAX_BODY_BYTES, SEED, assert_problem, describe, padded_body
from tests.live.servers import HOST, port_of

PARALLEL_POSTS = 16


def test_parallel_identical_posts_create_one_book(client: httpx2.Client) -> None:
    """Many identical POSTs at once: exactly one 201, every other one 409, one book stored."""
    book = {"title": "Race", "author": "Condition"}
    start = Barrier(PARALLEL_POSTS)

    def post() -> httpx2.Response:
        start.wait()
        return client.post("/books", json=book, headers=AUTH)

    with ThreadPoolExecutor(PARALLEL_POSTS) as pool:
        responses = list(pool.map(lambda _: post(), range(PARALLEL_POSTS)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (PARALLEL_POSTS - 1), [describe(r) for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)
    (created,) = [response.json() for response in responses if response.status_code == 201]
    # Its id need not be 3: on PostgreSQL the refused inserts may have used up ids before it.
    assert created == {"id": created["id"], **book}
    assert client.get("/books").json() == [*SEED, created]


def chunks(body: bytes, size: int = 4096) -> Iterator[bytes]:
    """The body in pieces: without a length, httpx2 sends it with Transfer-Encoding: chunked."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES])
def test_chunked_body_over_64_kib_is_413(client: httpx2.Client, size: int) -> None:
    """A chunked body, which declares no length, is held to the same limit: 413, nothing stored."""
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post("/books", content=chunks(padded_body(size)), headers=headers)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413)
    assert client.get("/books").json() == SEED


def test_chunked_body_of_64_kib_is_read_whole(client: httpx2.Client) -> None:
    """A chunked body of exactly 64 KiB is read to its end and accepted."""
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post("/books", content=chunks(padded_body(MAX_BODY_BYTES)), headers=headers)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 201, describe(response)


def raw_exchange(client: httpx2.Client, request: bytes) -> tuple[bytes, bytes]:
    """Send bytes to the server on a fresh socket; return the response's head and all after it."""
    with socket.create_connection((HOST, port_of(client)), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    return head, rest


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("HEAD", "/books", 200), ("HEAD", "/books/999", 404), ("OPTIONS", "/books", 204)],
)
def test_head_and_options_send_no_body_bytes(
    client: httpx2.Client, method: str, path: str, status: int
) -> None:
    """On the wire, HEAD and OPTIONS responses end with their headers: not one byte of body."""
    request = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    head, rest = raw_exchange(client, request.encode())
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), head
    assert rest == b"", (head, rest)


def test_head_announces_the_length_of_get(client: httpx2.Client) -> None:
    """HEAD's Content-Length, where sent, is GET's: a client may rely on it."""
    head_length = client.head("/books").headers.get("content-length")
    if head_length is not None:
        assert int(head_length) == len(client.get("/books").content)


def test_keep_alive_connection_is_reused(client: httpx2.Client) -> None:
    """Requests on one connection are answered in turn on it: gunicorn's gevent workers and
    uvicorn keep it open for the next request."""
    request = f"GET /health HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    with (
        socket.create_connection((HOST, port_of(client)), timeout=30) as connection,
        connection.makefile("rb") as reader,
    ):
        for _ in range(5):
            connection.sendall(request)
            status_line = reader.readline()
            assert status_line.startswith(b"HTTP/1.1 200 "), status_line
            headers = {}
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = reader.read(int(headers["content-length"]))
            assert json.loads(body) == {"status": "ok"}
            assert headers.get("connection", "keep-alive").lower() == "keep-alive", headers
