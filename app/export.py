"""``/export/...``: referral tables and a party's own data, over plain HTTP.

``GET /export/referrals.csv`` and ``GET /export/referrals.jsonl`` stream the referral table of
:mod:`graph.exchange` (filters ``since``, ``until``, ``networkId``, ``professionalId``; access as
``referralStats``); ``GET /export/me.json`` is the caller's own data. The bearer token is the
one of ``/graphql`` (app.auth puts the principal into the scope), and every refusal has the
shape of a GraphQL error, with the status a client expects of plain HTTP: 400 for a bad filter,
401 without a token, 403 for a table the caller may not read (the same body whatever the ids
name, so a refusal tells nothing about what exists).

The table is written as it is read, one page at a time, so an export of any size holds one
page in memory. The first page is read before the answer starts: a store that is down then
gets a clean 503; one that fails later cuts the stream short (the chunked answer then lacks
its end, which HTTP clients report).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.responses import error_body
from graph import exchange
from graph.access import Principal, Role
from graph.errors import StoreUnavailable, ValidationError
from graph.store import Store

log = logging.getLogger("referral_graph")

FORBIDDEN_MESSAGE = "not allowed"  # the words of every GraphQL refusal
CSV = "text/csv; charset=utf-8"
JSONL = "application/x-ndjson"


def _error(status: int, message: str, code: str, **extensions: Any) -> JSONResponse:
    return JSONResponse(error_body(message, code, **extensions), status_code=status)


def _unauthenticated() -> JSONResponse:
    response = _error(401, "authentication required", "UNAUTHENTICATED")
    response.headers["www-authenticate"] = "Bearer"
    return response


def _principal(request: Request) -> Principal | None:
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    return principal


def _params(request: Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params:
            raise ValidationError("given more than once", [name])
        params[name] = value
    return params


def _unavailable() -> JSONResponse:
    return _error(503, "the store is unavailable; try again shortly", "UNAVAILABLE")


def routes(store: Callable[[], Store]) -> list[Route]:
    """The export routes; ``store`` is a getter, as the lifespan opens the store later."""

    async def referrals(request: Request, fmt: str) -> Response:
        principal = _principal(request)
        if principal is None:
            return _unauthenticated()
        try:
            table = exchange.parse_filter(_params(request))
        except ValidationError as exc:
            return _error(400, exc.message, "VALIDATION",
                          argument=(exc.field or [""])[0])
        if not exchange.can_export_referrals(principal, table):
            return _error(403, FORBIDDEN_MESSAGE, "FORBIDDEN")
        pages = exchange.table_pages(store(), table)
        try:
            first = await anext(pages, None)
        except StoreUnavailable:
            return _unavailable()

        async def body() -> AsyncIterator[str]:
            page = first
            try:
                if fmt == "csv":
                    yield exchange.csv_header()
                while page is not None:
                    rows = exchange.export_rows(page, principal)
                    if fmt == "csv":
                        yield exchange.csv_lines(rows)
                    else:
                        yield "".join(exchange.dumps(r) for r in rows)
                    try:
                        page = await anext(pages, None)
                    except StoreUnavailable:
                        log.warning("store unavailable during an export; the stream is cut "
                                    "short")
                        raise
            finally:
                # A client gone mid-export: the reads running ahead are stopped.
                await pages.aclose()

        name = f"referrals.{fmt}"
        return StreamingResponse(
            body(), media_type=CSV if fmt == "csv" else JSONL,
            headers={"content-disposition": f'attachment; filename="{name}"',
                     "cache-control": "no-store"})

    async def referrals_csv(request: Request) -> Response:
        return await referrals(request, "csv")

    async def referrals_jsonl(request: Request) -> Response:
        return await referrals(request, "jsonl")

    async def me(request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _unauthenticated()
        if principal.role not in (Role.CUSTOMER, Role.PROFESSIONAL):
            # Admins and organisers speak for no party: they have no data of their own here.
            return _error(403, FORBIDDEN_MESSAGE, "FORBIDDEN")
        try:
            doc = await exchange.own_data(store(), principal)
        except StoreUnavailable:
            return _unavailable()
        if doc is None:
            return _error(404, "no party with the token's id", "NOT_FOUND")
        return Response(json.dumps(doc, ensure_ascii=False), media_type="application/json",
                        headers={"content-disposition": 'attachment; filename="me.json"',
                                 "cache-control": "no-store"})

    return [
        Route("/export/referrals.csv", referrals_csv, methods=["GET"]),
        Route("/export/referrals.jsonl", referrals_jsonl, methods=["GET"]),
        Route("/export/me.json", me, methods=["GET"]),
    ]
