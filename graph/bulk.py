"""Bulk loading of whole data sets (seeds, imports) in ``UNWIND $rows`` batches.

Rows are plain dicts with the store's property names and times already as store text
(:func:`graph.timeutil.to_store`). Into a store that holds data, nodes are MERGEd on their id and
relationships are created with the node that owns them (a job with its BOOKED and DONE_BY, a
referral with MADE, FOR and INTRODUCES), so loading the same data set twice leaves one copy. Into
an empty store there is nothing to merge with: plain CREATE statements do the same work without
the lookups (the unique constraints still refuse a duplicate id within the data set).

Loaded jobs are confirmed: a data set is the operator's record, like an admin's ``recordJob``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph import timeutil
from graph.store import Store

Row = dict[str, Any]
BATCH = 5000

# Only nodes with an id are data: a Lease left by an analytics refresh leaves a store empty.
ANY_NODE = "MATCH (n) WHERE n.id IS NOT NULL RETURN n.id AS id LIMIT 1"

LOAD_PROFESSIONALS = """
UNWIND $rows AS r
MERGE (p:Professional {id: r.id})
ON CREATE SET p.name = r.name, p.trades = r.trades, p.area = r.area, p.createdAt = r.createdAt
"""

LOAD_CUSTOMERS = """
UNWIND $rows AS r
MERGE (c:Customer {id: r.id})
ON CREATE SET c.name = r.name, c.area = r.area, c.createdAt = r.createdAt
"""

LOAD_NETWORKS = """
UNWIND $rows AS r
MERGE (n:Network {id: r.id})
ON CREATE SET n.name = r.name, n.createdAt = r.createdAt
"""

# A loaded membership is active, also where it exists as an invitation (which the load
# accepts, as of the loaded `since`); an active one keeps its own `since`.
LOAD_MEMBERSHIPS = """
UNWIND $rows AS r
MATCH (p:Professional {id: r.professionalId}), (n:Network {id: r.networkId})
MERGE (p)-[m:MEMBER_OF]->(n)
ON CREATE SET m.since = r.since
ON MATCH SET m.since = CASE WHEN m.status = 'ACTIVE' THEN m.since ELSE r.since END
SET m.status = 'ACTIVE'
"""

LOAD_JOBS = """
UNWIND $rows AS r
MATCH (c:Customer {id: r.customerId}), (p:Professional {id: r.professionalId})
WHERE NOT EXISTS { MATCH (:Job {id: r.id}) }
CREATE (c)-[:BOOKED]->(:Job {id: r.id, trade: r.trade, completedAt: r.completedAt,
        rating: r.rating, recordedRating: r.rating, value: r.value, createdAt: r.createdAt,
        confirmed: true, confirmedAt: r.createdAt, rejected: false})-[:DONE_BY]->(p)
"""

_LOAD_REFERRALS = """
UNWIND $rows AS r
MATCH (a:{label} {{id: r.referrerId}}), (p:Professional {{id: r.professionalId}}),
      (c:Customer {{id: r.refereeId}})
WHERE NOT EXISTS {{ MATCH (:Referral {{id: r.id}}) }}
CREATE (a)-[:MADE]->(x:Referral {{id: r.id, status: r.status, verified: r.verified,
        note: r.note, createdAt: r.createdAt, updatedAt: r.updatedAt,
        statusHistory: r.statusHistory, statusTimes: r.statusTimes,
        openKey: r.openKey, convertedDays: r.convertedDays, referrerId: r.referrerId,
        professionalId: r.professionalId, refereeId: r.refereeId}})-[:FOR]->(p)
