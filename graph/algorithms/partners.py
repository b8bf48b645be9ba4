"""Partners: reputation, trade complementarity, partner scores and network gaps.

Pure functions over networkx graphs and plain mappings; the batch jobs and request-time queries
that feed them live in ``graph.analytics`` and ``graph.partners``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

import networkx as nx

# ---- reputation ----------------------------------------------------------------------------------
OUTCOME_WEIGHT = {"CONVERTED": 1.0, "ACCEPTED": 0.6, "SENT": 0.4, "EXPIRED": 0.2, "DECLINED": 0.1}
NEUTRAL_RATING = 3


def hire_weight(rating: int | None) -> float:
    """Weight of a hiring edge: a good rating weighs more (1 -> 0.2 ... 5 -> 1.0)."""
    return (NEUTRAL_RATING if rating is None else rating) / 5


def reputation(G: nx.DiGraph, weight: str = "weight", alpha: float = 0.85) -> dict:
    """PageRank over the referral and hiring graph, scaled so that the best node has 1.

    Edges point from the party who hired or referred to the professional, weighted by rating or
    outcome, so standing flows to professionals whom well-regarded parties hire and refer.

    >>> G = nx.DiGraph()
    >>> G.add_edge("c1", "p1", weight=1.0); G.add_edge("c2", "p1", weight=1.0)
    >>> G.add_edge("c1", "p2", weight=0.2)
    >>> r = reputation(G)
    >>> r["p1"], r["p1"] > r["p2"] > r["c1"] >= 0
    (1.0, True)
    """
    if G.number_of_nodes() == 0:
        return {}
    ranks = nx.pagerank(G, alpha=alpha, weight=weight)
    top = max(ranks.values())
    return {v: (r / top if top > 0 else 0.0) for v, r in ranks.items()}


# ---- complementarity -----------------------------------------------------------------------
@dataclass(frozen=True)
class TradePair:
    a: str
    b: str
    customers: int  # customers who hired both
    lift: float  # raw: customers(both) * N / (customers(a) * customers(b))
    score: float  # in [0, 1]: 0 at or below chance, approaching 1 as the shrunk lift grows


MIN_SUPPORT = 3  # pairs hired together by fewer customers are not kept on their own
# The weight of the prior belief that two trades are hired together only by chance, in
# expected co-hires: evidence of about this many co-hires counts as much as the prior.
PRIOR_STRENGTH = 10.0


def shrunk_lift(together: int, expected: float, prior: float = PRIOR_STRENGTH) -> float:
    """The lift of a trade pair, shrunk toward 1 ("no evidence") when support is small.

    A Gamma-Poisson estimate: the number of customers who hired both trades is taken as
    Poisson with mean ``lift * expected`` (``expected = n(a) * n(b) / N``, the co-hires chance
    alone would give), with a ``Gamma(prior, prior)`` prior on the lift (mean 1, variance
    ``1 / prior``). The posterior mean is ``(together + prior) / (expected + prior)``.

    At a fixed raw lift above 1 it grows with the support and tends to the raw lift; it never
    exceeds ``(together + prior) / prior``, so three co-hires can say at most 1.3.

    >>> round(shrunk_lift(3, 0.68), 3), round(shrunk_lift(3000, 680), 3)
    (1.217, 4.362)
    """
    return (together + prior) / (expected + prior)


def lift_score(lift: float) -> float:
    """``(lift - 1) / (lift + 1)`` above chance, 0 at or below it: in [0, 1).

    >>> lift_score(3.0), lift_score(0.8)
    (0.5, 0.0)
    """
    return (lift - 1) / (lift + 1) if lift > 1 else 0.0


def co_hiring_counts(
    customer_trades: Iterable[Iterable[str]],
) -> tuple[Counter[str], Counter[tuple[str, str]], int]:
    """Per trade, the customers who hired it; per pair of trades ``(a, b)`` with ``a < b``, the
    customers who hired both; and the number of customers with at least one trade.

    >>> single, both, n = co_hiring_counts([{"plumbing", "tiling"}, {"plumbing"}, set()])
    >>> sorted(single.items()), dict(both), n
    ([('plumbing', 2), ('tiling', 1)], {('plumbing', 'tiling'): 1}, 2)
    """
    sets = [frozenset(t) for t in customer_trades]
    sets = [s for s in sets if s]
    single: Counter[str] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    for trades in sets:
        single.update(trades)
        both.update(combinations(sorted(trades), 2))
    return single, both, len(sets)


def complementarity(
    customer_trades: Iterable[Iterable[str]],
    curated: Mapping[frozenset[str], float] | None = None,
    min_support: int = MIN_SUPPORT,
    prior: float = PRIOR_STRENGTH,
) -> list[TradePair]:
    """Trade pairs that customers hire together more often than chance.

    ``lift = n(a and b) * N / (n(a) * n(b))`` over the ``N`` customers with a job; the learned
    score is :func:`lift_score` of the :func:`shrunk_lift`, so that evidence, not noise, ranks
    pairs. A curated score, where one is given for a pair, is averaged with the learned one
    (0 without evidence: a curated pair nobody hired together counts half). Pairs hired together
    by fewer than ``min_support`` customers are kept only when curated. A trade is never
    complementary to itself.

    >>> customers = [{"plumbing", "tiling"}] * 40 + [{"plumbing"}] * 40 + [{"roofing"}] * 80
    >>> [(p.a, p.b, p.customers, round(p.lift, 2), round(p.score, 2))
    ...  for p in complementarity(customers)]
    [('plumbing', 'tiling', 40, 2.0, 0.25)]
    """
    single, both, n = co_hiring_counts(customer_trades)
    return complementarity_from_counts(single, both, n, curated, min_support, prior)


def complementarity_from_counts(
    single: Mapping[str, int],
    both: Mapping[tuple[str, str], int],
    n: int,
    curated: Mapping[frozenset[str], float] | None = None,
    min_support: int = MIN_SUPPORT,
    prior: float = PRIOR_STRENGTH,
) -> list[TradePair]:
    """:func:`complementarity` from the counts of :func:`co_hiring_counts`, however they were
    counted (here, or by another engine over the same customers).

    >>> complementarity_from_counts({"plumbing": 80, "tiling": 40, "roofing": 80},
    ...                             {("plumbing", "tiling"): 40}, 160)[0].lift
    2.0
    """
    curated = curated or {}

    def learned(a: str, b: str) -> TradePair:
        count = both.get((a, b), 0)
        expected = single.get(a, 0) * single.get(b, 0) / n if n else 0.0
        lift = count / expected if expected else 1.0
        return TradePair(a, b, count, lift, lift_score(shrunk_lift(count, expected, prior)))

    pairs = {(a, b): learned(a, b) for (a, b), count in both.items() if count >= min_support}
    for key, value in curated.items():
        if len(key) != 2:
            continue
        a, b = sorted(key)
        found = pairs.get((a, b)) or learned(a, b)
        pairs[a, b] = TradePair(a, b, found.customers, found.lift, (found.score + value) / 2)
    return sorted((p for p in pairs.values() if p.score > 0), key=lambda p: (p.a, p.b))


def best_complement(
    mine: Iterable[str], theirs: Iterable[str], table: Mapping[frozenset[str], float]
) -> tuple[float, str | None, str | None]:
    """The most complementary pair of trades between two professionals: (score, mine, theirs).

    >>> best_complement(["plumbing"], ["tiling", "roofing"],
    ...                 {frozenset({"plumbing", "tiling"}): 0.5})
    (0.5, 'plumbing', 'tiling')
    """
    best: tuple[float, str | None, str | None] = (0.0, None, None)
    for a in sorted(mine):
        for b in sorted(theirs):
            if a != b and table.get(frozenset((a, b)), 0.0) > best[0]:
                best = (table[frozenset((a, b))], a, b)
    return best


def gap_fit(members: Mapping[Hashable, Iterable[str]], trade: str,
            table: Mapping[frozenset[str], float]) -> float:
    """How well ``trade`` complements a network's members, in [0, 1]: the mean over members of
    each member's best complementarity with it (0 for a member it does not complement), so a
    trade that suits one odd member out of ten fits a tenth as well as one that suits them all.

    >>> table = {frozenset({"plumbing", "heating"}): 0.6, frozenset({"accounting", "legal"}): 0.8}
    >>> members = {"p": ["plumbing"], "q": ["plumbing", "tiling"], "r": ["accounting"]}
    >>> round(gap_fit(members, "heating", table), 3), round(gap_fit(members, "legal", table), 3)
    (0.4, 0.267)
    """
    if not members:
        return 0.0
    best = [best_complement(trades, [trade], table)[0] for trades in members.values()]
    return min(1.0, max(0.0, sum(best) / len(best)))


# ---- partner scores ------------------------------------------------------------------------
WEIGHTS = {"complementarity": 0.4, "customers": 0.3, "reputation": 0.2, "area": 0.1}


def adamic_adar(B: nx.Graph, source: Hashable, candidates: Iterable[Hashable],
                stop: Callable[[], bool] | None = None) -> dict:
    """Adamic-Adar index between ``source`` and each candidate on a bipartite customer -
    professional graph: the sum over shared customers of ``1 / log(degree)``. ``stop`` is asked
    before each candidate; once true, the candidates scored so far come back.

    >>> B = nx.Graph([("p", "c1"), ("q", "c1"), ("q", "c2"), ("p", "c2"), ("r", "c2")])
    >>> {k: round(v, 3) for k, v in adamic_adar(B, "p", ["q", "r"]).items()}
    {'q': 2.353, 'r': 0.91}
    """
    wanted = [c for c in candidates if c in B and c != source]
    if source not in B:
        return dict.fromkeys(wanted, 0.0)
    scores = {}
    for _, v, score in nx.adamic_adar_index(B, [(source, v) for v in wanted]):
        if stop is not None and stop():
            break
        scores[v] = score
    return scores


def partner_score(complement: float, aa: float, reputation_value: float, same_area: bool) -> float:
    """A weighted blend in [0, 1] of complementarity, shared customers (Adamic-Adar, squashed by
    ``x / (1 + x)``), reputation and area.

    >>> partner_score(1.0, 0.0, 0.0, False), partner_score(1.0, 1e9, 1.0, True)
    (0.4, 1.0)
    """
    value = (WEIGHTS["complementarity"] * complement + WEIGHTS["customers"] * squash(aa)
             + WEIGHTS["reputation"] * reputation_value
             + WEIGHTS["area"] * (1.0 if same_area else 0.0))
    return min(1.0, max(0.0, round(value, 9)))


def top_share(counts: Mapping[Hashable, int]) -> float:
    """The share of all counted items held by the single largest holder; 0 when none.

    >>> top_share({"a": 3, "b": 1}), top_share({})
    (0.75, 0.0)
    """
    total = sum(counts.values())
    return max(counts.values()) / total if total else 0.0


def squash(x: float) -> float:
    return x / (1 + x) if x > 0 else 0.0




# ---- candidate search ----------------------------------------------------------------------
# A stream: the professionals offering one trade, in one area (or in any area, None), best
# reputation first, as the analytics refresh stores them a page at a time.
Stream = tuple[str, str | None]


# Reputations equal to this many decimals rank as equal (then by id): engines that sum the same
# terms in another order agree on the ranking, not only on the figures.
RANK_DIGITS = 9


def candidate_lists(
    professionals: Iterable[tuple[str, Iterable[str], str | None, float]],
) -> dict[Stream, list[tuple[str, float]]]:
    """Per trade, and per trade and area, the professionals offering it as ``(id, reputation)``,
    highest reputation first (to :data:`RANK_DIGITS` decimals, then by id).

    >>> lists = candidate_lists([("p", ["tiling"], "Leeds", 0.5), ("q", ["tiling"], None, 0.9)])
    >>> lists[("tiling", None)], lists[("tiling", "Leeds")]
    ([('q', 0.9), ('p', 0.5)], [('p', 0.5)])
    """
    lists: dict[Stream, list[tuple[str, float]]] = {}
    for pid, trades, area, rep in professionals:
        for trade in set(trades):
            lists.setdefault((trade, None), []).append((pid, rep))
            if area is not None:
                lists.setdefault((trade, area), []).append((pid, rep))
    for entries in lists.values():
        entries.sort(key=lambda e: (-round(e[1], RANK_DIGITS), e[0]))
    return lists


def complement_by_trade(mine: Iterable[str], table: Mapping[frozenset[str], float],
                        include_same_trade: bool = False) -> dict[str, float]:
    """The trades whose professionals are candidates, each with the complementarity a
    professional offering it gets at least: the best over ``mine`` (never the trade itself).
    With ``include_same_trade`` the professional's own trades are there too, with what its
    other trades give them (often 0).

    >>> table = {frozenset({"plumbing", "tiling"}): 0.4, frozenset({"roofing", "tiling"}): 0.6}
    >>> complement_by_trade(["plumbing"], table)
    {'tiling': 0.4}
    >>> complement_by_trade(["plumbing", "tiling"], table, include_same_trade=True)
    {'plumbing': 0.4, 'roofing': 0.6, 'tiling': 0.4}
    """
    own = set(mine)
    found: dict[str, float] = {}
    for key, value in table.items():
        if len(key) != 2 or value <= 0:
            continue
        a, b = sorted(key)
        for m, t in ((a, b), (b, a)):
            if m in own and (include_same_trade or t not in own):
                found[t] = max(found.get(t, 0.0), value)
    if include_same_trade:
        for m in own:
            found.setdefault(m, 0.0)
    return dict(sorted(found.items()))


class CandidateSearch:
    """The ``limit`` best partner candidates from streams read best first, stopping as soon as
    no unread candidate can score above the ``limit``-th best (a threshold algorithm).

    Each stream is a trade ``t`` with the complementarity ``c`` every professional offering it
    gets at least (:func:`complement_by_trade`), in the professional's area or in any area. A
    candidate not read yet, with no shared customers, scores
    ``0.4 * c' + 0.2 * reputation + 0.1 * same_area`` where ``c'`` is the complementarity of its
    best trade ``t'``; it is in the stream of ``t'`` (its own area's, if that is the
    professional's area, and the any-area one), behind the last entry read there, so its
    reputation is at most that entry's. The stream's bound :func:`partner_score` ``(c, 0, r,
    area)`` thus bounds the score of every candidate it still holds, and the largest bound
    over the streams bounds every candidate not read. Candidates with shared customers are
    scored before the search (:meth:`score`).

    The driver asks :meth:`next` which page to read, hands its entries to :meth:`read`, and
    scores those that are candidates with :meth:`score`; :meth:`top` is the answer. Each read
    of a page either closes a stream or yields entries whose scores reach the bound at the time
    they were read; so, apart from the candidates left out (the professional itself, its
    partners, its own trade), ``limit`` entries end the search.

    >>> search = CandidateSearch({("tiling", None): (0.5, False)}, limit=1)
    >>> search.next()
    (('tiling', None), 0)
    >>> search.read(("tiling", None), [("q", 0.9), ("r", 0.5)], more=True)
    >>> search.score("q", partner_score(0.5, 0.0, 0.9, False)); search.score("r", 0.3)
    >>> search.next() is None, search.top()
    (True, [('q', 0.38)])
    """

    def __init__(self, streams: Mapping[Stream, tuple[float, bool]], limit: int) -> None:
        self.streams = dict(streams)
        self.limit = limit
        # Before a stream's first page, its reputations are at most 1.
        self.bounds = {s: partner_score(c, 0.0, 1.0, area) for s, (c, area) in streams.items()}
        self.pages = dict.fromkeys(streams, 0)
        self.scores: dict[str, float] = {}

    def score(self, candidate: str, value: float) -> None:
        self.scores[candidate] = value

    def read(self, stream: Stream, entries: list[tuple[str, float]], more: bool) -> None:
        """The entries of the stream's next page; ``more`` when pages follow."""
        if not more or not entries:
            self.bounds.pop(stream, None)
            return
        c, area = self.streams[stream]
        self.bounds[stream] = partner_score(c, 0.0, entries[-1][1], area)
        self.pages[stream] += 1

    def threshold(self) -> float | None:
        """The ``limit``-th best score so far; None while fewer are scored."""
        if len(self.scores) < self.limit:
            return None
        return sorted(self.scores.values(), reverse=True)[self.limit - 1]

    def next(self) -> tuple[Stream, int] | None:
        """The stream and page to read next, or None when no unread candidate can enter the
        top ``limit`` (one that would only tie the last is left out)."""
        found = self.next_reads(1)
        return found[0] if found else None

    def next_reads(self, n: int) -> list[tuple[Stream, int]]:
        """Up to ``n`` streams and pages worth reading, highest bound first: reading several
        at once saves round trips and never changes the answer."""
        kth = self.threshold()
        ranked = sorted(self.bounds, key=lambda s: (-self.bounds[s], s[0], s[1] or ""))
        return [(s, self.pages[s]) for s in ranked
                if kth is None or self.bounds[s] > kth][:n]

    def top(self) -> list[tuple[str, float]]:
        """The best ``limit`` candidates scored, best first (ties by id)."""
        return sorted(self.scores.items(), key=lambda e: (-e[1], e[0]))[: self.limit]
