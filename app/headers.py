"""Headers every response carries.

``Cache-Control: no-store``: answers hold personal data and depend on the bearer token, so no
browser or shared cache may keep them (a response that sets its own Cache-Control, a static
asset, keeps it). ``X-Content-Type-Options: nosniff``: a browser must not guess a script or a
page out of a JSON answer. The ``server`` banner is turned off where uvicorn adds it
(``app.cli.server_options``), and dropped here should anything else set one.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULTS = ((b"cache-control", b"no-store"),)
FORCED = ((b"x-content-type-options", b"nosniff"),)
DROPPED = frozenset({b"server", b"x-powered-by"}) | {name for name, _ in FORCED}


class SecurityHeaders:
    """Adds the headers above to every HTTP response; outermost, so that refusals (401, 413,
    429) and timeouts get them too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in DROPPED]
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in DEFAULTS if k not in present]
                headers += FORCED
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
