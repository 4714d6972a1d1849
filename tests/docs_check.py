"""make docs-check: each server's Swagger UI at /docs, in a real browser, with no internet.

For each framework: start the server exactly as `make serve-<framework>` does (on a free port, with
a throwaway database), wait for /health, open /docs in headless Chromium (Debian's, driven by
Playwright), wait until the books operations are rendered, check that every request the page made
went to the server itself, and save a screenshot under var/docs-check/.
"""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, Route, sync_playwright

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO_ROOT / "var" / "docs-check"
FRAMEWORKS = ("django", "flask", "fastapi")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# No sandbox (containers), no GPU, and none of Chromium's own traffic to Google's services.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 90
RENDER_SECONDS = 30
# The operations Swagger UI must show: GET /books and the /books/{id} routes, whatever the
# framework calls the id parameter.
BOOK_PATHS = (re.compile(r"/books"), re.compile(r"/books/\{\w+\}"))


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 now, chosen by the OS."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(framework: str, database_dir: Path) -> Iterator[str]:
    """Run `make serve-<framework>` on a free port until the block ends; yield its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "BOOKS_API_TOKEN": secrets.token_urlsafe(16),
        "DATABASE_URL": f"sqlite:///{database_dir / framework}.sqlite3",
    }
    command = ["make", "--no-print-directory", f"serve-{framework}", f"PORT={port}", "WORKERS=1"]
    log = (database_dir / f"{framework}.log").open("w")
    # A session of its own, so that the server and its workers stop together.
    server = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base_url, server)
        yield base_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def wait_for_health(base_url: str, server: subprocess.Popen) -> None:
    """Poll GET /health until it answers 200, or fail at the deadline or if the server exits."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}")
        try:
            if httpx2.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base_url}/health did not answer 200 within {STARTUP_SECONDS} s")


def rendered_paths(page: Page) -> list[str]:
    """The paths of the operations Swagger UI shows, once every books path is among them."""
    page.wait_for_selector(".opblock-summary-path", timeout=RENDER_SECONDS * 1000)
    deadline = time.monotonic() + RENDER_SECONDS
    while True:
        paths = page.eval_on_selector_all(
            ".opblock-summary-path", "nodes => nodes.map(n => n.dataset.path)"
        )
        if all(any(p.fullmatch(path) for path in paths) for p in BOOK_PATHS):
            return paths
        if time.monotonic() > deadline:
            raise AssertionError(f"Swagger UI showed only {paths}")
        page.wait_for_timeout(100)


def check_docs(framework: str, base_url: str, browser_dir: Path) -> str:
    """Open /docs, check what it renders and loads, save a screenshot; return a summary line."""
    origin = urlsplit(base_url).netloc
    foreign: list[str] = []
    page_errors: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            browser_dir / framework,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        loaded: list[str] = []

        def only_this_server(route: Route, request: Request) -> None:
            """Let requests to the server through; record and refuse any other."""
            loaded.append(request.url)
            if urlsplit(request.url).netloc == origin:
                route.continue_()
            else:
                foreign.append(request.url)
                route.abort()

        context.route("**/*", only_this_server)
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        started = time.monotonic()
        response = page.goto(f"{base_url}/docs")
        assert response is not None, "GET /docs: no response"
        assert response.status == 200, f"GET /docs: {response.status}"
        paths = rendered_paths(page)
        elapsed = time.monotonic() - started
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        screenshot = SCREENSHOTS / f"docs-{framework}.png"
        page.screenshot(path=screenshot, full_page=True)
        context.close()
    assert not foreign, f"{framework}: requests that left the server: {foreign}"
    assert not page_errors, f"{framework}: errors in the page: {page_errors}"
    return (
        f"{framework}: {len(paths)} operations rendered in {elapsed:.1f} s from {len(loaded)} "
        f"requests, all to {origin}; {screenshot.relative_to(REPO_ROOT)}"
    )


def main(frameworks: list[str]) -> int:
    """Check each framework's /docs; print one line each; non-zero exit on the first failure."""
    with tempfile.TemporaryDirectory(prefix="docs-check-") as scratch:
        scratch_dir = Path(scratch)
        for framework in frameworks:
            try:
                with served(framework, scratch_dir) as base_url:
                    print(check_docs(framework, base_url, scratch_dir), flush=True)
            except (AssertionError, RuntimeError, PlaywrightError) as error:
                log = (scratch_dir / f"{framework}.log").read_text()
                print(f"{framework}: FAILED: {error}\n--- server output ---\n{log}", flush=True)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(FRAMEWORKS)))
