"""make docs-check: each server's Swagger UI at /docs, in a real browser, with no internet.

For each framework: start the server exactly as `make serve-<framework>` does (on a free port, with
a throwaway database), wait for /health, open /docs in headless Chromium (Debian's, driven by
Playwright), wait until the books operations are rendered, check that every request the page made
went to the server itself, and save a screenshot under var/docs-check/.
"""

import re
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, Route, sync_playwright

from sidebyside.layout import CHROMIUM, CHROMIUM_ARGS
from tests.live.servers import LiveServer

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO_ROOT / "var" / "docs-check"
FRAMEWORKS = ("django", "flask", "fastapi")
RENDER_SECONDS = 30
# The operations Swagger UI must show: GET /books and the /books/{id} routes, whatever the
# framework calls the id parameter.
BOOK_PATHS = (re.compile(r"/books"), re.compile(r"/books/\{\w+\}"))


@contextmanager
def served(framework: str, database_dir: Path, api_token: str = "") -> Iterator[str]:
    """Run `make serve-<framework>` (as the live suite does) until the block ends; yield its URL."""
    server = LiveServer(
        framework,
        database_url=f"sqlite:///{database_dir / framework}.sqlite3",
        api_token=api_token or secrets.token_urlsafe(16),
        log_path=database_dir / f"{framework}.log",
        workers=1,
    )
    server.start()
    try:
        server.wait_until_healthy()
        yield server.base_url
    finally:
        server.terminate()


def rendered_paths(page: Page) -> list[str]:
    """The paths of the operations Swagger UI shows, once every books path is among them."""
    page.wait_for_selector(".opblock-summary-path", timeout=RENDER_SECONDS * 1000)
    deadline = time.monotonic() + RENDER_SECONDS
    while True:
        paths: list[str] = page.eval_on_selector_all(
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
            args=CHROMIUM_ARGS,
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
            except (AssertionError, RuntimeError, TimeoutError, PlaywrightError) as error:
                log = (scratch_dir / f"{framework}.log").read_text()
                print(f"{framework}: FAILED: {error}\n--- server output ---\n{log}", flush=True)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(FRAMEWORKS)))
