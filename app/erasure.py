"""Refuse the tokens of erased customers.

A customer's token stays cryptographically valid after ``deleteCustomer`` until it expires, so
the signature alone cannot refuse it. The store is the source of truth (an erasure made through
another service process counts at once): every request of a customer principal asks it, one
point lookup by the unique id. Erasure is final, so erased ids are also remembered in the
process and asked no more. When the store cannot answer, the request is refused as
unavailable: letting it through would let an erased token act, and its first resolver would
only wait out the store's budget a second time.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth import INVALID_TOKEN
from app.responses import send_error
from graph import customers
from graph.access import Principal, Role
from graph.errors import StoreUnavailable
from graph.store import Store

log = logging.getLogger("referral_graph")

MAX_REMEMBERED = 100_000
ERASED_MESSAGE = "invalid token: its customer was erased"
UNAVAILABLE_MESSAGE = "the store is unavailable; try again shortly"


class ErasedCustomers:
    """ASGI middleware behind the token check: a request whose principal is an erased customer
    gets 401 before any resolver runs."""

    def __init__(self, app: ASGIApp, store: Callable[[], Store]) -> None:
        self.app = app
        self.store = store  # a getter: the lifespan opens the store after the app is built
        self._erased: OrderedDict[str, None] = OrderedDict()

    async def erased(self, customer_id: str) -> bool:
        if customer_id in self._erased:
            return True
        if not await customers.is_erased(self.store(), customer_id):
            return False
        self._erased[customer_id] = None
        if len(self._erased) > MAX_REMEMBERED:
            self._erased.popitem(last=False)  # forgotten ids are simply asked again
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal: Principal | None = scope.get("state", {}).get("principal")
        if (scope["type"] == "http" and principal is not None
                and principal.role is Role.CUSTOMER and principal.sub is not None):
            try:
                refused = await self.erased(principal.sub)
            except StoreUnavailable as exc:
                log.warning("store unavailable", extra={"detail": str(exc)})
                await send_error(send, 503, UNAVAILABLE_MESSAGE, "UNAVAILABLE")
                return
            if refused:
                await send_error(send, 401, ERASED_MESSAGE, "UNAUTHENTICATED",
                                 headers=[INVALID_TOKEN])
                return
        await self.app(scope, receive, send)
