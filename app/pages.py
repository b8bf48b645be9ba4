"""The organiser's and the customer's pages: ``/app/networks/{id}`` and
``/app/customers/{id}/trust``.

Each page is a static shell; its script (app/static/pages, served from this service, so the
pages work offline) asks the public GraphQL API with the bearer token the viewer enters on the
page. The page therefore shows exactly what that token may read, and no more: the shell itself
holds no data, only the id from the address, escaped. The token is kept in the tab's
sessionStorage, never in a cookie, so no other tab or later visit sends it.

Every page answer carries a Content-Security-Policy that allows scripts, styles, pictures and
requests from this origin only, and no inline script or style: names drawn on the page are user
input, and whatever a name holds can then run nothing.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static") / "pages"
STATIC_PATH = "/app/static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
HEADERS = {"content-security-policy": CSP, "referrer-policy": "no-referrer",
           "x-frame-options": "DENY"}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>{title}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{static}/pages.css">
</head>
<body>
  <a class="skip" href="#content">Skip to content</a>
  <header>
    <h1 id="page-title">{title}</h1>
    <form id="token-form" class="token" autocomplete="off">
      <label for="token">Bearer token</label>
      <input id="token" name="token" type="password" spellcheck="false"
             aria-describedby="token-help">
      <button type="submit">Show</button>
      <button type="button" id="forget">Forget token</button>
      <p id="token-help" class="help">Kept in this tab only (sessionStorage), sent only to this
        service. The page shows what this token may read.</p>
    </form>
  </header>
  <main id="content" tabindex="-1" data-page="{page}" data-id="{id}">
    <p id="status" role="status" aria-live="polite">Enter a token to load the page.</p>
    <div id="refusal" class="refusal" role="alert" hidden></div>
{body}
  </main>
  <script src="{static}/common.js"></script>
  <script src="{static}/{page}.js"></script>
</body>
</html>
"""

NETWORK_BODY = """    <div id="view" hidden>
      <section aria-labelledby="h-members"><h2 id="h-members">Members</h2>
        <div id="members"></div></section>
      <section aria-labelledby="h-funnel"><h2 id="h-funnel">Referral funnel</h2>
        <div id="funnel"></div></section>
      <section aria-labelledby="h-matrix"><h2 id="h-matrix">Who gives to whom</h2>
        <div id="matrix"></div></section>
      <section aria-labelledby="h-trend"><h2 id="h-trend">Referrals by month</h2>
        <div id="trend"></div></section>
      <section aria-labelledby="h-balance"><h2 id="h-balance">Givers and takers</h2>
        <div id="balance"></div></section>
      <section aria-labelledby="h-gaps"><h2 id="h-gaps">Missing trades</h2>
        <div id="gaps"></div></section>
      <section aria-labelledby="h-pairs"><h2 id="h-pairs">Unconnected complementary pairs</h2>
        <div id="pairs"></div></section>
      <section aria-labelledby="h-passive"><h2 id="h-passive">Passive members</h2>
        <div id="passive"></div></section>
      <section id="leaderboard-section" aria-labelledby="h-leaderboard" hidden>
        <h2 id="h-leaderboard">Leaderboard</h2><div id="leaderboard"></div></section>
    </div>"""

CUSTOMER_BODY = """    <div id="view" hidden>
      <section aria-labelledby="h-trusted"><h2 id="h-trusted">Trusted professionals</h2>
        <form id="trade-form" class="trade">
          <label for="trade">Trade</label>
          <select id="trade" name="trade"><option value="">Any trade</option></select>
          <button type="submit">Find</button>
        </form>
        <div id="trusted"></div></section>
      <section aria-labelledby="h-chains"><h2 id="h-chains">Your referrals and their chains</h2>
        <div id="chains"></div></section>
    </div>"""


def _page(page: str, title: str, id: str, body: str) -> Response:
    html = PAGE.format(title=escape(title), static=STATIC_PATH, page=page, id=escape(id),
                       body=body)
    return HTMLResponse(html, headers=HEADERS)


async def network_page(request: Request) -> Response:
    return _page("network", "Network", request.path_params["id"], NETWORK_BODY)


async def customer_page(request: Request) -> Response:
    return _page("trust", "Whom to trust", request.path_params["id"], CUSTOMER_BODY)


def routes() -> list[BaseRoute]:
    return [
        Route("/app/networks/{id}", network_page, methods=["GET"]),
        Route("/app/customers/{id}/trust", customer_page, methods=["GET"]),
        Mount(STATIC_PATH, app=StaticFiles(directory=STATIC), name="pages-static"),
    ]
