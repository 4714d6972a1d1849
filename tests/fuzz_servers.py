"""schemathesis with the canonical OpenAPI document against each server, started as `make serve-*`.

For each framework: the server started as `make serve-<framework>` starts it (on a free port, with a
throwaway database, by `served` from make docs-check, its CATALOG_URL the catalog stub of
tests/catalog_stub.py), then `schemathesis run shared_fixtures/openapi.yaml` with every check
(schemathesis.toml says which one is off, and why) and the write token. Exits non-zero when any run
finds a failure.

    python -m tests.fuzz_servers [django] [flask] [fastapi]

FUZZ_EXAMPLES (default 100) is schemathesis's --max-examples per operation, FUZZ_SEED its --seed.
"""

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.catalog_stub import CatalogStub
from tests.contract import CATALOG_TIMEOUT
from tests.docs_check import FRAMEWORKS, REPO_ROOT, served


def fuzz(framework: str, examples: str, seed: str) -> bool:
    """Start one server, run schemathesis against it, stop it; True when nothing failed."""
    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{framework}-") as directory:
        with served(framework, Path(directory), api_token=token) as url:
            print(f"\n=== schemathesis against {framework} on {url}", flush=True)
            run = subprocess.run(
                [
                    str(Path(sys.executable).parent / "schemathesis"),
                    "run",
                    "shared_fixtures/openapi.yaml",
                    f"--url={url}",
                    f"--header=Authorization: Bearer {token}",
                    f"--max-examples={examples}",
                    f"--seed={seed}",
                    "--generation-database=none",
                    "--no-color",
                ],
                cwd=REPO_ROOT,
                check=False,
            )
        return run.returncode == 0


def main() -> int:
    """Fuzz the frameworks named on the command line, or all three; report each one's result."""
    frameworks = sys.argv[1:] or list(FRAMEWORKS)
    examples = os.environ.get("FUZZ_EXAMPLES", "100")
    seed = os.environ.get("FUZZ_SEED", "1")
    results = {}
    # The servers inherit this environment: GET /books/{id}/catalog asks the stub, which answers
    # every search with its one record at once.
    with CatalogStub() as catalog:
        os.environ["CATALOG_URL"] = catalog.url
        os.environ["CATALOG_TIMEOUT"] = str(CATALOG_TIMEOUT)
        for framework in frameworks:
            started = time.monotonic()
            passed = fuzz(framework, examples, seed)
            results[framework] = (
                f"{'passed' if passed else 'FAILED'} in {time.monotonic() - started:.0f} s"
            )
    print(f"\nschemathesis, {examples} examples per operation, seed {seed}:")
    for framework, result in results.items():
        print(f"  {framework}: {result}")
    return 0 if all(result.startswith("passed") for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
