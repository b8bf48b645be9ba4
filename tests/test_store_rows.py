"""Rows from the store are plain dicts equal to what the driver's Record.data() exports.

The store converts records itself (a faster path for maps, lists and scalars); these tests read
the same statements through the bare driver and compare, for the shapes the domain modules read
and for the ones that fall back to the driver (nodes, temporal values).
"""

from __future__ import annotations

import neo4j

from graph.store import Store
from tests.conftest import Maker

SHAPES = """MATCH (p:Professional {id: $id})
RETURN p.id AS id, p AS node, p {.id, .name, .trades} AS row,
       [p {.id, kind: 'x', nested: {n: [1, 2.5, null, true]}}] AS rows,
       p.createdAt AS createdAt, null AS nothing, 3 AS n"""


async def driver_rows(store: Store, query: str, **params: object) -> list[dict[str, object]]:
    async with store.driver.session(database=store.database) as session:
        result = await session.run(query, params)
        return [record.data() async for record in result]


async def test_rows_equal_the_drivers_export(store: Store, make: Maker) -> None:
    pro = await make.professional(name="Row Shape", trades=["plumbing", "tiling"])
    rows = await store.read(SHAPES, id=pro)
    assert rows == await driver_rows(store, SHAPES, id=pro)
    (row,) = rows
    assert type(row) is dict
    assert row["row"] == {"id": pro, "name": "Row Shape", "trades": ["plumbing", "tiling"]}
    # A node is exported as the dict of its properties, as Record.data() does.
    assert isinstance(row["node"], dict) and not isinstance(row["node"], neo4j.graph.Node)
    assert row["node"]["name"] == "Row Shape"
    assert row["rows"][0]["nested"] == {"n": [1, 2.5, None, True]}
    assert row["nothing"] is None and row["n"] == 3


async def test_rows_inside_a_write_transaction_are_converted_the_same(
    store: Store, make: Maker
) -> None:
    pro = await make.professional(name="Row Shape Tx")

    async def work(tx):  # type: ignore[no-untyped-def]
        return await tx.run(SHAPES, id=pro)

    assert await store.write(work) == await driver_rows(store, SHAPES, id=pro)
