"""The Starlette application: GraphQL at /graphql (subscriptions over WebSocket), health at
/healthz and /readyz, referral code landing pages at /r/{code}, exports at /export/..., the
organiser's and the customer's pages under /app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from app import export, graphiql, pages, shared
from app.auth import AuthMiddleware, Verifier, auth_secret
from app.erasure import ErasedCustomers
from app.graphql_ws import SocketView
from app.headers import SecurityHeaders
from app.hooks import delivery_policy, secret_box
from app.landing import landing_route
from app.limits import BodyLimit, Timeout
from app.metrics import Metrics, MetricsMiddleware
from app.ratelimit import (
    AddressLimit,
    Limiter,
    RateLimits,
    principal_key,
)
from app.settings import Settings
from graph import analytics, bulk, customers, delivery, events, migrations, sweep, webhooks
from graph.embedded import EmbeddedServer
from graph.store import Store, connect
from resolvers.codes import CODE_LOOKUPS
from resolvers.context import Context
from resolvers.events import EVENT_PUMP
from schema.build import build_schema
from seeds.complementary_trades import CURATED

log = logging.getLogger("referral_graph")


class GraphQLApp(SocketView):
    def __init__(self, settings: Settings, state: AppState, verifier: Verifier,
                 limits: RateLimits) -> None:
        # Queries may come over GET (the GraphQL-over-HTTP spec; tokens travel only in the
        # Authorization header, so a link cannot act for anyone); mutations only over POST;
        # subscriptions over WebSocket (app.graphql_ws).
        super().__init__(
            build_schema(settings), settings=settings, verifier=verifier, limits=limits,
            erased=lambda customer_id: customers.is_erased(state.store, customer_id),
            graphql_ide=None if settings.production else "graphiql",
            allow_queries_via_get=True,
        )
        self.state = state

    async def get_context(self, request: Any, response: Any) -> Context:
        if isinstance(request, WebSocket):
            # The principal comes with connection_init (SocketView.on_ws_connect).
            context = Context.new(self.state.store, self.settings, None, request, response,
                                  curated=CURATED)
            context.transport = "ws"
            context.extras[EVENT_PUMP] = self.state.event_pump
            return context
        principal = request.scope.get("state", {}).get("principal")
        context = Context.new(self.state.store, self.settings, principal, request, response,
                              curated=CURATED, webhooks=self.state.webhooks)
        # Admins read every referral anyway: a walk over codes would teach them nothing.
        if principal is not None and not principal.admin:
            key = principal_key(principal)
            lookups = self.state.code_lookups
            if lookups is not None:
                context.extras[CODE_LOOKUPS] = lambda: lookups.allow(key)
        return context


class AppState:
    """What the lifespan opens: the store, and the embedded server when there is one."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self.server: EmbeddedServer | None = None
        # Referral code lookups and redemptions, per principal (see resolvers.codes).
        self.code_lookups: Limiter | None = None
        # This process's reader of the event outbox, while the lifespan runs.
        self.pump: events.Pump | None = None
        # What making a webhook needs (its secret's key), and this process's sender.
        self.webhooks: webhooks.Config | None = None
        self.deliverer: delivery.Deliverer | None = None
        self.event_poll = 0.25

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the store is not open")
        return self._store

    @store.setter
    def store(self, store: Store) -> None:
        self._store = store

    def event_pump(self) -> events.Pump:
        """The pump the lifespan started; in an application run without its lifespan, one
        started on first use."""
        if self.pump is None:
            self.pump = events.Pump(self.store, self.event_poll)
            self.pump.start()
        return self.pump


async def open_store(settings: Settings, state: AppState, *, supervised: bool = False) -> Store:
    """Connect to Neo4j (NEO4J_URI) or start the embedded server, ensure the schema and
    migrate data written by older versions. ``supervised``: another process (the ``serve``
    parent of this worker) runs and restarts the embedded server; this one only attaches."""
    if settings.embedded:
        state.server = EmbeddedServer(settings.data_dir, take_over=not supervised)
        address = await asyncio.to_thread(state.server.start)
        store = connect(address.uri, address.user, address.password, address.database,
                        timeout=settings.store_timeout,
                        batch_timeout=settings.store_batch_timeout)
    else:
        assert settings.neo4j_uri is not None
        store = connect(
            settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password,
            settings.neo4j_database, timeout=settings.store_timeout,
            batch_timeout=settings.store_batch_timeout,
        )
    store.review_threshold = settings.risk_review_threshold
    try:
        await store.ensure_schema()
        await migrations.migrate(store)
    except BaseException:  # a store that cannot be used is not left running
        await close_store(store, state)
        raise
    return store


async def close_store(store: Store, state: AppState) -> None:
    """Close the driver, then stop the embedded server if this process runs it."""
    try:
        await store.close()
    finally:
        if state.server is not None:
            await asyncio.to_thread(state.server.stop)


