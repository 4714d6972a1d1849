"""HEAD, OPTIONS and a complete Allow header, none of which FastAPI provides by default."""

from fastapi import Request, Response, status
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ROUTABLE_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")


class HeadAsGetMiddleware:
    """Serve HEAD as GET without the body: FastAPI routes, unlike Starlette's, omit HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap the next ASGI app."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass every request through, running a HEAD as a GET whose body is not sent."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            """Send the status and headers as they are, and every body message empty."""
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


def allowed_methods(scope: Scope) -> list[str]:
    """Every method the app serves at the scope's path, asking each route as the router does."""
    # Starlette's own 405 lists only the methods of the first route that matched the path. A Mount
    # (the docs' files) matches every method, so it is not asked; the included routers are.
    routes = [route for route in scope["app"].router.routes if not isinstance(route, Mount)]
    allowed = {
        method
        for method in ROUTABLE_METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    }
    if "GET" in allowed:
        allowed.add("HEAD")
    return sorted(allowed)


def options_response(request: Request) -> Response:
    """204 with an Allow header listing every method of the request's path."""
    allow = ", ".join(allowed_methods(request.scope))
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"Allow": allow})
