"""GET /health: the service and its database answer."""

from fastapi import APIRouter
from sqlmodel import select

from fastapi_books.db import SessionDep
from fastapi_books.models import HealthStatus
from fastapi_books.openapi import problem_responses

router = APIRouter(tags=["health"])


@router.get("/health", responses=problem_responses(503))
async def check_health(session: SessionDep) -> HealthStatus:
    """Report ok once the database answers a query (503 if it does not)."""
    (await session.exec(select(1))).one()
    return HealthStatus(status="ok")
