"""GraphQL subscriptions over WebSocket at /graphql, with the ``graphql-transport-ws`` protocol
(strawberry's handler; the legacy ``subscriptions-transport-ws`` protocol is off).

- **The token** comes in ``connection_init``'s payload, as a header would be
  (``{"Authorization": "Bearer <token>"}``, or ``authorization``) or on its own
  (``{"token": "<token>"}``): browsers cannot set headers on a WebSocket handshake, so the
  handshake's own headers are not read for it. Without a token, with one that does not verify,
  or with an erased customer's, the connection is closed with 4403 (Forbidden) and nothing else
  is said; it is also closed (4403) when its token expires. ``connection_init`` must come within
  ``RG_WS_INIT_TIMEOUT`` seconds (else 4408).
- **Limits.** The handshake spends from the client address's rate-limit bucket, as any HTTP
  request does (app.ratelimit); each ``subscribe`` from the principal's. A connection runs at most
  ``RG_WS_MAX_SUBSCRIPTIONS`` subscriptions at once; a message is at most ``RG_MAX_BODY_BYTES``
  (uvicorn's ``ws_max_size``, app.cli). Documents keep the HTTP limits (size, tokens, depth,
  aliases, cost, argument rules). Only subscriptions run over the socket: queries and mutations
  go over HTTP, where the request timeout and body limit hold (schema.guards.Transport).
- **Errors** that refuse a subscription before it starts (validation, a limit, FORBIDDEN, a
  malformed id) come as the operation's ``error`` message, as the protocol asks; an error after
  it started (a subscriber that fell behind) as a ``next`` with ``errors``, then ``complete``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.unset import UNSET, UnsetType

from app.auth import TokenError, Verifier
from app.graphql_http import SpecView, surrogate_in_variables
from app.ratelimit import RateLimits
from app.responses import error_body
from graph.access import Principal, Role
from graph.errors import StoreUnavailable
from schema.cost import document_too_long

log = logging.getLogger("referral_graph")

FORBIDDEN = (4403, "Forbidden")
TOKEN_KEYS = ("Authorization", "authorization")


def token_of(params: Mapping[str, Any] | None) -> str | None:
    """The bearer token of a ``connection_init`` payload, or None.

    >>> token_of({"Authorization": "Bearer abc"}), token_of({"token": "abc"}), token_of({})
    ('abc', 'abc', None)
    >>> token_of({"authorization": "Basic abc"}) is None
    True
    """
    if not params:
        return None
    for key in TOKEN_KEYS:
        value = params.get(key)
        if isinstance(value, str):
            scheme, _, token = value.partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    alone = params.get("token")
    return (alone.strip() or None) if isinstance(alone, str) else None


def payload_problem(payload: object, max_chars: int) -> dict[str, Any] | None:
    """The error body for a ``subscribe`` payload that cannot run, checked as an HTTP request's
    body is (app.graphql_http), or None. strawberry would take a document that is not a
    string, or one over the size limit, for its own fault and answer only ``complete``."""
    if not isinstance(payload, dict):
        return error_body("the payload of subscribe must be an object with a query")
    query = payload.get("query")
    if not isinstance(query, str):
        return error_body("`query` must be a string holding a GraphQL document")
    for name, kind in (("variables", dict), ("extensions", dict), ("operationName", str)):
        if not isinstance(payload.get(name), kind | None):
            expected = "an object" if kind is dict else "a string"
            return error_body(f"`{name}` must be {expected} or null")
    if (too_long := document_too_long(query, max_chars)) is not None:
        return {"errors": [too_long.formatted]}
    if (surrogate := surrogate_in_variables(payload.get("variables") or {})) is not None:
        return error_body(surrogate, "VALIDATION")
    return None


class SubscriptionHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """strawberry's graphql-transport-ws handler with this service's limits (see the module's
    docstring)."""

    view: SocketView  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._expiry: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        expires = getattr(self.context, "expires", None)
        if self.connection_acknowledged and expires is not None and self._expiry is None:
            self._expiry = asyncio.create_task(self._close_at(expires))

    async def _close_at(self, expires: float) -> None:
        await asyncio.sleep(max(0.0, expires - time.time()))
        log.info("subscription connection closed: its token expired")
        with contextlib.suppress(Exception):  # the client may have gone at the same moment
            await self.websocket.close(*FORBIDDEN)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and message["id"] not in self.operations:
            problem = payload_problem(message.get("payload"),
                                      self.view.settings.max_document_chars)
            if problem is not None:
                await self._refuse(message["id"], problem)
                return
            limit = self.view.settings.ws_max_subscriptions
            if len(self.operations) >= limit:
                await self._refuse(message["id"], error_body(
                    f"at most {limit} subscriptions run at once on one connection "
                    "(RG_WS_MAX_SUBSCRIPTIONS); complete one first", "VALIDATION",
                    limit="subscriptions"))
                return
            wait = self.view.spend(self.context)
            if wait > 0:
                await self._refuse(message["id"], error_body(
                    "too many requests; slow down", "RATE_LIMITED",
                    retryAfter=max(1, math.ceil(wait))))
                return
        await super().handle_subscribe(message)

    async def _refuse(self, operation_id: str, body: dict[str, Any]) -> None:
        await self.send_message({"id": operation_id, "type": "error",  # type: ignore[typeddict-item]
                                 "payload": body["errors"]})

    async def _send_result_stream(self, operation: Operation[Any, Any],
                                  result_source: Any) -> None:
        await super()._send_result_stream(operation, _request_errors_first(result_source))

    @staticmethod
    def _get_pre_execution_close_reason(error: Any) -> str | None:
        # strawberry closes the whole connection for a syntax error (the token limit's too),
        # ending the connection's other subscriptions; the error goes to its operation alone.
        return None

    async def shutdown(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        await super().shutdown()


async def _request_errors_first(results: AsyncIterator[Any]) -> AsyncGenerator[Any, None]:
    """The results, the first one marked as a request error when no field ran (no data, no
    error with a path): a guard refused the subscription before it started. A GraphQL error
    raised before the first result (the parser cache parses inside its hook, where strawberry
    does not catch a syntax error on this path) becomes that request error too."""
    first = True
    try:
        async for result in results:
            if (first and isinstance(result, ExecutionResult)
                    and not isinstance(result, PreExecutionError) and result.data is None
                    and result.errors and all(e.path is None for e in result.errors)):
                result = PreExecutionError(data=None, errors=result.errors)
            first = False
            yield result
    except GraphQLError as error:
        if not first:
            raise
        yield PreExecutionError(data=None, errors=[error])


class TextFrames(ASGIWebSocketAdapter):
    """Messages as text frames, as the protocol asks: the view writes JSON as bytes (orjson),
    which strawberry's adapter would send as binary frames."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class SocketView(SpecView):
    """The GraphQL view with subscriptions over WebSocket (see the module's docstring)."""

    graphql_transport_ws_handler_class = SubscriptionHandler  # type: ignore[assignment]
    websocket_adapter_class = TextFrames  # type: ignore[assignment]

    def __init__(self, schema: Any, *, settings: Any, verifier: Verifier, limits: RateLimits,
                 erased: Callable[[str], Awaitable[bool]], **kwargs: Any) -> None:
        super().__init__(
            schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout),
            max_subscriptions_per_connection=settings.ws_max_subscriptions, **kwargs)
        self.settings = settings
        self.verifier = verifier
        self.limits = limits
        self.erased = erased

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        token = token_of(context.connection_params)
        try:
            if token is None:
                raise TokenError("no token in connection_init")
            principal, expires = await self.verifier.verify_until(token)
            if await self._erased(principal):
                raise TokenError("its customer was erased")
        except (TokenError, StoreUnavailable) as exc:
            log.info("subscription connection refused", extra={"detail": str(exc)[:300]})
            raise ConnectionRejectionError from None
        context.principal = principal
        context.expires = expires
        return UNSET

    async def _erased(self, principal: Principal) -> bool:
        return (principal.role is Role.CUSTOMER and principal.sub is not None
                and await self.erased(principal.sub))

    def spend(self, context: Any) -> float:
        """Spend one request of the connection's principal: 0 when it may go on, else the
        seconds to wait."""
        scope = context.request.scope
        address = scope.get("state", {}).get("client_address") or self.limits.address(scope)
        return self.limits.spend_principal(context.principal, address)
