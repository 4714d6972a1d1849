"""The contract's limits on a request's head, and on how long its body may take to arrive.

gunicorn enforces both before the Django and Flask apps run; uvicorn hands any head and body to
the app as they come, so the app holds them to the same limits here.
"""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_books.config import get_settings
from fastapi_books.problems import problem

# The request line, and each header field line with its CRLF: at most 8190 bytes; 100 fields.
HEAD_LINE_LIMIT = 8190
HEADER_FIELDS_LIMIT = 100
# A proxy in front (FORWARDED_ALLOW_IPS) adds X-Forwarded-For and X-Forwarded-Proto to the
# client's fields, as gunicorn.conf.py allows for the other two.
PROXY_FIELDS = 2
BODY_SECONDS = 10
# The contract's largest body (64 KiB) and one byte more, which tells a body over it (a 413).
BODY_BUFFER = 64 * 1024 + 1


def request_line_length(scope: Scope) -> int:
    """The request line's length as the client sent it, without its CRLF."""
    query = scope["query_string"]
    target = len(scope["raw_path"]) + (len(query) + 1 if query else 0)
    return len(scope["method"]) + len(" ") + target + len(" HTTP/") + len(scope["http_version"])


def head_refusal(scope: Scope) -> tuple[int, str] | None:
    """414 or 431 with its detail, for a head over the limits; None for one within them."""
    if request_line_length(scope) > HEAD_LINE_LIMIT:
        return 414, f"The request line is longer than {HEAD_LINE_LIMIT} bytes."
    headers = scope["headers"]
    proxy_fields = PROXY_FIELDS if get_settings().forwarded_allow_ips else 0
    if len(headers) > HEADER_FIELDS_LIMIT + proxy_fields:
        return 431, f"The request has more than {HEADER_FIELDS_LIMIT} header fields."
    if any(len(name) + len(value) + len(": \r\n") > HEAD_LINE_LIMIT for name, value in headers):
        return 431, f"A header field is longer than {HEAD_LINE_LIMIT} bytes."
    return None


async def read_body(receive: Receive) -> list[Message] | None:
    """The body's messages up to BODY_BUFFER bytes; None if the client disconnects first."""
    messages: list[Message] = []
    received = 0
    while received < BODY_BUFFER:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        messages.append(message)
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages


class RequestLimitsMiddleware:
    """Refuse heads over the limits; read each body (up to the contract's limit) in full, within
    BODY_SECONDS, before the app runs, as gunicorn does for the other two."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if refusal := head_refusal(scope):
            status, detail = refusal
            await problem(status, detail, headers={"Connection": "close"})(scope, receive, send)
            return
        try:
            async with asyncio.timeout(BODY_SECONDS):
                messages = await read_body(receive)
        except TimeoutError:
            detail = f"The request body did not arrive within {BODY_SECONDS} seconds."
            await problem(408, detail, headers={"Connection": "close"})(scope, receive, send)
            return
        if messages is None:
            return  # the client has gone: no one to answer

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
