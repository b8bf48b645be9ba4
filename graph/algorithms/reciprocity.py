"""Reciprocity in a referral network: who gives, who takes, pair by pair.

The member graph is a directed graph of professionals; an edge ``a -> b`` carries ``count``, the
number of referrals ``a`` made naming ``b``. Only referrals between two professionals count:
a customer's referral is advocacy, not give and take.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

import networkx as nx


@dataclass(frozen=True)
class Balance:
    member: Hashable
    given: int
    received: int

    @property
    def balance(self) -> int:
        return self.given - self.received


@dataclass(frozen=True)
class PairGap:
    a: Hashable  # the member who gave more
    b: Hashable
    a_to_b: int
    b_to_a: int

    @property
    def gap(self) -> int:
        return self.a_to_b - self.b_to_a


def member_graph(members: Iterable[Hashable], referrals: Iterable[tuple]) -> nx.DiGraph:
    """The member graph: ``referrals`` are ``(a, b, count)``; pairs outside ``members`` and
    self-loops are left out.

    >>> G = member_graph(["a", "b"], [("a", "b", 2), ("a", "x", 5)])
    >>> list(G.edges(data="count"))
    [('a', 'b', 2)]
    """
    G = nx.DiGraph()
    G.add_nodes_from(members)
    for a, b, count in referrals:
        if a != b and a in G and b in G and count > 0:
            G.add_edge(a, b, count=G.get_edge_data(a, b, {"count": 0})["count"] + count)
    return G


def reciprocity_coefficient(G: nx.DiGraph) -> float:
    """Share of ordered pairs ``(a, b)`` with an edge whose reverse ``(b, a)`` exists too:
    networkx's ``overall_reciprocity``, and 0 for a graph without edges.

    >>> reciprocity_coefficient(nx.DiGraph([("a", "b"), ("b", "a"), ("a", "c")]))
    0.6666666666666666
    >>> reciprocity_coefficient(nx.DiGraph())
    0.0
    """
    if G.number_of_edges() == 0:
        return 0.0
    return float(nx.overall_reciprocity(G))


def balances(G: nx.DiGraph) -> list[Balance]:
    """Given and received referral counts of every member, by member.

    >>> [(b.member, b.given, b.received, b.balance)
    ...  for b in balances(member_graph("abc", [("a", "b", 3), ("b", "a", 1)]))]
    [('a', 3, 1, 2), ('b', 1, 3, -2), ('c', 0, 0, 0)]
    """
    return [
        Balance(v, G.out_degree(v, weight="count"), G.in_degree(v, weight="count"))
        for v in sorted(G, key=str)
    ]


def givers_and_takers(
    G: nx.DiGraph, limit: int
) -> tuple[list[Balance], list[Balance]]:
    """The ``limit`` members of highest balance (givers) and of lowest (takers); ties by id."""
    every = balances(G)
    givers = sorted(every, key=lambda b: (-b.balance, str(b.member)))[:limit]
    takers = sorted(every, key=lambda b: (b.balance, str(b.member)))[:limit]
    return givers, takers


def imbalanced_pairs(G: nx.DiGraph, min_gap: int,
                     stop: Callable[[], bool] | None = None) -> list[PairGap]:
    """Member pairs whose traffic differs by at least ``min_gap``, largest gap first, then by
    the ids of the pair. ``stop`` is asked before each edge; once true, the pairs found so far
    come back.

    >>> G = member_graph("abc", [("a", "b", 5), ("b", "a", 1), ("c", "a", 3)])
    >>> [(p.a, p.b, p.a_to_b, p.b_to_a, p.gap) for p in imbalanced_pairs(G, 3)]
    [('a', 'b', 5, 1, 4), ('c', 'a', 3, 0, 3)]
    """
    seen: set[frozenset] = set()
    out: list[PairGap] = []
    for u, v in G.edges:
        if stop is not None and stop():
            break
        pair = frozenset((u, v))
        if pair in seen:
            continue
        seen.add(pair)
        uv = G[u][v]["count"]
        vu = G[v][u]["count"] if G.has_edge(v, u) else 0
        a, b, ab, ba = (u, v, uv, vu) if uv >= vu else (v, u, vu, uv)
        if ab == ba and str(a) > str(b):
            a, b = b, a
        if ab - ba >= min_gap:
            out.append(PairGap(a, b, ab, ba))
    return sorted(out, key=lambda p: (-p.gap, str(p.a), str(p.b)))
