"""HEAD and OPTIONS on every route, and a complete Allow header: Django and Flask answer these
by themselves, FastAPI does not."""

from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ROUTABLE_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def allowed_methods(scope: Scope) -> list[str]:
    """Every method the app serves at the scope's path, asking each route as the router does;
    none for a path that is not a route."""
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
    if allowed:
        allowed.add("OPTIONS")
    return sorted(allowed)


class AutomaticMethodsMiddleware:
    """Answer OPTIONS with the path's Allow, and serve HEAD as GET without the body: FastAPI
    routes, unlike Starlette's, omit HEAD, and FastAPI answers OPTIONS only where a route does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
        elif scope["method"] == "HEAD":
            await self.app({**scope, "method": "GET"}, receive, without_body(send))
        elif allowed := allowed_methods(scope):
            # Before any route runs: no token needed, and the book is not looked up.
            await Response(status_code=204, headers={"Allow": ", ".join(allowed)})(
                scope, receive, send
            )
        else:
            await self.app(scope, receive, send)  # not a route: the router's 404


def without_body(send: Send) -> Send:
    async def send_without_body(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_without_body
