"""The FastAPI application: uvicorn fastapi_books.main:app."""

from fastapi import FastAPI

from fastapi_books.errors import EXCEPTION_HANDLERS
from fastapi_books.methods import HeadAsGetMiddleware
from fastapi_books.routes import books, health

# No redirect from /books/ to /books: a trailing slash is simply not a route (404). No /docs,
# /redoc or /openapi.json either: the contract has no documentation pages yet, so they are 404.
app = FastAPI(
    title="Books API",
    redirect_slashes=False,
    exception_handlers=EXCEPTION_HANDLERS,
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)
app.add_middleware(HeadAsGetMiddleware)
app.include_router(books.router)
app.include_router(health.router)
