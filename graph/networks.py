"""Networks (chapters, local business groups) and their membership.

A membership is ``(:Professional)-[:MEMBER_OF {since, status}]->(:Network)``. An organiser's
addition is an invitation (``INVITED``) that the professional itself accepts; until then the
organiser reads nothing of the professional beyond its public profile. An admin's addition, seeds
and bulk loads are ``ACTIVE`` at once. Only active memberships count anywhere: member lists,
reciprocity, gaps, partners and every access rule that rests on membership.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from graph import rules, timeutil
from graph.errors import NotFound
from graph.idempotent import create_once
from graph.ids import check_id, client_or_new_id
from graph.lists import ListKey, by_id, fetch_id_window_page, fetch_pages, windowed_by_id
from graph.membership import ACTIVE, INVITATION, INVITED, MEMBER
from graph.membership import MembershipStatus as MembershipStatus  # the schema's enum
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

# Over all networks (an admin's list), read in widening id windows (see graph.lists).
ALL_NETWORKS = windowed_by_id("Network", "x {.id, .name, .createdAt}")

NETWORKS_COUNT = """
MATCH (n:Network) WHERE $ids IS NULL OR n.id IN $ids RETURN count(n) AS total
"""

# Networks of each professional, for Professional.networks (one round trip per batch).
NETWORKS_OF_PROFESSIONALS = f"""
UNWIND $ids AS id
MATCH (:Professional {{id: id}})-[:{MEMBER}]->(n:Network)
RETURN id, {NETWORK_MAP} AS row
ORDER BY row.id
"""

MEMBERS_OF_NETWORKS = by_id(
    f"(:Network {{id: k.owner}})<-[:{MEMBER}]-(x:Professional)", professional_map("x")
)
INVITED_TO_NETWORKS = by_id(
    f"(:Network {{id: k.owner}})<-[:{INVITATION}]-(x:Professional)",
    professional_map("x"),
)

# The membership's status, null when there is none. A membership without a status (written
# before statuses existed, until the start-up migration has run) is no membership here either,
# as in every query built on MEMBER.
MEMBERSHIP_PARTIES = """
OPTIONAL MATCH (n:Network {id: $networkId})
OPTIONAL MATCH (p:Professional {id: $professionalId})
RETURN n IS NOT NULL AS network, p IS NOT NULL AS professional,
       head([(p)-[m:MEMBER_OF]->(n) WHERE m.status IS NOT NULL | m.status]) AS status
"""

# A status-less membership the MERGE finds takes the new status (and date).
ADD_MEMBER = """
MATCH (n:Network {id: $networkId}), (p:Professional {id: $professionalId})
MERGE (p)-[m:MEMBER_OF]->(n)
ON CREATE SET m.since = $now, m.status = $status
ON MATCH SET m.since = CASE WHEN m.status IS NULL THEN $now ELSE m.since END,
             m.status = coalesce(m.status, $status)
"""

# An invitation becomes a membership; `since` is when it became active.
ACTIVATE_MEMBER = """
MATCH (:Professional {id: $professionalId})-[m:MEMBER_OF]->(:Network {id: $networkId})
SET m.status = 'ACTIVE', m.since = $now
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
    if ids is None:
        key = ListKey(None, page, total=total)
        return await fetch_id_window_page(
            store, ALL_NETWORKS, key, {}, Network.from_row, lambda n: n.id
        )
    only = sorted(ids)
    rows = await store.read(
        NETWORKS_PAGE, after=page.after[0] if page.after else None, limit=page.first + 1,
        ids=only,
    )
    count = (await store.read(NETWORKS_COUNT, ids=only))[0]["total"] if total else 0
    items = [Network.from_row(r["row"]) for r in rows]
    return make_page(items, page, count, key=lambda n: (n.id,))