class AccessLog:
    """One structured line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            if log.isEnabledFor(logging.INFO):  # the record's fields cost even when dropped
                log.info("request", extra={
                    "method": scope["method"], "path": scope["path"], "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                })


def create_app(
    settings: Settings, *, store: Store | None = None, demo: bool = False,
    shared_dir: Path | None = None, supervised: bool = False,
) -> Starlette:
    """The application. With ``store`` given, the caller owns the store (tests); otherwise the
    lifespan opens it (starting the embedded server when no NEO4J_URI is set) and closes it.

    ``shared_dir`` is the folder of the state that the worker processes of one ``serve`` share
    (rate limits, the analytics write count; :mod:`app.shared`); without it that state is this
    process's own. ``supervised``: a worker, whose parent supervises the embedded server."""
    if not settings.auth_jwks_url:
        auth_secret(settings)  # fail at start-up, not at the first request
    state = AppState()
    # The key that seals webhook secrets is checked (or made) at start-up too.
    box = secret_box(settings)
    state.webhooks = webhooks.Config(box, settings.webhooks_allow_private)
    state.event_poll = settings.event_poll
    if store is not None:
        state.store = store
    limits = RateLimits(settings, shared_dir)
    state.code_lookups = limits.code_lookups
    verifier = Verifier(settings)
    graphql = GraphQLApp(settings, state, verifier, limits)
    metrics = Metrics(settings, state, verifier,
                      multiprocess_dir=shared_dir / shared.METRICS if shared_dir else None)
    metrics.instrument(graphql.schema)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = store is None
        if owned:
            state.store = await open_store(settings, state, supervised=supervised)
        # Whatever fails from here on (the demo load, uvicorn's bind after start-up), the
        # store this lifespan opened is closed and its embedded server stopped.
        try:
            if demo:
                await load_demo_if_empty(state.store, settings.analytics_timeout,
                                         settings.engine)
            tally = (shared.SharedTally(shared_dir / shared.TALLY_FILE)
                     if shared_dir is not None else None)
            auto = analytics.AutoRefresh(state.store, settings.analytics_refresh_after,
                                         settings.analytics_min_interval,
                                         settings.analytics_timeout, tally=tally,
                                         curated=CURATED, engine=settings.engine)
            # Events: this process numbers and reads the outbox, and sweeps for reminders
            # and expiry (graph.events, graph.sweep).
            if limits.shared is not None:
                limits.shared.attach(state.store)
            state.pump = events.Pump(state.store, settings.event_poll)
            state.pump.start()
            sweeper = sweep.Sweeper(state.store, settings.event_sweep_interval,
                                    settings.reminder_days, settings.referral_ttl_days)
            sweeper.start()
            # Webhooks: fan-out from the outbox and delivery, woken by the pump's new events.
            state.deliverer = delivery.Deliverer(state.store, box, delivery_policy(settings),
                                                 poll=settings.event_poll)
            deliverer = state.deliverer
            unlisten = state.pump.listen(lambda _: deliverer.nudge())
            deliverer.start()
            try:
                yield
            finally:
                unlisten()
                await deliverer.stop()
                await sweeper.stop()
                if limits.shared is not None:
                    await limits.shared.detach()
                await state.pump.stop()
                await auto.close()
                if tally is not None:
                    tally.close()
        finally:
            if owned:
                await close_store(state.store, state)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        if await state.store.ping():
            return PlainTextResponse("ready")
        return PlainTextResponse("store unavailable", status_code=503)

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/metrics", metrics.endpoint),
            landing_route(lambda: state.store, limits.landing),
            *export.routes(lambda: state.store),
            *pages.routes(),
            *([] if settings.production else [graphiql.static_route()]),
        ],
        lifespan=lifespan,
    )
    app.state.app_state = state
    app.state.rate_limits = limits
    # Inside the token check, which sets the principal it looks at.
    app.add_middleware(ErasedCustomers, store=lambda: state.store, shared_dir=shared_dir)
    app.add_middleware(AuthMiddleware, verifier=verifier, limits=limits)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    # Outside the body limit: a body sent slowly counts against the request's time.
    app.add_middleware(Timeout, seconds=settings.request_timeout)
    app.add_middleware(AddressLimit, limits=limits)
    app.add_middleware(AccessLog)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # sees every answer
    app.add_middleware(SecurityHeaders)  # outermost: every response gets the headers
    return app


async def load_demo_if_empty(store: Store, analytics_timeout: float,
                             engine: analytics.AnalyticsEngine = analytics.NETWORKX) -> bool:
    """Load the demo network into an empty store (and compute its analytics, within
    ``analytics_timeout`` seconds: RG_ANALYTICS_TIMEOUT); a store with data is left alone."""
    from seeds.demo import demo_dataset

    if not await bulk.is_empty(store):
        log.info("store not empty; demo network not loaded")
        return False
    await bulk.load(store, demo_dataset())
    await analytics.refresh(store, analytics_timeout, curated=CURATED, engine=engine)
    log.info("demo network loaded")
    return True
