"""GraphQL over HTTP as the spec and standard clients expect it, on top of strawberry's view.

- ``Accept: application/graphql-response+json`` gets that media type, and a request error
  (parse, validation, variable coercion: no ``data`` entry) gets 400 with it; plain
  ``application/json`` keeps 200 for every GraphQL result, for older clients.
- Queries run over GET as well as POST; a mutation over GET is refused with 405.
- A body that is not a JSON object in UTF-8 (``null``, ``"abc"``, ``[]``, bad bytes, bad JSON,
  nesting past the parser's limit) gets 400 with a JSON error body, never a 500 or plain text.
- A variable holding a lone surrogate (valid JSON, not Unicode text) is a variable error.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from app import graphiql
from app.responses import GRAPHQL_RESPONSE, JSON, error_body

# A request error with one of these codes is the service's fault, not the client's.
FAULT_STATUS = {"INTERNAL": 500, "UNAVAILABLE": 503, "TIMEOUT": 504}
_STATE_KEY = "graphql_media_type"
_ERROR_STATUS_KEY = "graphql_request_error"
JSON_KINDS = {str: "a string", list: "an array", int: "a number", float: "a number",
              bool: "a boolean"}


class RequestRefused(Exception):
    """The HTTP request itself is unusable: answered with ``status`` and a JSON error."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def negotiate(accept: str | None) -> str:
    """The media type to answer in: the client's most preferred of the two GraphQL ones
    (application/graphql-response+json on a tie); application/json without an Accept header
    or for ``*/*``. Raises RequestRefused (406) when the client accepts neither."""
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media, params = parse_content_type(part.strip() or "*/*")
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 0.0
        if q <= 0:
            continue
        if media == GRAPHQL_RESPONSE:
            candidate = (q, 2, GRAPHQL_RESPONSE)
        elif media == JSON:
            candidate = (q, 1, JSON)
        elif media in ("*/*", "application/*"):
            candidate = (q, 0, JSON)
        else:
            continue
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        raise RequestRefused(406, f"cannot answer in any type that Accept names; ask for "
                                  f"{GRAPHQL_RESPONSE} or {JSON}")
    return best[2]


def decode_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a POST body, or RequestRefused (400) saying what is wrong with it."""
    if not body:
        raise RequestRefused(400, "the request body is empty; send a JSON object with a query")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRefused(400, f"the request body is not UTF-8: {exc.reason} at byte "
                                  f"{exc.start}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestRefused(400, f"the request body is not JSON: {exc}") from None
    except RecursionError:
        raise RequestRefused(400, "the request body is nested too deeply") from None
    if not isinstance(data, dict):
        kind = JSON_KINDS.get(type(data), "null")
        raise RequestRefused(400, f"the request body must be a JSON object, not {kind}"
                                  " (batched requests are not supported)")
    return data


def lone_surrogate(value: Any) -> tuple[str, str] | None:
    """Where ``value`` (decoded JSON) holds a lone UTF-16 surrogate, as (path, character), the
    path written like ``.input.names[2]``: JSON can escape one (``"\\ud800"``) but it is not
    Unicode text, and neither the store nor the logs could encode it."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if (bad := _first_surrogate(item)) is not None:
                return where, bad
        elif isinstance(item, dict):
            for key, child in item.items():
                if (bad := _first_surrogate(key)) is not None:
                    return where, bad
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def surrogate_in_variables(variables: dict[str, Any]) -> str | None:
    """The error message for the first variable holding a lone surrogate, or None."""
    for name, value in variables.items():
        found = lone_surrogate({name: value})
        if found is not None:
            where, char = found
            inner = where.removeprefix(f".{name}")
            at = f" at {inner}" if inner else ""
            return (f"Variable '${name}' has invalid value{at}: String cannot represent a lone "
                    f"surrogate (U+{ord(char):04X}); send Unicode text")
    return None


def _first_surrogate(text: str) -> str | None:
    # json.loads pairs escaped surrogates into one character, so any left are lone, and only
    # they make strict UTF-8 encoding fail (at C speed, for long strings too).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return text[exc.start]
    return None


def _variable_error(message: str) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[
        GraphQLError(message, extensions={"code": "VALIDATION"})
    ])


