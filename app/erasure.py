"""Refuse the tokens of erased customers.

A customer's token stays cryptographically valid after ``deleteCustomer`` until it expires, so
the signature alone cannot refuse it. The store is the source of truth: a request of a customer
principal asks it, one point lookup by the unique id. Erasure is final, so erased ids are
remembered in the process and asked no more. When the store cannot answer, the request is
refused as unavailable: letting it through would let an erased token act, and its first
resolver would only wait out the store's budget a second time.

That a customer was *not* erased is remembered too, for a second (``CLEAR_FOR``): a client's
requests come in quick succession, and the lookup was a sixth of the CPU of a customer's read
of itself. An erasure forgets every such answer at once, in this process and in every worker
of the same ``serve`` (a counter in their shared folder, bumped after the erasure commits and
before its answer is sent). Only an erasure made outside this ``serve`` (another instance on
the same Neo4j, a script) takes up to ``CLEAR_FOR`` to reach a token that acted just before.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from app import shared
from app.auth import INVALID_TOKEN
from app.responses import send_error
from graph import customers
from graph.access import Principal, Role
from graph.errors import StoreUnavailable
from graph.store import Store

log = logging.getLogger("referral_graph")

MAX_REMEMBERED = 100_000
CLEAR_FOR = 1.0  # seconds an answer "not erased" is trusted without a new erasure
ERASED_MESSAGE = "invalid token: its customer was erased"
UNAVAILABLE_MESSAGE = "the store is unavailable; try again shortly"


class ErasedCustomers:
    """ASGI middleware behind the token check: a request whose principal is an erased customer
    gets 401 before any resolver runs. ``shared_dir``: the folder the workers of one ``serve``
    share, where erasures through any of them are counted."""

    def __init__(self, app: ASGIApp, store: Callable[[], Store],
                 shared_dir: Path | None = None) -> None:
        self.app = app
        self.store = store  # a getter: the lifespan opens the store after the app is built
        self._erased: OrderedDict[str, None] = OrderedDict()
        # customer id -> (monotonic time of the lookup, the erasure counts before it)
        self._clear: dict[str, tuple[float, tuple[int, int]]] = {}
        self._shared = (shared.SharedCounter(shared_dir / shared.ERASURES)
                        if shared_dir is not None else None)
        self._watched: Store | None = None

    def _watch(self, store: Store) -> None:
        """Bump the workers' counter after each erasure through this process's store (one store
        per application: the lifespan opens it once)."""
        self._watched = store
        if self._shared is not None:
            store.after_erasure.append(self._shared.bump)

    def _erasures(self, store: Store) -> tuple[int, int]:
        return store.erasures, self._shared.value if self._shared is not None else 0

    async def erased(self, customer_id: str) -> bool:
        if customer_id in self._erased:
            return True
        store = self.store()
        now = time.monotonic()
        erasures = self._erasures(store)  # read before the lookup: one during it counts
        known = self._clear.get(customer_id)
        if known is not None and now - known[0] < CLEAR_FOR and known[1] == erasures:
            return False
        if not await customers.is_erased(store, customer_id):
            if len(self._clear) >= MAX_REMEMBERED:
                self._clear.clear()  # a rare reset keeps the table bounded, no bookkeeping
            self._clear[customer_id] = (now, erasures)
            return False
        self._clear.pop(customer_id, None)
        self._erased[customer_id] = None
        if len(self._erased) > MAX_REMEMBERED:
            self._erased.popitem(last=False)  # forgotten ids are simply asked again
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._watched is None:
            # Not open yet (RuntimeError): nothing can have been erased through it.
            with contextlib.suppress(RuntimeError):
                self._watch(self.store())
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
