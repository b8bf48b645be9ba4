"""Projections: store records into networkx graphs. The only place that builds them.

Algorithms never issue Cypher; a query in ``graph/`` fetches a bounded set of records, and a
function here turns them into the graph a pure algorithm in ``graph.algorithms`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import networkx as nx

from graph.algorithms import trust
from graph.timeutil import from_store


@dataclass(frozen=True)
class TrustEdge:
    """One relation between two parties, as the trust expansion reads it from the store."""

    source: str
    target: str
    relation: str  # HIRED, REFERRED or REFERRED_BY
    via: str  # the job (HIRED) or referral behind it
    at: str  # store time of the job or referral
    rating: int | None = None
    status: str | None = None
    verified: bool = False

    def trust(self, now: datetime) -> float:
        if self.relation == "HIRED":
            age = (now - from_store(self.at)).total_seconds() / 86400
            return trust.hired_trust(self.rating, age)
        if self.relation == "REFERRED":
            return trust.referred_trust(self.status or "SENT", self.verified)
        return trust.referred_by_trust()


def trust_graph(edges: Iterable[TrustEdge], now: datetime) -> nx.DiGraph:
    """The trust graph of ``edges``: one edge per ordered pair of parties, the most trusted of
    the relations between them, with the record behind it under ``edge``."""
    G = nx.DiGraph()
    for e in edges:
        value = e.trust(now)
        current = G.get_edge_data(e.source, e.target)
        # Ties go to the earlier relation in a fixed order, so that the projection is stable.
        if current is None or (value, current["edge"].via) > (current["trust"], e.via):
            G.add_edge(e.source, e.target, trust=value, edge=e)
    return G
