"""Limits on GraphQL requests at the HTTP layer: the body's size and the request's time."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.graphql_http import FAULT_STATUS, RequestRefused, negotiate
from app.responses import GRAPHQL_RESPONSE, JSON, send_error
from resolvers.deadline import SCOPE_KEY, Deadline

log = logging.getLogger("referral_graph")


def _media_type(scope: Scope) -> str:
    """The media type the GraphQL view would answer in; JSON when Accept names neither (the
    view would answer 406, but the time is up)."""
    accept = ", ".join(v.decode("latin-1") for k, v in scope.get("headers", [])
                       if k == b"accept")
    try:
        return negotiate(accept or None)
    except RequestRefused:
        return JSON


def _graphql(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith("/graphql")


class BodyLimit:
    """Refuses a GraphQL request body over ``max_bytes`` with 413, before any of it is decoded:
    at once when Content-Length says so, else as soon as the streamed body passes the limit.
    The body is read here, up to the limit, and handed on whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _too_large(self, send: Send) -> None:
        await send_error(send, 413,
                         f"the request body exceeds the limit of {self.max_bytes} bytes",
                         "VALIDATION", extensions={"limit": "body", "maxBytes": self.max_bytes})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _graphql(scope):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._too_large(send)
                return
        chunks: list[bytes] = []
        size = 0
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # the client went away: let the app see it
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending: list[Message] = [first or {"type": "http.request", "body": b"".join(chunks),
                                            "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)


class Timeout:
    """Answers TIMEOUT when a GraphQL request runs past ``seconds`` and stops its work.

    The request runs in a task of its own; at the deadline this middleware cancels the task and
    waits until it has unwound, so no part of the request keeps running after the answer. A
    cancellation does not interrupt work between two awaits: the schema's executor checks the
    same :class:`~resolvers.deadline.Deadline` (``scope["state"]["deadline"]``) before each
    object of the answer, and the query cost limit keeps the rest short. Work with a bound of
    its own (the analytics refresh) lifts the deadline. A request running a mutation holds it
    (:meth:`~resolvers.deadline.Deadline.hold`): cancelled mid-commit it could have written
    while the client is told TIMEOUT, so it runs to its end; each of its store calls is bounded
    by the store's own deadline."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _graphql(scope):
            await self.app(scope, receive, send)
            return
        deadline = Deadline(self.seconds)
        scope.setdefault("state", {})[SCOPE_KEY] = deadline
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        async def run() -> None:
            await self.app(scope, receive, tracking_send)

        task = asyncio.create_task(run())
        try:
            while not task.done():
                remaining = deadline.remaining()
                if remaining == 0:
                    if not deadline.held:
                        break
                    remaining = None  # a mutation: wait for its end
                # Woken at the deadline, or at once when the task ends; a lifted deadline
                # (None) waits for the end.
                await asyncio.wait({task}, timeout=remaining)
        except asyncio.CancelledError:  # the server shuts down or the client left
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise
        if task.done() and not task.cancelled():
            task.result()  # re-raise what the app raised
            return
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Here the task was cancelled: by this middleware, or from within at the deadline
        # (resolvers.deadline.DeadlinePassed).
        log.info("request timed out", extra={"path": scope["path"], "seconds": self.seconds})
        if not started:
            # Answered like a TIMEOUT inside a GraphQL result: 504 to a client that asks for
            # application/graphql-response+json, 200 in plain application/json.
            media = _media_type(scope)
            status = FAULT_STATUS["TIMEOUT"] if media == GRAPHQL_RESPONSE else 200
            await send_error(send, status,
                             f"the request ran past the limit of {self.seconds:g} s", "TIMEOUT",
                             media_type=media)
