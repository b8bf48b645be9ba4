"""Networks (chapters, local business groups) and their membership."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from graph import rules, timeutil
from graph.errors import NotFound
from graph.idempotent import create_once
from graph.ids import check_id, client_or_new_id
from graph.lists import ListKey, by_id, fetch_pages
from graph.models import Network, Professional
from graph.pagination import Page, PageRequest, make_page
from graph.professionals import professional_map
from graph.store import Store, Tx

NETWORK_MAP = "n {.id, .name, .createdAt}"

NETWORK_BY_ID = f"MATCH (n:Network {{id: $id}}) RETURN {NETWORK_MAP} AS row"

NETWORKS_BY_IDS = f"""
UNWIND $ids AS id
MATCH (n:Network {{id: id}})
RETURN {NETWORK_MAP} AS row
"""

CREATE_NETWORK = "CREATE (n:Network {id: $id, name: $name, createdAt: $now})"

NETWORKS_PAGE = f"""
MATCH (n:Network)
WHERE ($ids IS NULL OR n.id IN $ids) AND ($after IS NULL OR n.id > $after)
RETURN {NETWORK_MAP} AS row
ORDER BY row.id
LIMIT $limit
"""

NETWORKS_COUNT = """
MATCH (n:Network) WHERE $ids IS NULL OR n.id IN $ids RETURN count(n) AS total
"""

# Networks of each professional, for Professional.networks (one round trip per batch).
NETWORKS_OF_PROFESSIONALS = f"""
UNWIND $ids AS id
MATCH (:Professional {{id: id}})-[:MEMBER_OF]->(n:Network)
RETURN id, {NETWORK_MAP} AS row
ORDER BY row.id
"""

MEMBERS_OF_NETWORKS = by_id(
    "(:Network {id: k.owner})<-[:MEMBER_OF]-(x:Professional)", professional_map("x")
)

MEMBERSHIP_PARTIES = """
OPTIONAL MATCH (n:Network {id: $networkId})
OPTIONAL MATCH (p:Professional {id: $professionalId})
RETURN n IS NOT NULL AS network, p IS NOT NULL AS professional,
       EXISTS { (p)-[:MEMBER_OF]->(n) } AS member
"""

ADD_MEMBER = """
MATCH (n:Network {id: $networkId}), (p:Professional {id: $professionalId})
MERGE (p)-[m:MEMBER_OF]->(n)
ON CREATE SET m.since = $now
"""

REMOVE_MEMBER = """
MATCH (:Professional {id: $professionalId})-[m:MEMBER_OF]->(:Network {id: $networkId})
DELETE m
"""


@dataclass(frozen=True)
class NewNetwork:
    name: str
    id: str | None = None


async def create_network(store: Store, data: NewNetwork) -> Network:
    node_id = client_or_new_id(data.id, "Network", ["input", "id"])
    name = rules.clean_name(data.name, ["input", "name"])

    async def create(tx: Tx) -> None:
        await tx.run(CREATE_NETWORK, id=node_id, name=name, now=timeutil.to_store(timeutil.now()))

    return await create_once(
        store, label="Network", node_id=node_id, read=NETWORK_BY_ID, create=create,
        same={"name": name}, convert=Network.from_row,
    )


async def networks_by_ids(store: Store, ids: Sequence[str]) -> list[Network | None]:
    rows = await store.read(NETWORKS_BY_IDS, ids=list(ids))
    found = {r["row"]["id"]: Network.from_row(r["row"]) for r in rows}
    return [found.get(i) for i in ids]


async def networks_of_professionals(store: Store, ids: Sequence[str]) -> list[list[Network]]:
    rows = await store.read(NETWORKS_OF_PROFESSIONALS, ids=list(ids))
    grouped: dict[str, list[Network]] = {i: [] for i in ids}
    for r in rows:
        grouped[r["id"]].append(Network.from_row(r["row"]))
    return [grouped[i] for i in ids]


async def list_networks(
    store: Store, page: PageRequest, ids: Collection[str] | None = None, total: bool = True
) -> Page[Network]:
    """Networks by id; only those in ``ids`` when given."""
    only = None if ids is None else sorted(ids)
    rows = await store.read(
        NETWORKS_PAGE, after=page.after[0] if page.after else None, limit=page.first + 1,
        ids=only,
    )
    count = (await store.read(NETWORKS_COUNT, ids=only))[0]["total"] if total else 0
    items = [Network.from_row(r["row"]) for r in rows]
    return make_page(items, page, count, key=lambda n: (n.id,))


async def _membership(tx: Tx, network_id: str, professional_id: str) -> bool:
    """Whether the professional is a member; NOT_FOUND when either does not exist."""
    row = await tx.one(MEMBERSHIP_PARTIES, networkId=network_id, professionalId=professional_id)
    assert row is not None
    if not row["network"]:
        raise NotFound(f"no network {network_id}", ["input", "networkId"])
    if not row["professional"]:
        raise NotFound(f"no professional {professional_id}", ["input", "professionalId"])
    return bool(row["member"])


async def add_member(store: Store, network_id: str, professional_id: str) -> Network:
    """Make the professional a member (a no-op if it already is)."""
    check_id(network_id, "Network", ["input", "networkId"])
    check_id(professional_id, "Professional", ["input", "professionalId"])

    async def work(tx: Tx) -> Network:
        if not await _membership(tx, network_id, professional_id):
            now = timeutil.to_store(timeutil.now())
            await tx.run(ADD_MEMBER, networkId=network_id, professionalId=professional_id, now=now)
        row = await tx.one(NETWORK_BY_ID, id=network_id)
        assert row is not None
        return Network.from_row(row["row"])

    return await store.write(work)


async def remove_member(store: Store, network_id: str, professional_id: str) -> Network:
    """End a membership; NOT_FOUND when the professional is not a member."""
    check_id(network_id, "Network", ["input", "networkId"])
    check_id(professional_id, "Professional", ["input", "professionalId"])

    async def work(tx: Tx) -> Network:
        if not await _membership(tx, network_id, professional_id):
            raise NotFound(
                f"{professional_id} is not a member of {network_id}", ["input", "professionalId"]
            )
        await tx.run(REMOVE_MEMBER, networkId=network_id, professionalId=professional_id)
        row = await tx.one(NETWORK_BY_ID, id=network_id)
        assert row is not None
        return Network.from_row(row["row"])

    return await store.write(work)


async def members_of_networks(store: Store, keys: Sequence[ListKey]) -> list[Page[Professional]]:
    return await fetch_pages(
        store, MEMBERS_OF_NETWORKS, keys, Professional.from_row, lambda p: (p.id,)
    )
