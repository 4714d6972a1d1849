"""Each server's ceiling: a raw WSGI app and a raw ASGI app answering every request with the bytes
of GET /books on the seed (the same body, Content-Type and X-Total-Count as the three packages).

gunicorn ceiling:wsgi_app    uvicorn ceiling:asgi_app    (from bench/)
"""

import json
from pathlib import Path

SEED = json.loads((Path(__file__).parent.parent / "shared_fixtures" / "books.json").read_text())
BODY = json.dumps(SEED, separators=(",", ":")).encode()
HEADERS = [
    ("Content-Type", "application/json"),
    ("Content-Length", str(len(BODY))),
    ("X-Total-Count", str(len(SEED))),
]


def wsgi_app(environ, start_response):
    """Answer any request with the seed list."""
    start_response("200 OK", HEADERS)
    return [BODY]


async def asgi_app(scope, receive, send):
    """Answer any HTTP request with the seed list; accept the lifespan protocol's messages."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(name.lower().encode(), value.encode()) for name, value in HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": BODY})
