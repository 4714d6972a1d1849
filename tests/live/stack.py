"""`--server=stack`: each server of the live suite is a whole stack, started as
`make stack-<framework>` starts it (deploy/stack.py): nginx on the server's port, two instances of
the serve target behind it, and PgBouncer between them and the test database.
"""

import contextlib
import os
from dataclasses import dataclass

from deploy.stack import Stack
from tests.live.servers import LiveServer

INSTANCES = 2


@dataclass
class StackServer(LiveServer):
    """A `LiveServer` whose port is nginx's; its log is what the instances write."""

    stack: Stack | None = None

    def start(self) -> None:
        environment = {"BOOKS_API_TOKEN": self.api_token}
        if self.workers is not None:
            environment["WORKERS"] = str(self.workers)
        if self.catalog_url:
            environment["CATALOG_URL"] = self.catalog_url
        if self.catalog_timeout is not None:
            environment["CATALOG_TIMEOUT"] = str(self.catalog_timeout)
        self.stack = Stack(
            self.framework,
            self.database_url,
            self.log_path.with_suffix(""),
            port=self.port,
            instances=INSTANCES,
            environment=environment,
        )
        self.log_path = self.stack.instances_log
        self.stack.start()
        self.process = self.stack.nginx.process

    def is_running(self) -> bool:
        return self.stack is not None and all(part.is_running() for part in self.stack.parts)

    def terminate(self) -> None:
        assert self.stack is not None
        self.stack.stop()

    def kill(self) -> None:
        if self.stack is not None:
            self.stack.kill()

    def signal(self, signum: int) -> None:
        # To each part's process group: an instance's process is `make`, its server a child.
        if self.stack is not None:
            for part in self.stack.parts:
                if part.process is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(part.process.pid, signum)
