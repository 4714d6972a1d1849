"""Hold SQLite's write lock for 2.5 s, send a POST that must wait for it, and time a GET meanwhile.

Usage: python bench/lock_wait.py DATABASE_FILE BASE_URL TOKEN
"""

import sqlite3
import sys
import threading
import time

import httpx2


def main(database: str, base_url: str, token: str) -> None:
    """Print how long the GET took and what the waiting POST got."""
    lock = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    lock.execute("BEGIN IMMEDIATE")
    post_status: list[int | str] = []

    def post() -> None:
        book = {"title": f"Waiting {time.time()}", "author": "Lock"}
        headers = {"Authorization": f"Bearer {token}"}
        post_status.append(answer("POST", f"{base_url}/books", json=book, headers=headers))

    writer = threading.Thread(target=post)
    writer.start()
    # Give the POST time to reach the lock (a bench script, not a test: no condition to poll).
    time.sleep(0.5)
    threading.Timer(2.0, lambda: lock.execute("COMMIT")).start()
    started = time.perf_counter()
    reader_status = answer("GET", f"{base_url}/books/1")
    took = time.perf_counter() - started
    writer.join()
    print(
        f"GET /books/1 while a POST waited for the lock: {reader_status} in {took:.2f} s;"
        f" the POST: {post_status[0]}"
    )


def answer(method: str, url: str, **options: object) -> int | str:
    """The response's status code, or "no answer" when none comes within 30 s."""
    try:
        return httpx2.request(method, url, timeout=30, **options).status_code  # type: ignore[arg-type]
    except httpx2.TransportError:
        return "no answer"


if __name__ == "__main__":
    main(*sys.argv[1:4])
