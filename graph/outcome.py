"""What a write comes back with: its result, or the domain errors that stopped it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from graph.errors import DomainError

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """``value`` when the write happened; otherwise ``errors`` say why and nothing was written."""

    value: T | None = None
    errors: list[DomainError] = field(default_factory=list)
