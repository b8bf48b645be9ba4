"""Professionals: create, look up by id, and list with filters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graph import rules, timeutil
from graph.idempotent import create_once
from graph.ids import check_id, client_or_new_id
from graph.lists import ListKey, fetch_id_window_page, windowed_by_id
from graph.membership import MEMBER
from graph.models import Professional
from graph.pagination import Page, PageRequest, make_page
from graph.store import Store, Tx


def professional_map(var: str) -> str:
    """The map projection of a professional bound to ``var`` (a name fixed in code)."""
    return (f"{var} {{.id, .name, .trades, .area, .createdAt, "
            f"reputation: coalesce({var}.reputation, 0.0)}}")


PROFESSIONAL_MAP = professional_map("p")

PROFESSIONAL_BY_ID = f"MATCH (p:Professional {{id: $id}}) RETURN {PROFESSIONAL_MAP} AS row"

PROFESSIONALS_BY_IDS = f"""
UNWIND $ids AS id
MATCH (p:Professional {{id: id}})
RETURN {PROFESSIONAL_MAP} AS row
"""

CREATE_PROFESSIONAL = """
CREATE (p:Professional {id: $id, name: $name, trades: $trades, area: $area, createdAt: $now})
"""

# Over all professionals, read in widening id windows (see graph.lists).
ALL_PROFESSIONALS = windowed_by_id(
    "Professional",
    professional_map("x"),
    "($trade IS NULL OR $trade IN x.trades) AND ($area IS NULL OR toLower(x.area) = $area)",
)

# The members of one network: the list starts at the network, so that its cost follows the
# network's size, not the number of professionals.
NETWORK_PROFESSIONALS_PAGE = f"""
MATCH (:Network {{id: $networkId}})<-[:{MEMBER}]-(p:Professional)
WHERE ($trade IS NULL OR $trade IN p.trades)
  AND ($area IS NULL OR toLower(p.area) = $area)
  AND ($after IS NULL OR p.id > $after)
WITH p ORDER BY p.id LIMIT $limit
RETURN {PROFESSIONAL_MAP} AS row
"""

NETWORK_PROFESSIONALS_COUNT = f"""
MATCH (:Network {{id: $networkId}})<-[:{MEMBER}]-(p:Professional)
WHERE ($trade IS NULL OR $trade IN p.trades)
  AND ($area IS NULL OR toLower(p.area) = $area)
RETURN count(p) AS total
"""


@dataclass(frozen=True)
class NewProfessional:
    name: str
    trades: Sequence[str]
    area: str | None = None
    id: str | None = None


async def create_professional(store: Store, data: NewProfessional) -> Professional:
    node_id = client_or_new_id(data.id, "Professional", ["input", "id"])
    name = rules.clean_name(data.name, ["input", "name"])
    trades = rules.clean_trades(data.trades, ["input", "trades"])
    area = rules.clean_area(data.area, ["input", "area"])

    async def create(tx: Tx) -> None:
        now = timeutil.to_store(timeutil.now())
        await tx.run(CREATE_PROFESSIONAL, id=node_id, name=name, trades=trades, area=area, now=now)

    return await create_once(
        store,
        label="Professional",
        node_id=node_id,
        read=PROFESSIONAL_BY_ID,
        create=create,
        same={"name": name, "trades": trades, "area": area},
        convert=Professional.from_row,
    )


async def professionals_by_ids(store: Store, ids: Sequence[str]) -> list[Professional | None]:
    """In key order; None where no professional has the id (one round trip)."""
    rows = await store.read(PROFESSIONALS_BY_IDS, ids=list(ids))
    found = {r["row"]["id"]: Professional.from_row(r["row"]) for r in rows}
    return [found.get(i) for i in ids]


async def list_professionals(
    store: Store,
    page: PageRequest,
    trade: str | None = None,
    area: str | None = None,
    network_id: str | None = None,
    total: bool = True,
) -> Page[Professional]:
    """Professionals ordered by id, optionally of one trade, one area (any case), one network."""
    params: dict[str, object] = {
        "trade": None if trade is None else rules.clean_trade(trade, ["trade"]),
        "area": None if area is None else area.strip().lower(),
    }
    if network_id is None:
        key = ListKey(None, page, total=total)
        return await fetch_id_window_page(
            store, ALL_PROFESSIONALS, key, params, Professional.from_row, lambda p: p.id
        )
    params["networkId"] = check_id(network_id, "Network", ["networkId"])
    rows = await store.read(
        NETWORK_PROFESSIONALS_PAGE,
        after=page.after[0] if page.after else None,
        limit=page.first + 1,
        **params,
    )
    count = (await store.read(NETWORK_PROFESSIONALS_COUNT, **params))[0]["total"] if total else 0
    items = [Professional.from_row(r["row"]) for r in rows]
    return make_page(items, page, count, key=lambda p: (p.id,))
