"""GraphiQL served from the package itself, so it works offline.

The page loads GraphiQL 3, React 18 and the graphql-ws client (their UMD builds, MIT licensed,
vendored unchanged in app/static/graphiql with their licences) from this service instead of a
CDN: without internet a CDN page stays at "Loading...". ``start.js`` sends subscriptions over a
WebSocket with the Headers tab's Authorization in ``connection_init``, everything else over
HTTP. GraphiQL is for development; production turns it off.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static") / "graphiql"
STATIC_PATH = "/graphiql/static"
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js",
           "graphql-ws.min.js", "start.js")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>referral-graph GraphiQL</title>
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
  <link rel="stylesheet" href="{static}/graphiql.min.css">
</head>
<body>
  <div id="graphiql" data-endpoint="{endpoint}">Loading...</div>
{scripts}
</body>
</html>
"""


def page(endpoint: str = "/graphql") -> str:
    """The GraphiQL page for the GraphQL endpoint at ``endpoint`` (a path on this origin)."""
    scripts = "\n".join(f'  <script src="{STATIC_PATH}/{name}"></script>' for name in SCRIPTS)
    return PAGE.format(static=STATIC_PATH, endpoint=escape(endpoint), scripts=scripts)


def static_route() -> Mount:
    return Mount(STATIC_PATH, app=StaticFiles(directory=STATIC), name="graphiql-static")
