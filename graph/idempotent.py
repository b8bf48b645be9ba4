"""Idempotent creates keyed by a client-supplied id.

Same id and same data returns the existing object; same id and different data is ``CONFLICT``.
Concurrent creates with one id race on the unique constraint: Neo4j serialises them, while the
embedded store may raise ``ConstraintError`` to the loser, which then re-reads the winner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from graph.errors import Conflict, DomainError
from graph.store import ConstraintError, Row, Store, Tx


async def create_once(
    store: Store,
    *,
    label: str,
    node_id: str,
    read: str,
    create: Callable[[Tx], Awaitable[None]],
    same: Mapping[str, Any],
    on_constraint: Callable[[], DomainError] | None = None,
) -> Row:
    """Create the object with ``create`` unless ``read`` finds ``node_id``.

    ``read`` is a query taking ``$id`` and returning the object as a map in column ``row``;
    ``same`` holds the values of that map that a repeat of the create must match.
    ``on_constraint`` names the error to raise when a unique constraint other than the id
    refuses the create.
    """

    async def work(tx: Tx) -> tuple[Row, bool]:
        existing = await tx.one(read, id=node_id)
        if existing is not None:
            return existing["row"], False
        await create(tx)
        created = await tx.one(read, id=node_id)
        assert created is not None
        return created["row"], True

    try:
        row, fresh = await store.write(work)
    except ConstraintError:
        rows = await store.read(read, id=node_id)
        if not rows:
            if on_constraint is not None:
                raise on_constraint() from None
            raise
        row, fresh = rows[0]["row"], False
    if not fresh:
        differing = sorted(k for k, v in same.items() if row.get(k) != v)
        if differing:
            raise Conflict(
                f"{node_id} already names a {label} with different {', '.join(differing)}",
                ["input", "id"],
            )
    return row