CREATE (x)-[:INTRODUCES]->(c)
"""
LOAD_CUSTOMER_REFERRALS = _LOAD_REFERRALS.format(label="Customer")
LOAD_PROFESSIONAL_REFERRALS = _LOAD_REFERRALS.format(label="Professional")

# Reward programs with their owner (a professional or a network), and the rewards they earned
# (``seeds.rewards`` replays them as the live path earns them). A reward names its program,
# referral and recipient by id, as earned ones do (``graph.rewards``).
_PROGRAM_PROPS = """id: r.id, name: r.name, ownerId: r.ownerId, trigger: r.trigger,
  referrerAmount: r.referrerAmount, refereeAmount: r.refereeAmount, referrerRate: r.referrerRate,
  unit: r.unit, tiers: r.tiers, monthlyCap: r.monthlyCap, verifiedOnly: r.verifiedOnly,
  startsAt: r.startsAt, endsAt: r.endsAt, createdAt: r.createdAt"""
_LOAD_PROGRAMS = """
UNWIND $rows AS r
MATCH (o:{label} {{id: r.ownerId}})
WHERE NOT EXISTS {{ MATCH (:RewardProgram {{id: r.id}}) }}
CREATE (:RewardProgram {{{props}}})-[:OFFERED_BY]->(o)
"""
LOAD_PROFESSIONAL_PROGRAMS = _LOAD_PROGRAMS.format(label="Professional", props=_PROGRAM_PROPS)
LOAD_NETWORK_PROGRAMS = _LOAD_PROGRAMS.format(label="Network", props=_PROGRAM_PROPS)
_REWARD_PROPS = """id: r.id, key: r.key, slot: r.slot, tally: r.tally,
  programId: r.programId, ownerId: r.ownerId, referralId: r.referralId,
  recipientId: r.recipientId, role: r.role, amount: r.amount, unit: r.unit, status: r.status,
  clawback: r.clawback, month: r.month, createdAt: r.createdAt, updatedAt: r.updatedAt,
  statusHistory: r.statusHistory, statusTimes: r.statusTimes, statusBy: r.statusBy,
  statusReasons: r.statusReasons"""
_REWARD_KEYS = ("key", "slot", "tally", "programId", "ownerId", "referralId", "recipientId",
                "role", "amount", "unit", "status", "clawback", "month", "createdAt",
                "updatedAt", "statusHistory", "statusTimes", "statusBy", "statusReasons")
LOAD_REWARDS = f"""
UNWIND $rows AS r
MERGE (w:Reward {{id: r.id}})
ON CREATE SET {", ".join(f"w.{k} = r.{k}" for k in _REWARD_KEYS)}
"""

LOAD_CONVERSIONS = """
UNWIND $rows AS r
MATCH (x:Referral {id: r.referralId}), (j:Job {id: r.jobId})
WHERE NOT EXISTS { (x)-[:CONVERTED_TO]->(:Job) }
CREATE (x)-[:CONVERTED_TO]->(j)
SET x.convertedValue = coalesce(j.value, 0.0), x.jobId = j.id
"""


# Into an empty store: the same rows, no lookups for existing copies.
CREATE_PROFESSIONALS = """
UNWIND $rows AS r
CREATE (:Professional {id: r.id, name: r.name, trades: r.trades, area: r.area,
                       createdAt: r.createdAt})
"""
CREATE_CUSTOMERS = """
UNWIND $rows AS r
CREATE (:Customer {id: r.id, name: r.name, area: r.area, createdAt: r.createdAt})
"""
CREATE_NETWORKS = """
UNWIND $rows AS r
CREATE (:Network {id: r.id, name: r.name, createdAt: r.createdAt})
"""
CREATE_MEMBERSHIPS = """
UNWIND $rows AS r
MATCH (p:Professional {id: r.professionalId}), (n:Network {id: r.networkId})
CREATE (p)-[:MEMBER_OF {since: r.since, status: 'ACTIVE'}]->(n)
"""
CREATE_JOBS = """
UNWIND $rows AS r
MATCH (c:Customer {id: r.customerId}), (p:Professional {id: r.professionalId})
CREATE (c)-[:BOOKED]->(:Job {id: r.id, trade: r.trade, completedAt: r.completedAt,
        rating: r.rating, recordedRating: r.rating, value: r.value, createdAt: r.createdAt,
        confirmed: true, confirmedAt: r.createdAt, rejected: false})-[:DONE_BY]->(p)