def _request_error_status(response: GraphQLHTTPResponse) -> int | None:
    """For a result without data in which no field ran (every error without a path): the
    status under application/graphql-response+json; None for an execution result."""
    errors = response.get("errors") or []
    if response.get("data") is not None or not errors:
        return None
    if any(isinstance(e, dict) and e.get("path") for e in errors):
        return None
    codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
    return max((FAULT_STATUS[c] for c in codes if c in FAULT_STATUS), default=400)


class SpecView(GraphQL[Any, None]):
    """strawberry's ASGI view with the behaviour described in this module's docstring."""

    async def run(self, request: Request | WebSocket, context: Any = UNSET,
                  root_value: Any = UNSET) -> Any:
        if isinstance(request, WebSocket):
            return await super().run(request, context, root_value)
        try:
            if not self._wants_ide(request):  # the IDE page, or 404 where it is off
                setattr(request.state, _STATE_KEY, negotiate(request.headers.get("accept")))
            response = await super().run(request, context, root_value)
        except RequestRefused as exc:
            return JSONResponse(error_body(exc.message), status_code=exc.status,
                                headers=exc.headers)
        except HTTPException as exc:
            return JSONResponse(error_body(exc.reason), status_code=exc.status_code)
        media = getattr(request.state, _STATE_KEY, None)
        if media == GRAPHQL_RESPONSE and response.media_type == JSON:
            response.headers["content-type"] = GRAPHQL_RESPONSE
            status = getattr(request.state, _ERROR_STATUS_KEY, None)
            if status is not None and response.status_code == 200:
                response.status_code = status
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql.page(request.url.path))

    def _wants_ide(self, request: Request) -> bool:
        return self.should_render_graphql_ide(self.request_adapter_class(request))

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method != "POST":
            return await super().parse_http_body(request)
        media, params = parse_content_type(request.content_type or "")
        if media != JSON:
            raise RequestRefused(415, f"send the request body as {JSON}",
                                 {"accept-post": JSON})
        if params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
            raise RequestRefused(415, "send the request body in UTF-8")
        data = decode_body(await request.get_body())
        if not isinstance(query := data.get("query"), str):
            raise RequestRefused(400, "`query` must be a string holding a GraphQL document")
        for name, kind in (("variables", dict), ("extensions", dict), ("operationName", str)):
            value = data.get(name)
            if not isinstance(value, (kind, type(None))):
                expected = "an object" if kind is dict else "a string"
                raise RequestRefused(400, f"`{name}` must be {expected} or null")
            if name != "variables" and lone_surrogate(value) is not None:
                raise RequestRefused(400, f"`{name}` holds a lone surrogate, not Unicode text")
        return GraphQLRequestData(
            query=query, variables=data.get("variables"),
            operation_name=data.get("operationName"), extensions=data.get("extensions"),
        )

    def encode_json(self, data: object) -> bytes:
        # orjson writes an answer several times faster than the json module (a page of twenty
        # referrals with their parties: about 2% of the request's CPU before); UTF-8 instead of
        # \u escapes, the same JSON. What it refuses (a lone surrogate, an integer past 64
        # bits) is written by the json module, as before.
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:
            return json.dumps(data, separators=(",", ":")).encode()

    def decode_json(self, data: str | bytes) -> object:
        # GET parameters (variables, extensions) arrive here; a POST body goes to decode_body.
        try:
            return json.loads(data)
        except RecursionError:
            raise RequestRefused(400, "the JSON parameter is nested too deeply") from None

    async def execute_single(self, request: Request, request_adapter: AsyncHTTPRequestAdapter,
                             sub_response: Response, context: Any, root_value: Any,
                             request_data: GraphQLRequestData) -> ExecutionResult:
        if (message := surrogate_in_variables(request_data.variables or {})) is not None:
            return _variable_error(message)
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data)
        except HTTPException as exc:
            if isinstance(exc.__cause__, InvalidOperationTypeError) and \
                    request_adapter.method == "GET":
                raise RequestRefused(405, "mutations are not allowed over GET; use POST",
                                     {"allow": "POST"}) from None
            raise

    async def process_result(self, request: Request, result: ExecutionResult
                             ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        status = _request_error_status(response)
        if status is not None and getattr(request.state, _STATE_KEY, None) == GRAPHQL_RESPONSE:
            # The spec: a request error has no data entry, and a 4xx (or 5xx) status.
            setattr(request.state, _ERROR_STATUS_KEY, status)
            response.pop("data", None)
        return response
