"""The books API with Flask: flask-smorest for the REST layer, SQLAlchemy 2 for the database,
httpx2 for the upstream catalog."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError

from flask_books import books, catalog, db, docs, health, live
from flask_books.auth import register_bearer_scheme
from flask_books.catalog import CatalogTimedOut, CatalogUnreadable
from flask_books.problems import (
    ProblemApi,
    book_kept_changing,
    catalog_timed_out,
    catalog_unreadable,
    database_unavailable,
)
from flask_books.proxy import ProxyFixFromProxies
from flask_books.routing import (
    MAX_BOOK_ID,
    BookIdConverter,
    BooksFlask,
    drop_content_type_of_empty_responses,
    reject_empty_path_segments,
)

VAR_DIR = Path(__file__).resolve().parent.parent / "var"
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'flask.sqlite3'}"
MAX_BODY_BYTES = 64 * 1024


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    # An API serves no static files: without a /static route, /static/... is a plain 404.
    app = BooksFlask(__name__, static_folder=None)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        # "transaction" when DATABASE_URL leads to PgBouncer in transaction pooling (db.py).
        DATABASE_POOLER=os.environ.get("DATABASE_POOLER", ""),
        # The proxy's addresses (the variable gunicorn reads for the same proxy): the requests
        # from them come from the client their X-Forwarded-For names. Empty believes nobody.
        FORWARDED_ALLOW_IPS=[
            address.strip()
            for address in os.environ.get("FORWARDED_ALLOW_IPS", "").split(",")
            if address.strip()
        ],
        # Unset or empty: every write is refused.
        BOOKS_API_TOKEN=os.environ.get("BOOKS_API_TOKEN", ""),
        # The upstream catalog, and the seconds a whole exchange with it may take.
        CATALOG_URL=os.environ.get("CATALOG_URL", catalog.DEFAULT_CATALOG_URL),
        CATALOG_TIMEOUT=float(os.environ.get("CATALOG_TIMEOUT", "2")),
        # Flask answers 413 past this many bytes, when the body is read.
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="Books API",
        API_VERSION="1.3.0",
        OPENAPI_VERSION="3.1.0",
        # GET /openapi.json and Swagger UI at GET /docs, with its assets served by this app.
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=docs.SWAGGER_UI_URL,
        # No online validator badge: the page makes no request beyond this app.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
    )
    if test_config is not None:
        app.config.from_mapping(test_config)

    if app.config["DATABASE_URL"] == DEFAULT_DATABASE_URL:
        VAR_DIR.mkdir(exist_ok=True)
    if app.config["FORWARDED_ALLOW_IPS"]:
        # Flask's documented way behind a proxy, for the proxy's requests alone. Flask types
        # wsgi_app as a method, which mypy will not let anything replace.
        app.wsgi_app = ProxyFixFromProxies(  # type: ignore[method-assign]
            app.wsgi_app, app.config["FORWARDED_ALLOW_IPS"]
        )

    # Keep the schema's key order (title, author, then id) in JSON responses. Flask types
    # app.json as the JSONProvider interface; the DefaultJSONProvider it is has sort_keys.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.converters["book_id"] = BookIdConverter

    app.before_request(reject_empty_path_segments)
    app.after_request(drop_content_type_of_empty_responses)
    db.init_app(app)
    catalog.init_app(app)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PoolTimeoutError, database_unavailable)
    app.register_error_handler(CatalogUnreadable, catalog_unreadable)
    app.register_error_handler(CatalogTimedOut, catalog_timed_out)
    app.register_error_handler(StaleDataError, book_kept_changing)

    api = ProblemApi(app)
    api.register_converter(
        BookIdConverter,
        lambda converter: {
            "type": "integer",
            "format": "int64",
            "minimum": 1,
            "maximum": MAX_BOOK_ID,
        },
    )
    register_bearer_scheme(api)
    api.register_blueprint(books.blp)
    api.register_blueprint(health.blp)
    api.register_blueprint(live.blp)
    app.register_blueprint(docs.bp)
    live.init_app(app)
    return app
