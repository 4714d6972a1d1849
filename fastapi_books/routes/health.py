"""GET /health: the service and its database answer."""

from typing import Literal

from fastapi import APIRouter, Request, Response, status
from sqlmodel import select

from fastapi_books.db import SessionDep
from fastapi_books.methods import options_response

router = APIRouter(tags=["health"])


@router.get("/health")
def read_health(session: SessionDep) -> dict[str, Literal["ok"]]:
    """Report ok once the database answers a query (503 if it does not)."""
    session.exec(select(1)).one()
    return {"status": "ok"}


@router.options("/health", status_code=status.HTTP_204_NO_CONTENT)
def options_health(request: Request) -> Response:
    """List the methods /health allows."""
    return options_response(request)
