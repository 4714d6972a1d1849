"""GET /books/changes: live updates over a WebSocket, and a 426 for a request that is not one."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.exceptions import WebSocketRequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketState

from fastapi_books.change_feed import ChangeFeed, Subscriber
from fastapi_books.models import DECIMAL_DIGITS
from fastapi_books.openapi import problem_responses
from fastapi_books.problems import ProblemResponse, problem

router = APIRouter(tags=["books"])

CHANGES = "/books/changes"
MAX_EVENT = 2**63 - 1
INVALID_AFTER = 4422
# After the handshake a 503 problem can no longer be the answer.
UNAVAILABLE = (1011, "The database is unavailable; try again later.")


@router.get(
    CHANGES,
    status_code=426,
    responses={
        101: {"description": "Switching Protocols, to the WebSocket."},
        **problem_responses(426),
    },
    response_class=ProblemResponse,
)
async def changes_without_upgrade() -> ProblemResponse:
    """A WebSocket: one JSON message per committed change of a book (docs/live-updates.md).

    Connect with `Upgrade: websocket`, optionally with `?after=<event>` to replay the events after
    that one first. A request without the upgrade is a 426.
    """
    return problem(
        426,
        f"GET {CHANGES} is a WebSocket: connect with Upgrade: websocket.",
        headers={"Upgrade": "websocket"},
    )


@router.websocket(CHANGES)
async def changes(
    websocket: WebSocket,
    after: Annotated[int | None, Query(ge=0, le=MAX_EVENT), DECIMAL_DIGITS] = None,
) -> None:
    feed: ChangeFeed = websocket.state.change_feed
    try:
        # Before the handshake completes: every change committed after it reaches the client.
        subscriber = await feed.subscribe(after)
    except LookupError as gone:
        await websocket.accept()
        await websocket.close(*gone.args)
        return
    except SQLAlchemyError:
        await websocket.accept()
        await websocket.close(*UNAVAILABLE)
        return
    await websocket.accept()
    try:
        async with asyncio.TaskGroup() as group:
            sending = group.create_task(send(websocket, feed, subscriber))
            # The client's own messages are read only to learn that it left; pings are answered
            # by uvicorn.
            group.create_task(until_disconnected(websocket, sending))
    finally:
        feed.unsubscribe(subscriber)


async def send(websocket: WebSocket, feed: ChangeFeed, subscriber: Subscriber) -> None:
    try:
        async for text in feed.replay(subscriber):
            await websocket.send_text(text)
        async for text in subscriber.messages():
            await websocket.send_text(text)
    except WebSocketDisconnect:
        return  # the client left while an event was on its way
    except SQLAlchemyError:
        subscriber.close(*UNAVAILABLE)  # reading the events to replay
    try:
        assert subscriber.closing is not None
        await websocket.close(*subscriber.closing)
    except WebSocketDisconnect:
        pass  # the client left while an event was on its way


async def until_disconnected(websocket: WebSocket, sending: asyncio.Task[None]) -> None:
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError):
        pass
    sending.cancel()


async def invalid_after(websocket: WebSocket, exc: WebSocketRequestValidationError) -> None:
    """An `after` that is not an event number: said in a close frame the client can read (FastAPI
    would refuse the handshake, which a browser reports as a bare failure)."""
    if websocket.client_state is WebSocketState.CONNECTING:
        await websocket.accept()
    await websocket.close(INVALID_AFTER, f"after must be a whole number from 0 to {MAX_EVENT}.")
