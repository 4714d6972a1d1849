"""The FastAPI application: uvicorn fastapi_books.main:app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI
from fastapi.exceptions import WebSocketRequestValidationError
from fastapi.staticfiles import StaticFiles

from fastapi_books.automatic_methods import AutomaticMethodsMiddleware
from fastapi_books.catalog import CatalogSession, catalog_session
from fastapi_books.change_feed import ChangeFeed
from fastapi_books.db import engine
from fastapi_books.limits import RequestLimitsMiddleware
from fastapi_books.openapi import without_default_422
from fastapi_books.problems import EXCEPTION_HANDLERS
from fastapi_books.routes import books, changes, docs, health


class State(TypedDict):
    """What each request finds in request.state: the worker's resources."""

    catalog_session: CatalogSession
    change_feed: ChangeFeed


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    """Each worker process's one session with the catalog, open while the worker serves, and its
    reader of the outbox for live updates."""
    feed = ChangeFeed(engine)
    async with catalog_session() as session:
        yield {"catalog_session": session, "change_feed": feed}
    feed.stop()


# No redirect from /books/ to /books: a trailing slash is simply not a route (404). FastAPI serves
# /openapi.json itself; its /docs would load Swagger UI from a CDN, so routes/docs.py serves the
# page with the assets below instead, and there is no /redoc.
app = FastAPI(
    title="Books API",
    version="1.3.0",
    lifespan=lifespan,
    redirect_slashes=False,
    exception_handlers=EXCEPTION_HANDLERS,
    docs_url=None,
    redoc_url=None,
)
# FastAPI's documented way to change the document; mypy refuses any assignment to a method.
app.openapi = lambda: without_default_422(app)  # type: ignore[method-assign]
app.add_exception_handler(WebSocketRequestValidationError, changes.invalid_after)  # type: ignore[arg-type]
app.add_middleware(AutomaticMethodsMiddleware)
# Outermost: uvicorn passes on any head, and a body as slowly as it comes.
app.add_middleware(RequestLimitsMiddleware)
app.include_router(changes.router)
app.include_router(books.router)
app.include_router(health.router)
app.include_router(docs.router)
# Swagger UI's files, as the fastapi-offline package ships them.
app.mount(
    "/docs/assets",
    StaticFiles(packages=[("fastapi_offline", "static")]),
    name=docs.SWAGGER_UI_ASSETS,
)
