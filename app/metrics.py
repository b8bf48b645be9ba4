"""Prometheus metrics at ``/metrics``, for an admin token or the scrape token.

What a scrape shows:

- ``rg_graphql_requests_total{field, outcome}`` and ``rg_graphql_request_duration_seconds{field}``:
  GraphQL requests by top-level field. A field's label is its name only when it is a field of the
  schema's Query or Mutation type (or ``__typename``, ``__schema``, ``__type``), ``other`` for any
  other name a client sends, and ``none`` for a request refused before its document was read.
  Operation names and aliases are the client's to choose and never become labels.
- ``rg_graphql_errors_total{code}``: errors in GraphQL responses by ``extensions.code``
  (``GRAPHQL_VALIDATION`` for the parser's and validator's own), and
  ``rg_graphql_payload_errors_total{code}``: the ``UserError`` codes of mutation payloads.
- ``rg_http_requests_total{route, status}`` and ``rg_http_request_duration_seconds{route}``.
- ``rg_store_round_trips_total`` and ``rg_embedded_store_restarts_total``.

Each application has its own registry, so that several apps in one process (the tests) keep
their counts apart. With several worker processes (``serve --workers``) a scrape shows the sum
over the workers (prometheus-client's multiprocess mode, its files in the folder the workers
share); the two store counters are then those of the worker that answers the scrape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from app.auth import TokenError, Verifier
from app.settings import Settings
from schema.guards import root_fields

if TYPE_CHECKING:
    from strawberry.schema.base import BaseSchema

    from app.main import AppState

RECORD = "metrics"  # key of the per-request record in scope["state"]
META_FIELDS = frozenset({"__typename", "__schema", "__type"})
OTHER = "other"
NONE = "none"
ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
# Error bodies written outside GraphQL (auth, rate limit, timeout, size limits) are small; a
# response body is read for its codes only in that case, and only this much of it.
ERROR_BODY_LIMIT = 64 * 1024
# Codes are the server's own, never the client's; this bounds them anyway.
MAX_CODES = 64
CODE_SHAPE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
UNCODED = "GRAPHQL_VALIDATION"

# Outcomes, the worst first: a field with several errors takes the worst one's outcome.
OUTCOMES = ("error", "timeout", "unauthenticated", "forbidden", "rate_limited", "invalid")
OUTCOME_OF_CODE = {
    "INTERNAL": "error",
    "UNAVAILABLE": "error",
    "TIMEOUT": "timeout",
    "UNAUTHENTICATED": "unauthenticated",
    "FORBIDDEN": "forbidden",
    "RATE_LIMITED": "rate_limited",
}  # any other code is a client mistake: "invalid"
CACHED_DOCUMENTS = 512  # top-level fields remembered, by document and operation
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class RequestRecord:
    """What the schema extension learnt about one GraphQL request, for the middleware."""

    fields: list[tuple[str, str]] = field(default_factory=list)  # (response key, label)
    done: bool = False
    errors: list[tuple[str, str | None]] = field(default_factory=list)  # (code, response key)
    data: dict[str, Any] | None = None


class _BoundedCodes:
    """Error codes as labels: the first ``MAX_CODES`` well-formed codes, then ``OTHER``."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def __call__(self, code: object) -> str:
        if not isinstance(code, str):
            return UNCODED
        if code in self._seen:
            return code
        if len(self._seen) < MAX_CODES and CODE_SHAPE.fullmatch(code):
            self._seen.add(code)
            return code
        return "OTHER"


class _Observe(SchemaExtension):
    """Notes the request's top-level fields and its result in the request's record."""

    def __init__(self, *, execution_context: Any = None, metrics: Metrics) -> None:
        super().__init__(execution_context=execution_context)
        self.metrics = metrics

    def _record(self) -> RequestRecord | None:
        request = getattr(self.execution_context.context, "request", None)
        state = request.scope.get("state") if request is not None else None
        record = state.get(RECORD) if isinstance(state, dict) else None
        return record if isinstance(record, RequestRecord) else None

    def _note_fields(self, record: RequestRecord) -> None:
        ctx = self.execution_context
        if record.fields or ctx.graphql_document is None:
            return
        try:
            operation_name = ctx.operation_name
        except Exception:  # a document the parser accepted but no operation to pick
            operation_name = None
        record.fields = self.metrics.fields_of(ctx.query, ctx.graphql_document, operation_name)

    def on_execute(self) -> Iterator[None]:
        # Noted before resolvers run: a request cut short by the timeout still has its fields.
        record = self._record()
        if record is not None:
            self._note_fields(record)
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        record = self._record()
        if record is None:
            return
        self._note_fields(record)
        result = self.execution_context.result
        if result is not None:
            for error in result.errors or []:
                code = (error.extensions or {}).get("code")
                key = error.path[0] if error.path else None
                record.errors.append((self.metrics.code(code), str(key) if key else None))
            record.data = result.data
        record.done = True


