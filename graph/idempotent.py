"""Idempotent creates keyed by a client-supplied id.

Same id and same data returns the existing object; same id and different data is ``CONFLICT``.
Concurrent creates with one id race on the unique constraint: Neo4j serialises them, while the
embedded store may raise ``ConstraintError`` to the loser, or (inside the loser's transaction)
hide the node it has just created from a lookup by id when the winner committed first, and a
loser may see the winner's effects (its open referral key) before its id. In every case the
loser's transaction is rolled back and it re-reads the winner.

A ``CONFLICT`` names the differing fields only to a caller that may read the object holding the
id; anyone else learns that the id is taken and nothing more, so guessing ids cannot reveal
another party's data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from graph.errors import Conflict, DomainError
from graph.store import ConstraintError, Row, Store, Tx

ID_TAKEN = "id is taken"
T = TypeVar("T")

# A lost race re-reads the winner; if it is not visible yet, the whole create runs again.
RACE_ATTEMPTS = 3


class _LostRace(Exception):
    """The read-back did not find the node just created: a concurrent create won the id."""


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
    convert: Callable[[Row], T],
    on_constraint: Callable[[], DomainError] | None = None,
    readable: Callable[[Row], bool] = _readable_by_all,
    field_names: Mapping[str, str] | None = None,
) -> T:
    """Create the object with ``create`` unless ``read`` finds ``node_id``.

    ``read`` is a query taking ``$id`` and returning the object as a map in column ``row``;
    ``same`` holds the values of that map that a repeat of the create must match; ``convert``
    turns the map into the domain object. The create, its read-back and the conversion run in
    one transaction, so that whatever fails after the write statement rolls the write back.
    ``on_constraint`` names the error to raise when a unique constraint other than the id
    refuses the create. ``readable`` says whether the caller may read an existing object; when
    it may not, the id is taken whatever the data (even the same data returns nothing of it).
    ``field_names`` names a stored property by its input field in the CONFLICT message.
    """

    async def work(tx: Tx) -> tuple[Row, T, bool]:
        existing = await tx.one(read, id=node_id)
        if existing is not None:
            return existing["row"], convert(existing["row"]), False
        await create(tx)
        created = await tx.one(read, id=node_id)
        if created is None:
            raise _LostRace(node_id)
        return created["row"], convert(created["row"]), True

    for attempt in range(RACE_ATTEMPTS):
        try:
            row, result, fresh = await store.write(work)
            break
        except (ConstraintError, _LostRace, DomainError) as exc:
            # The id was free when the transaction began; if it names an object now, a
            # concurrent create of it won, whatever this one ran into (the winner's open
            # referral, say), and this create is a repeat of that one.
            rows = await store.read(read, id=node_id)
            if rows:
                row, result, fresh = rows[0]["row"], convert(rows[0]["row"]), False
                break
            if isinstance(exc, DomainError):
                raise
            if isinstance(exc, ConstraintError) and on_constraint is not None:
                raise on_constraint() from None
            if attempt == RACE_ATTEMPTS - 1:
                raise
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
    return result