"""
_CREATE_REFERRALS = _LOAD_REFERRALS.replace(
    "WHERE NOT EXISTS {{ MATCH (:Referral {{id: r.id}}) }}\n", ""
)
CREATE_CUSTOMER_REFERRALS = _CREATE_REFERRALS.format(label="Customer")
CREATE_PROFESSIONAL_REFERRALS = _CREATE_REFERRALS.format(label="Professional")
CREATE_CONVERSIONS = """
UNWIND $rows AS r
MATCH (x:Referral {id: r.referralId}), (j:Job {id: r.jobId})
CREATE (x)-[:CONVERTED_TO]->(j)
SET x.convertedValue = coalesce(j.value, 0.0), x.jobId = j.id
"""

_CREATE_PROGRAMS = _LOAD_PROGRAMS.replace(
    "WHERE NOT EXISTS {{ MATCH (:RewardProgram {{id: r.id}}) }}\n", ""
)
CREATE_PROFESSIONAL_PROGRAMS = _CREATE_PROGRAMS.format(label="Professional", props=_PROGRAM_PROPS)
CREATE_NETWORK_PROGRAMS = _CREATE_PROGRAMS.format(label="Network", props=_PROGRAM_PROPS)
CREATE_REWARDS = f"""
UNWIND $rows AS r
CREATE (:Reward {{{_REWARD_PROPS}}})
"""

# The statement of each step, for a store with data (idempotent) and for an empty one.
STEPS = {
    "professionals": (LOAD_PROFESSIONALS, CREATE_PROFESSIONALS),
    "customers": (LOAD_CUSTOMERS, CREATE_CUSTOMERS),
    "networks": (LOAD_NETWORKS, CREATE_NETWORKS),
    "memberships": (LOAD_MEMBERSHIPS, CREATE_MEMBERSHIPS),
    "jobs": (LOAD_JOBS, CREATE_JOBS),
    "customer referrals": (LOAD_CUSTOMER_REFERRALS, CREATE_CUSTOMER_REFERRALS),
    "professional referrals": (LOAD_PROFESSIONAL_REFERRALS, CREATE_PROFESSIONAL_REFERRALS),
    "conversions": (LOAD_CONVERSIONS, CREATE_CONVERSIONS),
    "professional programs": (LOAD_PROFESSIONAL_PROGRAMS, CREATE_PROFESSIONAL_PROGRAMS),
    "network programs": (LOAD_NETWORK_PROGRAMS, CREATE_NETWORK_PROGRAMS),
    "rewards": (LOAD_REWARDS, CREATE_REWARDS),
}


@dataclass
class Dataset:
    """A whole network to load. Referral rows carry ``referrerId``; those of an open referral
    carry ``openKey`` (see :func:`graph.referrals.open_key`); converted ones carry ``jobId``.
    Reward programs and rewards carry the properties the service writes (``graph.programs``,
    ``graph.rewards``); a program row's ``ownerId`` is a professional or a network."""

    professionals: list[Row] = field(default_factory=list)
    customers: list[Row] = field(default_factory=list)
    jobs: list[Row] = field(default_factory=list)
    referrals: list[Row] = field(default_factory=list)
    networks: list[Row] = field(default_factory=list)
    memberships: list[Row] = field(default_factory=list)
    reward_programs: list[Row] = field(default_factory=list)
    rewards: list[Row] = field(default_factory=list)

    def statements(self, empty: bool = False) -> list[tuple[str, str, list[Row]]]:
        """(name, Cypher, rows) in load order: nodes before what links them; the plain CREATE
        statements when ``empty`` (the store holds nothing yet)."""
        by_customer = [r for r in self.referrals if r["referrerId"].startswith("cus_")]
        by_professional = [r for r in self.referrals if r["referrerId"].startswith("pro_")]
        conversions = [
            {"referralId": r["id"], "jobId": r["jobId"]} for r in self.referrals if r.get("jobId")
        ]
        rows = {
            "professionals": self.professionals, "customers": self.customers,
            "networks": self.networks, "memberships": self.memberships, "jobs": self.jobs,
            "customer referrals": by_customer, "professional referrals": by_professional,
            "conversions": conversions,
            "professional programs": [
                p for p in self.reward_programs if p["ownerId"].startswith("pro_")],
            "network programs": [
                p for p in self.reward_programs if p["ownerId"].startswith("net_")],
            "rewards": self.rewards,
        }
        return [(name, STEPS[name][1 if empty else 0], rows[name]) for name in STEPS]

    @property
    def relationships(self) -> int:
        return (
            len(self.memberships) + 2 * len(self.jobs) + 3 * len(self.referrals)
            + sum(1 for r in self.referrals if r.get("jobId")) + len(self.reward_programs)
        )


def batches(rows: Sequence[Row], size: int = BATCH) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


_REFERRAL_KEYS = (
    "id", "status", "verified", "note", "createdAt", "updatedAt", "statusHistory",
    "statusTimes", "openKey", "referrerId", "professionalId", "refereeId",
)


def _clean(name: str, rows: Iterable[Row]) -> list[Row]:
    if not name.endswith("referrals"):
        return list(rows)
    return [{**{k: r.get(k) for k in _REFERRAL_KEYS}, "convertedDays": converted_days(r)}
            for r in rows]


def converted_days(row: Row) -> float | None:
    """A converted referral's days from SENT to CONVERTED (its first and last times), as a
    conversion through the API stores them; None for any other."""
    times = row.get("statusTimes") or []
    if row.get("status") != "CONVERTED" or len(times) < 2:
        return None
    return timeutil.days_between(times[0], times[-1])


async def load(
    store: Store,
    data: Dataset,
    progress: Callable[[str, int], None] | None = None,
    batch_size: int = BATCH,
) -> None:
    """Load ``data`` batch by batch, one transaction per batch; ``progress(name, n)`` is called
    after each batch with the number of rows it held."""
    empty = await is_empty(store)
    with store.batch():  # a batch of thousands of rows outlasts the per-call budget
        for name, query, rows in data.statements(empty):
            for chunk in batches(_clean(name, rows), batch_size):
                await store.run_write(query, rows=list(chunk))
                if progress is not None:
                    progress(name, len(chunk))


async def is_empty(store: Store) -> bool:
    return not await store.read(ANY_NODE)