class _StoreCollector(Collector):
    """Counters that the store and the embedded server keep themselves, read at scrape time."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def collect(self) -> Iterable[Metric]:
        try:
            trips = self.state.store.round_trips
        except RuntimeError:  # not open yet
            trips = 0
        server = self.state.server
        yield CounterMetricFamily(
            "rg_store_round_trips", "Statements and transactions sent to the store.",
            value=trips,
        )
        yield CounterMetricFamily(
            "rg_embedded_store_restarts",
            "Embedded stores this process started after its first (crashes, take-overs).",
            value=server.restarts if server is not None else 0,
        )


def _status_outcome(status: int) -> str:
    if status == 401:
        return "unauthenticated"
    if status == 403:
        return "forbidden"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "error"
    return "invalid"


def _worst(codes: Iterable[str]) -> str:
    outcomes = {OUTCOME_OF_CODE.get(code, "invalid") for code in codes}
    return next(o for o in OUTCOMES if o in outcomes)


def _payload_codes(value: object) -> list[object]:
    """The ``UserError`` codes in one top-level mutation payload (under any alias)."""
    if not isinstance(value, dict):
        return []
    codes: list[object] = []
    for item in value.values():
        if isinstance(item, list):
            codes.extend(e["code"] for e in item if isinstance(e, dict) and "code" in e)
    return codes


def _body_codes(body: bytes) -> list[object]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return []
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    if not isinstance(errors, list):
        return []
    return [
        (e.get("extensions") or {}).get("code") for e in errors
        if isinstance(e, dict) and isinstance(e.get("extensions") or {}, dict)
    ]


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


class Metrics:
    """The registry of one application, its instruments, and the ``/metrics`` endpoint."""

    def __init__(self, settings: Settings, state: AppState, verifier: Verifier,
                 multiprocess_dir: Path | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.root_fields: frozenset[str] = META_FIELDS
        self.code = _BoundedCodes()
        # The token check's own verifier: one JWKS client (and key cache) per application.
        self._verifier = verifier
        self._scrape = _digest(settings.metrics_token) if settings.metrics_token else None
        r = self.registry
        self.requests = Counter(
            "rg_graphql_requests", "GraphQL requests by top-level field and outcome.",
            ["field", "outcome"], registry=r,
        )
        self.latency = Histogram(
            "rg_graphql_request_duration_seconds", "GraphQL request time by top-level field.",
            ["field"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.errors = Counter(
            "rg_graphql_errors", "Errors in GraphQL responses by code.", ["code"], registry=r,
        )
        self.payload_errors = Counter(
            "rg_graphql_payload_errors", "UserError codes in mutation payloads.", ["code"],
            registry=r,
        )
        self.http = Counter(
            "rg_http_requests", "HTTP requests by route and status.", ["route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "rg_http_request_duration_seconds", "HTTP request time by route.", ["route"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        r.register(_StoreCollector(state))
        # Labelled children by (instrument, label values): prometheus-client's ``labels``
        # checks and joins the values and takes a lock on every call; the label values are
        # bounded (fields of the schema, outcomes, codes, routes, statuses).
        self._children: dict[tuple[object, tuple[str, ...]], Any] = {}
        self._fields: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
        # What a scrape reads: this registry, or the files of all workers (where the
        # instruments above write when prometheus-client runs in multiprocess mode).
        self.scraped = r
        if multiprocess_dir is not None:
            self.scraped = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.scraped, str(multiprocess_dir))
            self.scraped.register(_StoreCollector(state))

    # -- wiring ----------------------------------------------------------------------------------
    def instrument(self, schema: BaseSchema) -> None:
        """Observe every operation of ``schema``. The extension goes first, so that it sees the
        result after error masking has given every error its code."""
        graphql_schema = schema._schema  # type: ignore[attr-defined]
        roots = [graphql_schema.query_type, graphql_schema.mutation_type]
        self.root_fields = META_FIELDS | {name for t in roots if t for name in t.fields}
        schema.extensions = (  # type: ignore[attr-defined]
            lambda: _Observe(metrics=self), *schema.extensions  # type: ignore[attr-defined]
        )

    def child(self, instrument: Counter | Histogram, *values: str) -> Any:
        """``instrument.labels(*values)``, looked up once per label values."""
        key = (instrument, values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = instrument.labels(*values)
        return found

    def fields_of(self, query: str | None, document: Any,
                  operation_name: str | None) -> list[tuple[str, str]]:
        """(response key, label) of each top-level field of the operation, found once per
        document and operation: clients send the same few documents again and again."""
        key = None if query is None else (query, operation_name)
        found = None if key is None else self._fields.get(key)
        if found is None:
            found = [((f.alias or f.name).value, self.field_label(f.name.value))
                     for f in root_fields(document, operation_name)]
            if key is not None:
                if len(self._fields) >= CACHED_DOCUMENTS:
                    self._fields.clear()  # a rare reset keeps the table bounded
                self._fields[key] = found
        return list(found)

    def field_label(self, name: str) -> str:
        return name if name in self.root_fields else OTHER

    # -- recording -------------------------------------------------------------------------------
    def observe(self, record: RequestRecord, status: int, body: bytes, seconds: float) -> None:
        """Count one GraphQL request once it has been answered."""
        # Not done: answered around GraphQL (auth, rate limit, size limits, timeout).
        errors = record.errors if record.done else [
            (self.code(c), None) for c in _body_codes(body)
        ]
        for code, _ in errors:
            self.child(self.errors, code).inc()
        fields = dict(record.fields) or {NONE: NONE}
        for label in set(fields.values()):
            keys = {k for k, v in fields.items() if v == label}
            codes = [c for c, key in errors if key is None or key in keys]
            payload: list[object] = []
            if record.data:
                for key in keys:
                    payload.extend(_payload_codes(record.data.get(key)))
            for raw in payload:
                self.child(self.payload_errors, self.code(raw)).inc()
            if codes:
                outcome = _worst(codes)
            elif status >= 400:
                outcome = _status_outcome(status)
            elif not record.done:
                outcome = "error"
            else:
                outcome = "rejected" if payload else "ok"
            self.child(self.requests, label, outcome).inc()
            self.child(self.latency, label).observe(seconds)

    # -- the endpoint ----------------------------------------------------------------------------
    async def endpoint(self, request: Request) -> Response:
        """The metrics for the scrape token or an admin; 401 or 403 (saying nothing more) for
        anyone else."""
        token = _bearer(request)
        refused = PlainTextResponse(
            "authentication required", status_code=401, headers={"www-authenticate": "Bearer"}
        )
        if token is None:
            return refused
        if self._scrape is None or not hmac.compare_digest(_digest(token), self._scrape):
            try:
                principal = await self._verifier.verify(token)
            except TokenError:
                return refused
            if not principal.admin:
                return PlainTextResponse("forbidden", status_code=403)
        return Response(generate_latest(self.scraped), media_type=CONTENT_TYPE_LATEST)


def _graphql_request(scope: Scope) -> bool:
    """A GraphQL request: any POST, or a GET with a query (queries run over GET too; a GET
    without one is the GraphiQL page)."""
    if scope["method"] != "GET":
        return True
    return "query" in parse_qs(scope.get("query_string", b"").decode("latin-1"))


class MetricsMiddleware:
    """Times and counts every HTTP request; for GraphQL requests, hands the schema extension a
    record to fill and counts by top-level field once the response is sent."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route = path if path in ROUTES else OTHER
        record: RequestRecord | None = None
        if path == "/graphql" and _graphql_request(scope):
            record = RequestRecord()
            scope.setdefault("state", {})[RECORD] = record
        started = time.perf_counter()
        status = 500
        capture = False
        body = bytearray()

        async def observing_send(message: Message) -> None:
            nonlocal status, capture
            if message["type"] == "http.response.start":
                status = message["status"]
                capture = record is not None and not record.done
            elif message["type"] == "http.response.body" and capture:
                body.extend(message.get("body", b"")[: ERROR_BODY_LIMIT - len(body)])
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.child(self.metrics.http, route, str(status)).inc()
            self.metrics.child(self.metrics.http_latency, route).observe(seconds)
            if record is not None:
                self.metrics.observe(record, status, bytes(body), seconds)
