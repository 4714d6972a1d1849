"""The live-only checks need real servers: without --server=live they are skipped."""

from pathlib import Path

import pytest

LIVE_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests of this directory unless the suite runs with --server=live."""
    if config.getoption("server") == "live":
        return
    needs_live = pytest.mark.skip(reason="needs --server=live")
    for item in items:
        if LIVE_DIR in item.path.parents:
            item.add_marker(needs_live)