async def _membership(tx: Tx, network_id: str, professional_id: str) -> str | None:
    """The membership's status (None when there is none); NOT_FOUND when either party does not
    exist."""
    row = await tx.one(MEMBERSHIP_PARTIES, networkId=network_id, professionalId=professional_id)
    assert row is not None
    if not row["network"]:
        raise NotFound(f"no network {network_id}", ["input", "networkId"])
    if not row["professional"]:
        raise NotFound(f"no professional {professional_id}", ["input", "professionalId"])
    return None if row["status"] is None else str(row["status"])


async def _network(tx: Tx, network_id: str) -> Network:
    row = await tx.one(NETWORK_BY_ID, id=network_id)
    assert row is not None
    return Network.from_row(row["row"])


async def add_member(
    store: Store, network_id: str, professional_id: str, invite: bool = False
) -> Network:
    """Make the professional a member, or with ``invite`` invite it (an organiser's addition).

    Inviting a member or an invited professional changes nothing; adding an invited one at once
    (an admin) makes it active.
    """
    check_id(network_id, "Network", ["input", "networkId"])
    check_id(professional_id, "Professional", ["input", "professionalId"])

    async def work(tx: Tx) -> Network:
        status = await _membership(tx, network_id, professional_id)
        now = timeutil.to_store(timeutil.now())
        if status is None:
            await tx.run(ADD_MEMBER, networkId=network_id, professionalId=professional_id,
                         now=now, status=INVITED if invite else ACTIVE)
        elif status == INVITED and not invite:
            await tx.run(ACTIVATE_MEMBER, networkId=network_id, professionalId=professional_id,
                         now=now)
        return await _network(tx, network_id)

    return await store.write(work)


# The words of every refusal a professional meets about its own membership: an unknown network,
# one that never invited it and one it is not a member of are indistinguishable.
NO_INVITATION = "no invitation to this network"
NOT_A_MEMBER = "not a member of this network"


async def accept_invitation(store: Store, network_id: str, professional_id: str) -> Network:
    """The invited professional accepts; accepting again changes nothing."""
    check_id(network_id, "Network", ["networkId"])

    async def work(tx: Tx) -> Network:
        row = await tx.one(MEMBERSHIP_PARTIES, networkId=network_id,
                           professionalId=professional_id)
        status = None if row is None else row["status"]
        if status is None:
            raise NotFound(NO_INVITATION, ["networkId"])
        if status == INVITED:
            await tx.run(ACTIVATE_MEMBER, networkId=network_id, professionalId=professional_id,
                         now=timeutil.to_store(timeutil.now()))
        return await _network(tx, network_id)

    return await store.write(work)


async def remove_member(
    store: Store, network_id: str, professional_id: str, leaving: bool = False
) -> Network:
    """End a membership or withdraw an invitation; NOT_FOUND when there is neither. With
    ``leaving`` the professional itself leaves (or declines), and an unknown network gives the
    same error as one it is not a member of."""
    check_id(network_id, "Network", ["input", "networkId"])
    check_id(professional_id, "Professional", ["input", "professionalId"])

    async def work(tx: Tx) -> Network:
        if leaving:
            row = await tx.one(MEMBERSHIP_PARTIES, networkId=network_id,
                               professionalId=professional_id)
            status = None if row is None else row["status"]
        else:
            status = await _membership(tx, network_id, professional_id)
        if status is None:
            raise NotFound(
                NOT_A_MEMBER if leaving else f"{professional_id} is not a member of {network_id}",
                ["input", "networkId" if leaving else "professionalId"],
            )
        await tx.run(REMOVE_MEMBER, networkId=network_id, professionalId=professional_id)
        return await _network(tx, network_id)

    return await store.write(work)


async def members_of_networks(store: Store, keys: Sequence[ListKey]) -> list[Page[Professional]]:
    """Active members of each network."""
    return await fetch_pages(
        store, MEMBERS_OF_NETWORKS, keys, Professional.from_row, lambda p: (p.id,)
    )


async def invited_to_networks(store: Store, keys: Sequence[ListKey]) -> list[Page[Professional]]:
    """Professionals invited to each network that have not accepted yet."""
    return await fetch_pages(
        store, INVITED_TO_NETWORKS, keys, Professional.from_row, lambda p: (p.id,)
    )

