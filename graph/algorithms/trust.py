"""Trust: how much one party can rely on another, hop by hop and along paths.

The trust graph is directed. Its edges, one kind per relation:

- HIRED, customer -> professional, for a recorded job: rises with the rating and with recency;
- REFERRED, referrer -> professional, for a referral: rises with the outcome
  (CONVERTED > ACCEPTED > SENT > EXPIRED > DECLINED), and is higher when the referral is verified;
- REFERRED_BY, referee -> referrer: the referee knows the referrer and trusts its judgement.

Every hop's trust lies in (0, 1]; a path's trust is the product of its hops, so the most trusted
paths are the shortest paths under the cost ``-log(trust)``. All formulas and constants of the
service's trust live in this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator, Sequence
from itertools import islice, pairwise

import networkx as nx

# ---- hop trust: formulas and constants ---------------------------------------------------------
NEUTRAL_RATING = 3  # a job without a rating counts as a middling one
RATING_MAX = 5
HALF_LIFE_DAYS = 365.0  # a job's recency bonus halves every year ...
RECENCY_FLOOR = 0.5  # ... down to this share of the rating's trust
OUTCOME_TRUST = {
    "CONVERTED": 0.9,
    "ACCEPTED": 0.7,
    "SENT": 0.5,
    "EXPIRED": 0.3,
    "DECLINED": 0.2,
}
UNVERIFIED_FACTOR = 0.8  # a referral by someone who never hired the professional counts less
REFERRED_BY_TRUST = 0.8


def hired_trust(rating: int | None, age_days: float) -> float:
    """Trust of a HIRED hop: ``(rating + 1) / 6`` scaled by recency.

    Recency is ``0.5 + 0.5 * 2 ** (-age / 365 days)``: 1 for a job done today, 0.75 after a year,
    tending to 0.5. A job without a rating counts as a 3.

    >>> hired_trust(5, 0)
    1.0
    >>> round(hired_trust(None, 0), 3), round(hired_trust(5, 365), 3)
    (0.667, 0.75)
    >>> 0 < hired_trust(1, 10_000) < hired_trust(2, 10_000)
    True
    """
    score = NEUTRAL_RATING if rating is None else min(max(rating, 1), RATING_MAX)
    recency = RECENCY_FLOOR + (1 - RECENCY_FLOOR) * 2 ** (-max(age_days, 0.0) / HALF_LIFE_DAYS)
    return (score + 1) / (RATING_MAX + 1) * recency


def referred_trust(status: str, verified: bool) -> float:
    """Trust of a REFERRED hop by the referral's outcome, lower when not verified.

    >>> referred_trust("CONVERTED", True), referred_trust("DECLINED", False)
    (0.9, 0.16000000000000003)
    """
    return OUTCOME_TRUST[status] * (1.0 if verified else UNVERIFIED_FACTOR)


def referred_by_trust() -> float:
    """Trust of a REFERRED_BY hop: the referee's trust in its referrer's judgement."""
    return REFERRED_BY_TRUST


# ---- paths ---------------------------------------------------------------------------------------
# Trusts equal to this many decimals are a tie: the same product taken in another order, or
# through another split of the same values, differs only in its last bits.
TIE_DIGITS = 9


def tie_key(trust: float, path: Sequence[Hashable]) -> tuple[float, int, list[str]]:
    """The order of paths: most trusted first; at equal trust, fewer hops first, then by the
    parties' ids along the path.

    >>> sorted([(0.4, ["me", "z", "p"]), (0.4000000000000001, ["me", "a", "p"]),
    ...         (0.4, ["me", "p"]), (0.5, ["me", "q", "r", "p"])], key=lambda e: tie_key(*e))
    [(0.5, ['me', 'q', 'r', 'p']), (0.4, ['me', 'p']), (0.4000000000000001, ['me', 'a', 'p']), \
(0.4, ['me', 'z', 'p'])]
    """
    return (-round(trust, TIE_DIGITS), len(path), [str(node) for node in path])


def cost(trust: float) -> float:
    """The additive cost of a hop, ``-log(trust)``; 0 for full trust."""
    return -math.log(trust) if trust < 1 else 0.0


def path_trust(G: nx.DiGraph, path: list[Hashable], weight: str = "trust") -> float:
    """The product of the hops' trust along ``path``.

    >>> G = nx.DiGraph([("a", "b", {"trust": 0.5}), ("b", "c", {"trust": 0.4})])
    >>> path_trust(G, ["a", "b", "c"])
    0.2
    """
    result = 1.0
    for u, v in pairwise(path):
        result *= G[u][v][weight]
    return result


def most_trusted_paths(
    G: nx.DiGraph,
    source: Hashable,
    target: Hashable,
    k: int,
    max_hops: int,
    weight: str = "trust",
    max_candidates: int = 1000,
    stop: Callable[[], bool] | None = None,
) -> list[tuple[float, list[Hashable]]]:
    """The ``k`` most trusted simple paths of at most ``max_hops`` hops, most trusted first.

    First the graph is cut to the nodes that lie on some walk of at most ``max_hops`` hops from
    ``source`` to ``target`` (hop distance from the source plus hop distance to the target). On
    what remains, Yen's algorithm (:func:`networkx.shortest_simple_paths`) lists simple paths by
    increasing cost ``-log(trust)``, that is by decreasing trust; paths longer than ``max_hops``
    are passed over, and the search gives up after ``max_candidates`` paths.

    Parameters
    ----------
    G : nx.DiGraph
        Edges carry their trust in ``(0, 1]`` under ``weight``.
    source, target : node
        The two ends; a missing node or ``source == target`` gives no path.
    k : int
        How many paths at most.
    max_hops : int
        The most edges a path may have.
    stop : callable, optional
        Asked before each candidate path; when it returns True the search ends with the paths
        found so far (the caller no longer waits for them).

    Returns
    -------
    list of (trust, path)
        Trust is the product of the hops' trust; in the order of :func:`tie_key` (at equal
        trust, fewer hops first, then by the parties' ids), ties at the ``k``-th path included.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_edge("me", "friend", trust=0.8)
    >>> G.add_edge("friend", "plumber", trust=0.9)
    >>> G.add_edge("me", "plumber", trust=0.5)
    >>> [(round(t, 2), p) for t, p in most_trusted_paths(G, "me", "plumber", 3, 2)]
    [(0.72, ['me', 'friend', 'plumber']), (0.5, ['me', 'plumber'])]
    >>> most_trusted_paths(G, "me", "plumber", 3, 1)
    [(0.5, ['me', 'plumber'])]
    """
    if source == target or source not in G or target not in G or k < 1:
        return []

    def edge_cost(u: Hashable, v: Hashable, data: dict) -> float:
        return cost(data[weight])

    ahead = nx.single_source_shortest_path_length(G, source, cutoff=max_hops)
    behind = nx.single_source_shortest_path_length(G.reverse(copy=False), target,
                                                   cutoff=max_hops)
    H = G.subgraph(v for v, d in ahead.items() if v in behind and d + behind[v] <= max_hops)
    found: list[tuple[float, list[Hashable]]] = []
    if target not in H:
        return found
    try:
        paths = nx.shortest_simple_paths(H, source, target, weight=edge_cost)
        for path in islice(paths, max_candidates):
            if stop is not None and stop():
                break
            if len(path) - 1 > max_hops:
                continue
            trust = path_trust(G, path, weight)
            # Yen's order is by trust alone: read on past the k-th path while the paths tie
            # with it, so that the stated order picks among them.
            if len(found) >= k and round(trust, TIE_DIGITS) < round(found[-1][0], TIE_DIGITS):
                break
            found.append((trust, path))
    except nx.NetworkXNoPath:
        pass
    return sorted(found, key=lambda e: tie_key(*e))[:k]


def best_paths_from(
    G: nx.DiGraph, source: Hashable, max_hops: int, weight: str = "trust",
    stop: Callable[[], bool] | None = None,
) -> dict[Hashable, tuple[float, list[Hashable]]]:
    """For every node reachable in at most ``max_hops`` hops, its most trusted path.

    ``stop`` is asked before each node of each round; once it answers true the search ends
    with the paths of the rounds it finished.

    A hop-bounded Bellman-Ford on trust products: after round ``h``, ``best[v]`` is the most
    trusted walk of at most ``h`` hops (at equal trust, the first in the order of
    :func:`tie_key`: fewer hops, then by the parties' ids). As every hop's trust is at most 1,
    a cycle never makes a walk more trusted, so the best walk can be taken simple (a cycle that
    ties is cut out).

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_edge("me", "friend", trust=0.8)
    >>> G.add_edge("friend", "plumber", trust=0.9)
    >>> G.add_edge("me", "plumber", trust=0.5)
    >>> G.add_edge("plumber", "roofer", trust=0.5)
    >>> best = best_paths_from(G, "me", 2)
    >>> sorted((v, round(t, 2), p) for v, (t, p) in best.items())
    [('friend', 0.8, ['me', 'friend']), ('plumber', 0.72, ['me', 'friend', 'plumber']), \
('roofer', 0.25, ['me', 'plumber', 'roofer'])]
    """
    if source not in G:
        return {}
    best: dict[Hashable, float] = {source: 1.0}
    path: dict[Hashable, list[Hashable]] = {source: [source]}
    frontier = {source}
    for _ in range(max_hops):
        improved: dict[Hashable, tuple[float, list[Hashable]]] = {}
        for u in sorted(frontier, key=repr):
            if stop is not None and stop():
                return {v: (best[v], path[v]) for v in best if v != source}
            for v, data in G[u].items():
                if v == source:
                    continue
                candidate = (best[u] * data[weight], [*path[u], v])
                if _before(candidate, (best[v], path[v]) if v in best else None) \
                        and _before(candidate, improved.get(v)):
                    improved[v] = candidate
        for v, (trust, walk) in improved.items():
            best[v] = trust
            path[v] = _simple(walk)
        frontier = set(improved)
        if not frontier:
            break
    return {v: (best[v], path[v]) for v in best if v != source}


def _before(walk: tuple[float, list[Hashable]],
            other: tuple[float, list[Hashable]] | None) -> bool:
    return other is None or tie_key(*walk) < tie_key(*other)


def _simple(walk: list[Hashable]) -> list[Hashable]:
    """Cut cycles out of a walk (they can only tie, never win, on trust)."""
    seen: dict[Hashable, int] = {}
    out: list[Hashable] = []
    for node in walk:
        if node in seen:
            del out[seen[node] + 1 :]
            seen = {n: i for i, n in enumerate(out)}
        else:
            seen[node] = len(out)
            out.append(node)
    return out


def all_simple_paths_by_trust(
    G: nx.DiGraph, source: Hashable, target: Hashable, max_hops: int, weight: str = "trust"
) -> Iterator[tuple[float, list[Hashable]]]:
    """Every simple path of at most ``max_hops`` hops with its trust (brute force, for checks)."""
    if source == target or source not in G or target not in G:
        return
    for p in nx.all_simple_paths(G, source, target, cutoff=max_hops):
        yield path_trust(G, p, weight), p
