"""JSON error answers written outside GraphQL execution: by the middlewares (token, erasure,
rate limits, body size, timeout) and by the HTTP view for requests it cannot use.

Every one has the shape of a GraphQL error, ``{"errors": [{"message": ..., "extensions":
{"code": ...}}]}``, so that clients read them like any other error; the middlewares' answers
in application/json also carry ``"data": null``, as a GraphQL result that did not run would
(in application/graphql-response+json a request error has no data entry).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send

BAD_REQUEST = "BAD_REQUEST"
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def error_body(message: str, code: str = BAD_REQUEST, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


async def send_error(send: Send, status: int, message: str, code: str, *,
                     extensions: dict[str, Any] | None = None,
                     headers: list[tuple[bytes, bytes]] | None = None,
                     media_type: str = JSON) -> None:
    """Answer an ASGI request with ``status`` and one error, before any of the app has run."""
    errors = error_body(message, code, **(extensions or {}))
    body = json.dumps(
        errors if media_type == GRAPHQL_RESPONSE else {"data": None, **errors}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]})
    await send({"type": "http.response.body", "body": body})
