"""The live-only checks need real servers: without --server=live they are skipped."""

from pathlib import Path

import pytest

from tests.conftest import is_live
from tests.contract import TOKEN
from tests.databases import PreparedDatabase
from tests.live.plugin import ServerPool, watch_log
from tests.live.servers import LiveServer

LIVE_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests of this directory unless the suite runs with --server=live or stack."""
    if is_live(config):
        return
    needs_live = pytest.mark.skip(reason="needs --server=live")
    for item in items:
        if LIVE_DIR in item.path.parents:
            item.add_marker(needs_live)


@pytest.fixture
def database(framework: str, live_servers: ServerPool) -> PreparedDatabase:
    """The framework's test database."""
    return live_servers.databases.prepared(framework)


@pytest.fixture
def two_hosts(
    framework: str,
    live_servers: ServerPool,
    database: PreparedDatabase,
    request: pytest.FixtureRequest,
) -> tuple[LiveServer, LiveServer]:
    """Two servers on one database, holding exactly the seed: 2 workers and 4 workers."""
    hosts = (live_servers.server(framework, TOKEN), live_servers.four_worker_server(framework))
    database.reset()
    for host in hosts:
        watch_log(request, host)
    return hosts
