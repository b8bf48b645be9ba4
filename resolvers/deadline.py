"""The time a request may still run, shared by the HTTP layer and the resolvers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

SCOPE_KEY = "deadline"


class DeadlinePassed(asyncio.CancelledError):
    """Raised inside a request's work once its deadline has passed: a cancellation, so that no
    handler on the way out (graphql-core's field errors among them) keeps working on it."""


class Deadline:
    """A point in time (monotonic) after which a request's work stops; ``lift`` removes it for
    work with a bound of its own (the analytics refresh). ``hold`` marks a request that runs a
    mutation: it is not cut short at the deadline (its writes may have committed, and a TIMEOUT
    would tell the client they had not); each of its store calls is bounded on its own."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at: float | None = time.monotonic() + seconds
        self.held = False

    def remaining(self) -> float | None:
        """Seconds left (0 once passed), or None when lifted."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def lift(self) -> None:
        self.at = None

    def hold(self) -> None:
        self.held = True


def deadline_of(request: Any) -> Deadline | None:
    """The deadline the HTTP layer gave ``request`` (None outside HTTP, e.g. in-process calls)."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return None
    found = scope.get("state", {}).get(SCOPE_KEY)
    return found if isinstance(found, Deadline) else None
