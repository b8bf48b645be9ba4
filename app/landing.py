"""``/r/{code}``: the public landing page of a referral code.

No token: whoever follows a shared link sees the professional's public profile (name, trades,
area), the referrer by display name, and how to take up the introduction. Each address spends
from a bucket of its own, as small as the per-principal one of the GraphQL lookup, so the page
is no way around it. An unknown code is a 404 with the very same page shape. Everything shown
is escaped: names are user input.
"""

from __future__ import annotations

import html
import math
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from app.ratelimit import Limiter
from graph import access, codes, customers, professionals
from graph.ids import kind_of
from graph.store import Store

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="robots" content="noindex">
<title>{title}</title></head>
<body><main>
<h1>{title}</h1>
{body}
</main></body></html>
"""

FOUND = """<p>{referrer} recommends {name}.</p>
<dl><dt>Trades</dt><dd>{trades}</dd><dt>Area</dt><dd>{area}</dd></dl>
<p>To take up the introduction, sign in as a customer and redeem the code
<strong>{code}</strong> (the <code>redeemReferralCode</code> mutation): the referral reaches
{name} with your details.</p>
"""
MISSING = """<p>This link leads to no introduction: the code is unknown or was mistyped.</p>
<dl><dt>Trades</dt><dd>-</dd><dt>Area</dt><dd>-</dd></dl>
<p>Ask whoever shared it for the link again.</p>
"""
TOO_MANY = """<p>Too many codes opened from this address; try again in a minute.</p>"""


def _page(
    title: str, body: str, status: int, headers: dict[str, str] | None = None
) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=html.escape(title), body=body), status_code=status,
                        headers=headers)


async def render(store: Store, code: str) -> HTMLResponse:
    found = await codes.lookup(store, code)
    if found is None:
        return _page("Referral not found", MISSING, 404)
    pro = (await professionals.professionals_by_ids(store, [found.professional_id]))[0]
    if kind_of(found.referrer_id) == "Customer":
        customer = (await customers.customers_by_ids(store, [found.referrer_id]))[0]
        referrer = None if customer is None or customer.erased \
            else access.display_name(customer.name)
    else:
        referrer_pro = (await professionals.professionals_by_ids(store, [found.referrer_id]))[0]
        referrer = None if referrer_pro is None else referrer_pro.name
    if pro is None or referrer is None:
        # An erased referrer no longer recommends anyone.
        return _page("Referral not found", MISSING, 404)
    body = FOUND.format(
        referrer=html.escape(referrer), name=html.escape(pro.name),
        trades=html.escape(", ".join(pro.trades)), area=html.escape(pro.area or "-"),
        code=html.escape(found.code),
    )
    return _page(f"An introduction to {pro.name}", body, 200)


def landing_route(store: Callable[[], Store], limiter: Limiter) -> Route:

    async def landing(request: Request) -> Response:
        # AddressLimit left the client address (behind trusted proxies, the real one).
        address = request.scope.get("state", {}).get("client_address", "-")
        wait = limiter.allow(f"landing@{address}")
        if wait > 0:
            return _page("Slow down", TOO_MANY, 429, {"retry-after": str(max(1, math.ceil(wait)))})
        return await render(store(), request.path_params["code"])

    handler: Callable[[Request], Awaitable[Response]] = landing
    return Route("/r/{code}", handler, methods=["GET"])
