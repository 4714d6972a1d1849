"""uvicorn's HTTP protocol for `make serve-fastapi` (--http), with a deadline for request heads.

uvicorn waits for a request head for as long as the client likes: its keep-alive timeout starts
only after a first response and stops at the first byte of the next head. Each connection costs
uvicorn little, but one that sends nothing, or a header line now and then, is held forever. Here
every head must be complete within --timeout-keep-alive seconds of the connection opening or of
the previous response; otherwise the connection is closed.
"""

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

INVALID_HANDSHAKE = {
    "type": "about:blank",
    "title": "Bad Request",
    "status": 400,
    "detail": "The WebSocket handshake is invalid.",
}


class HeadDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; a head not complete in time closes the connection."""

    head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self.start_head_deadline()

    def on_headers_complete(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Not while a pipelined request, its head already read, is being served.
        if not self.transport.is_closing() and self.cycle.response_complete:
            self.start_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
        super().connection_lost(exc)

    def start_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
        self.head_deadline = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )


class GoingAwayWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol; on a graceful stop each connection is closed with 1001
    ("going away", RFC 6455), where uvicorn says 1012 ("service restart", a later IANA code), and
    a handshake it refuses is a problem document, not uvicorn's plain text."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        accept = self.conn.accept

        def accept_or_problem(request: Request) -> Response:
            response = accept(request)
            if response.status_code == 101:
                return response
            body = json.dumps(INVALID_HANDSHAKE).encode()
            headers = Headers(
                {"Content-Type": "application/problem+json", "Content-Length": str(len(body))}
            )
            return Response(400, "Bad Request", headers, body)

        self.conn.accept = accept_or_problem  # type: ignore[method-assign]

    def shutdown(self) -> None:
        if self.handshake_complete and not self.close_sent:
            self.stop_keepalive()
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1001})
            self.conn.send_close(1001, "Server shutting down.")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.transport.close()
        else:
            super().shutdown()
