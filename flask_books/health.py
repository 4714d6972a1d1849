"""The health check: the app answers and so does its database."""

from flask_smorest import Blueprint
from sqlalchemy import select

from flask_books.db import get_session
from flask_books.problems import problem_responses
from flask_books.schemas import HealthSchema

blp = Blueprint("health", __name__, description="Liveness of the app and its database.")


@blp.get("/health")
@blp.response(200, HealthSchema)
@blp.doc(responses=problem_responses(503))
def check_health() -> dict[str, str]:
    """Answer {"status": "ok"} once the database has answered a query (else 503)."""
    get_session().execute(select(1))
    return {"status": "ok"}
