"""The FastAPI application: uvicorn fastapi_books.main:app."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from fastapi_books.automatic_methods import AutomaticMethodsMiddleware
from fastapi_books.limits import RequestLimitsMiddleware
from fastapi_books.openapi import without_default_422
from fastapi_books.problems import EXCEPTION_HANDLERS
from fastapi_books.routes import books, docs, health

# No redirect from /books/ to /books: a trailing slash is simply not a route (404). FastAPI serves
# /openapi.json itself; its /docs would load Swagger UI from a CDN, so routes/docs.py serves the
# page with the assets below instead, and there is no /redoc.
app = FastAPI(
    title="Books API",
    version="1.0.0",
    redirect_slashes=False,
    exception_handlers=EXCEPTION_HANDLERS,
    docs_url=None,
    redoc_url=None,
)
# FastAPI's documented way to change the document; mypy refuses any assignment to a method.
app.openapi = lambda: without_default_422(app)  # type: ignore[method-assign]
app.add_middleware(AutomaticMethodsMiddleware)
# Outermost: uvicorn passes on any head, and a body as slowly as it comes.
app.add_middleware(RequestLimitsMiddleware)
app.include_router(books.router)
app.include_router(health.router)
app.include_router(docs.router)
# Swagger UI's files, as the fastapi-offline package ships them.
app.mount(
    "/docs/assets",
    StaticFiles(packages=[("fastapi_offline", "static")]),
    name=docs.SWAGGER_UI_ASSETS,
)
