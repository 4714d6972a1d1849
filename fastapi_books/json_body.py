"""A write's body: at most 64 KiB of UTF-8 JSON, sent as application/json."""

import json
from typing import Any, NoReturn

from fastapi import HTTPException, Request, status

MAX_BODY_BYTES = 64 * 1024


def reject_constant(name: str) -> NoReturn:
    """Refuse NaN and Infinity, which Python's json accepts but RFC 8259 does not."""
    raise ValueError(f"{name} is not JSON")


class JSONBodyRequest(Request):
    """A request whose body is refused in the contract's order: 413, then 415, then 400."""

    async def body(self) -> bytes:
        # 413 as soon as more than 64 KiB has arrived, without reading the rest.
        if not hasattr(self, "_body"):
            chunks: list[bytes] = []
            received = 0
            async for chunk in self.stream():
                received += len(chunk)
                if received > MAX_BODY_BYTES:
                    raise HTTPException(
                        status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                        detail="The body is over 64 KiB.",
                    )
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            media_type = self.headers.get("Content-Type", "").partition(";")[0]
            if media_type.strip().lower() != "application/json":
                raise HTTPException(
                    status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                    detail="The body must be JSON, sent as Content-Type: application/json.",
                )
            try:
                self._json = json.loads(body.decode("utf-8"), parse_constant=reject_constant)
            # RecursionError (nesting too deep) is not a ValueError.
            except (ValueError, RecursionError) as error:
                raise HTTPException(
                    status_code=status.HTTP_400_BAD_REQUEST, detail="The body is not valid JSON."
                ) from error
        return self._json
