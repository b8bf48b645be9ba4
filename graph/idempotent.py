"""Idempotent creates keyed by a client-supplied id.

Same id and same data returns the existing object; same id and different data is ``CONFLICT``.
Concurrent creates with one id race on the unique constraint: Neo4j serialises them, while the
embedded store may raise ``ConstraintError`` to the loser, which then re-reads the winner.

A ``CONFLICT`` names the differing fields only to a caller that may read the object holding the
id; anyone else learns that the id is taken and nothing more, so guessing ids cannot reveal
another party's data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from graph.errors import Conflict, DomainError
from graph.store import ConstraintError, Row, Store, Tx

ID_TAKEN = "id is taken"


def _readable_by_all(row: Row) -> bool:
    return True


async def create_once(
    store: Store,
    *,
    label: str,
    node_id: str,
    read: str,
    create: Callable[[Tx], Awaitable[None]],
    same: Mapping[str, Any],
    on_constraint: Callable[[], DomainError] | None = None,
    readable: Callable[[Row], bool] = _readable_by_all,
    field_names: Mapping[str, str] | None = None,
) -> Row:
    """Create the object with ``create`` unless ``read`` finds ``node_id``.

    ``read`` is a query taking ``$id`` and returning the object as a map in column ``row``;
    ``same`` holds the values of that map that a repeat of the create must match.
    ``on_constraint`` names the error to raise when a unique constraint other than the id
    refuses the create. ``readable`` says whether the caller may read an existing object; when
    it may not, the id is taken whatever the data (even the same data returns nothing of it).
    ``field_names`` names a stored property by its input field in the CONFLICT message.
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
        if not readable(row):
            raise Conflict(ID_TAKEN, ["input", "id"])
        names = field_names or {}
        differing = sorted(names.get(k, k) for k, v in same.items() if row.get(k) != v)
        if differing:
            raise Conflict(
                f"{node_id} already names a {label} with different {', '.join(differing)}",
                ["input", "id"],
            )
    return row
