"""Integrity: fake or collusive referral activity, found from the graph's structure and timing.

Pure functions over a plain :class:`Projection` of the store (referrals, confirmed jobs, when
customers and professionals appeared). Each signal returns :class:`Finding` objects; the batch
in ``graph.integrity`` reads the projection, calls :func:`assess` and writes the scores.

Every signal asks two questions. *Is the structure there?* (a loop, an exclusive pair, a burst,
referees with no life of their own.) *Did anything real follow?* Real referrals turn into
confirmed jobs, and real referees are customers with a life of their own (a confirmed job, a
referral of their own, a referral from somebody else). The second question is what keeps the
legitimate look-alikes clean: long-standing partners who refer each other both ways and whose
referrals convert, a busy referrer whose referrals convert, a new member's first burst of real
work. A structure whose referrals lead to outcomes gets no finding however striking it looks.

Expected outcomes are learned from the data, not fixed: the conversion rate of decided
referrals for each trade (:meth:`Facts.rate`), and the share of referrals in the whole
graph whose referee is hollow. Where a signal tests every party, its significance is corrected
for the number of parties tested (Bonferroni), so that a large network does not flag its
unlucky tail.

Who is responsible for a referral: its referrer when that is a professional; otherwise (a
customer referred someone) the professional it names, who is the one that gains by it. A
professional that only receives referrals from a fraudulent professional is not implicated.

A referral reviewed as CLEARED is left out of everything here (it contributes to no finding); one
confirmed as fraud still counts as evidence.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import pairwise

import networkx as nx

RING = "RING"
RECIPROCAL_ONLY = "RECIPROCAL_ONLY"
HOLLOW_REFEREES = "HOLLOW_REFEREES"
BURST = "BURST"
NO_OUTCOMES = "NO_OUTCOMES"
SIGNALS = (RING, RECIPROCAL_ONLY, HOLLOW_REFEREES, BURST, NO_OUTCOMES)

CLEARED = "CLEARED"
DAY = 86400.0

MAX_INVOLVED = 20
# A referral has had its chance to convert once about this long has passed: accepted within
# days, the job done within weeks, then confirmed.
MATURITY = 45 * DAY
# Rings are loops of 3..RING_MAX professionals (the contract's "three or more"; longer loops
# are not collusion anyone can keep up).
RING_MIN, RING_MAX = 3, 8
# A ring's every edge carries at least this many referrals: collusion pushes referrals along
# each edge, while single referrals between partners close loops by chance.
RING_EDGE = 2
# A referee "created just before" the referral: within this long. A real referee, even one the
# referrer signed up on the spot, goes on to hire or refer; a hollow one does nothing at all.
HOLLOW_WINDOW = 3 * DAY
# Bursts are counted in windows of this length.
BURST_WINDOW = 7 * DAY
# Pseudo-count of the outcome deficit: with few expected conversions a shortfall is no evidence.
PRIOR = 1.0
# A shortfall of conversions at least this likely by chance (Poisson) is not counted.
CHANCE = 0.05
# Significance wanted of a test over all parties, before the Bonferroni correction.
ALPHA = 0.01
# How many orders of magnitude beyond significance give full strength (see `significance`).
SPAN = 2.0


@dataclass(frozen=True)
class Referral:
    """One referral as detection reads it; times are seconds since the epoch."""

    id: str
    referrer: str
    by_professional: bool
    professional: str
    referee: str
    created: float
    status: str
    converted: bool = False  # converted into a confirmed job
    review: str | None = None

    @property
    def responsible(self) -> str:
        """The professional who answers for the referral (see the module's docstring)."""
        return self.referrer if self.by_professional else self.professional


@dataclass(frozen=True)
class Job:
    """A confirmed job."""

    customer: str
    professional: str
    trade: str
    completed: float
    rating: int | None = None


@dataclass(frozen=True)
class Projection:
    """What detection reads: referrals, confirmed jobs, and when parties appeared.

    ``professionals`` maps each professional to its trades; ``professional_created`` to its
    creation (or first activity); ``customer_created`` each customer to its creation.
    """

    referrals: Sequence[Referral]
    jobs: Sequence[Job] = ()
    customer_created: Mapping[str, float] = field(default_factory=dict)
    professionals: Mapping[str, Sequence[str]] = field(default_factory=dict)
    professional_created: Mapping[str, float] = field(default_factory=dict)
    now: float = 0.0


@dataclass(frozen=True)
class Finding:
    """One signal found: ``flagged`` professionals carry it, ``referrals`` are the referrals it
    covers (their scores combine it), ``involved`` the other parties a reviewer looks at."""

    signal: str
    strength: float
    explanation: str
    flagged: tuple[str, ...]
    involved: tuple[str, ...]
    referrals: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    """Per professional and per referral: the combined score and the findings, strongest first."""

    professionals: dict[str, tuple[float, list[Finding]]]
    referrals: dict[str, tuple[float, list[Finding]]]


# ---- shared facts ----------------------------------------------------------------------------
def shrunk_rate(done_all: int, won_all: int, done_own: int, won_own: int, done_trade: int,
                won_trade: int, done_own_trade: int, won_own_trade: int) -> float:
    """The conversion rate of decided referrals in a trade among the other parties, shrunk
    toward their overall rate by 20 referrals' worth of prior (0.3 when they decided none).

    The counts are everybody's (``_all``, ``_trade``) and the party's own (``_own``,
    ``_own_trade``), overall and in the trade; both engines pass them here, so that the floats
    agree to the last bit.

    >>> shrunk_rate(100, 40, 0, 0, 10, 0, 0, 0)
    0.26666666666666666
    """
    total = done_all - done_own
    overall = (won_all - won_own) / total if total > 0 else 0.3
    done = done_trade - done_own_trade
    won = won_trade - won_own_trade
    return (won + 20 * overall) / (done + 20)


class Evidence:
    """What the signals read about some referrals, however it was computed: each referral's
    expected conversions, which referees have a life of their own (a confirmed job, a referral
    they made), who refers each referee, when referees were created, each professional's whole
    activity, and the graph's usual share of lifeless referees.

    :class:`Facts` computes all of it from a projection; another engine computes it with
    aggregates and builds one for the referrals a signal looks at (``expectation`` keyed by
    referral id)."""

    def __init__(self, lifeless_rate: float, expectation: Mapping[str, float],
                 alive: Container[str], referred_by: Mapping[str, AbstractSet[str]],
                 customer_created: Mapping[str, float], activity: Mapping[str, int]) -> None:
        self.lifeless_rate = lifeless_rate
        self.expectation = expectation
        self.alive = alive
        self.referred_by = referred_by
        self.customer_created = customer_created
        self.activity = activity

    def expected(self, r: Referral) -> float:
        """Expected conversions of ``r``: its trade's rate when decided, else 0."""
        return self.expectation[r.id]

    def insularity(self, rs: Sequence[Referral], parties: Iterable[str]) -> float:
        """The share of ``parties``' whole activity (referrals made or naming them, confirmed
        jobs) that ``rs`` among them make up: near 1 for professionals with no business of
        their own."""
        members = set(parties)
        total = sum(self.activity.get(p, 0) for p in members)
        inside = sum((r.professional in members) + (r.by_professional and r.referrer in members)
                     for r in rs)
        return min(1.0, inside / total) if total else 0.0

    def lifeless(self, r: Referral, parties: Iterable[str]) -> bool:
        """Whether ``r``'s referee shows no life beyond ``parties``: no confirmed job, no
        referral it made, no referral from a professional outside ``parties``, and ``r`` did
        not convert."""
        if r.converted or r.referee in self.alive:
            return False
        return self.referred_by.get(r.referee, frozenset()) <= set(parties)

    def hollow(self, r: Referral) -> bool:
        """A hollow referee: lifeless beyond this referral's party, created just before it."""
        created = self.customer_created.get(r.referee)
        return (created is not None and 0 <= r.created - created <= HOLLOW_WINDOW
                and self.lifeless(r, (r.responsible,)))

    def no_outcome(self, rs: Sequence[Referral], parties: Iterable[str]) -> tuple[float, int,
                                                                                   float, int]:
        """How completely ``rs`` failed to lead anywhere, in [0, 1]: the larger of the outcome
        deficit (``1 - (k + PRIOR) / (E + PRIOR)``, k conversions of E expected, counted only
        when Poisson(E) makes so few less likely than ``CHANCE``) and the share of lifeless
        referees above the graph's usual share (``(share - usual) / (1 - usual)``). Also k, E
        and the lifeless count, for explanations."""
        members = set(parties)
        k = sum(r.converted for r in rs)
        e = sum(self.expected(r) for r in rs)
        dead = sum(self.lifeless(r, members) for r in rs)
        deficit = max(0.0, 1.0 - (k + PRIOR) / (e + PRIOR))
        if log_poisson_lower(k, e) > math.log(CHANCE):
            deficit = 0.0  # a shortfall that chance explains is no evidence
        base = self.lifeless_rate
        excess = max(0.0, (dead / len(rs) - base) / (1.0 - base)) if rs else 0.0
        return max(deficit, excess), k, e, dead


class Facts(Evidence):
    """What every signal needs, computed once per projection."""

    def __init__(self, projection: Projection) -> None:
        self.projection = projection
        self.now = projection.now
        self.referrals = [r for r in projection.referrals if r.review != CLEARED]
        self.by_id = {r.id: r for r in self.referrals}
        self.trade_of = {p: (t[0] if t else "") for p, t in projection.professionals.items()}
        # Decided referrals and their conversions per trade, in all and per responsible party,
        # so that a party is measured against the others' rate, not one it dragged down itself.
        self.done: Counter[tuple[str, str]] = Counter()
        self.won: Counter[tuple[str, str]] = Counter()
        for r in self.referrals:
            if self.decided(r):
                trade = self.trade_of.get(r.professional, "")
                for key in (("", trade), ("", ""), (r.responsible, trade), (r.responsible, "")):
                    self.done[key] += 1
                    self.won[key] += r.converted
        self.hired: Counter[str] = Counter(j.customer for j in projection.jobs)
        # Each professional's whole activity: referrals it made or that named it, confirmed jobs.
        self.activity: Counter[str] = Counter(j.professional for j in projection.jobs)
        for r in self.referrals:
            self.activity[r.professional] += 1
            if r.by_professional:
                self.activity[r.referrer] += 1
        # Who refers each customer, and whether the customer referred anybody itself.
        self.referred_by: dict[str, set[str]] = defaultdict(set)
        self.refers: set[str] = set()
        for r in self.referrals:
            self.referred_by[r.referee].add(r.responsible)
            if not r.by_professional:
                self.refers.add(r.referrer)
        self.alive = set(self.hired) | self.refers
        self.customer_created = projection.customer_created
        self.by_party: dict[str, list[Referral]] = defaultdict(list)
        for r in self.referrals:
            self.by_party[r.responsible].append(r)
        for rs in self.by_party.values():
            rs.sort(key=lambda r: (r.created, r.id))
        # Referees with no life beyond their referral's party are common among real referrals
        # too (declined, expired, not yet acted on): only a share above this rate is evidence.
        dead = sum(self.lifeless(r, (r.responsible,)) for r in self.referrals)
        self.lifeless_rate = min(0.9, (dead + 1) / (len(self.referrals) + 2))

    def decided(self, r: Referral) -> bool:
        """Whether ``r`` has had its chance to convert: it is older than ``MATURITY``.

        Age alone decides, not a final status: declines come within days while conversions
        take weeks, so among young referrals the final ones are mostly failures, and counting
        them would make every recent partnership look barren."""
        return self.now - r.created >= MATURITY

    def expected(self, r: Referral) -> float:
        """Expected conversions of ``r``: its trade's rate when decided, else 0."""
        if not self.decided(r):
            return 0.0
        return self.rate(self.trade_of.get(r.professional, ""), r.responsible)

    def rate(self, trade: str, party: str) -> float:
        """The conversion rate of decided referrals for ``trade`` among parties other than
        ``party``, shrunk toward the overall rate by 20 referrals' worth of prior
        (:func:`shrunk_rate`)."""
        return shrunk_rate(self.done[("", "")], self.won[("", "")], self.done[(party, "")],
                           self.won[(party, "")], self.done[("", trade)], self.won[("", trade)],
                           self.done[(party, trade)], self.won[(party, trade)])

    def parties(self) -> int:
        """How many parties the per-party signals test (for the Bonferroni correction)."""
        return max(1, len(self.by_party))


def significance(log_p: float, tests: int) -> float:
    """In [0, 1]: 0 until a p-value (given as its natural log) is significant at ``ALPHA``
    after the Bonferroni correction for ``tests`` tests, 1 from ``SPAN`` orders of magnitude
    beyond.

    >>> round(significance(math.log(1e-3), 1), 2), significance(math.log(1e-5), 10)
    (0.5, 1.0)
    """
    excess = (-log_p / math.log(10)) - math.log10(max(1, tests) / ALPHA)
    return min(1.0, max(0.0, excess / SPAN))


def log_binomial_upper(k: int, n: int, p: float) -> float:
    """``log P(X >= k)`` for X ~ Binomial(n, p).

    >>> round(math.exp(log_binomial_upper(2, 2, 0.5)), 3)
    0.25
    """
    if k <= 0:
        return 0.0
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return 0.0
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
             + i * math.log(p) + (n - i) * math.log1p(-p) for i in range(k, n + 1)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def log_poisson_lower(k: int, mean: float) -> float:
    """``log P(X <= k)`` for X ~ Poisson(mean): how unlikely so few conversions are.

    >>> round(math.exp(log_poisson_lower(0, 2.0)), 4)
    0.1353
    """
    if mean <= 0.0:
        return 0.0
    terms = [i * math.log(mean) - mean - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(terms)
    return min(0.0, top + math.log(sum(math.exp(t - top) for t in terms)))


def log_poisson_upper(k: int, mean: float) -> float:
    """``log P(X >= k)`` for X ~ Poisson(mean): how unlikely so many referrals are.

    >>> round(math.exp(log_poisson_upper(2, 1.0)), 4)
    0.2642
    """
    if k <= 0:
        return 0.0
    if mean <= 0.0:
        return -math.inf
    terms = []
    i = k
    while True:
        terms.append(i * math.log(mean) - mean - math.lgamma(i + 1))
        if (i > mean and terms[-1] < terms[0] - 40) or i > k + 10_000:
            break
        i += 1
    top = max(terms)
    return min(0.0, top + math.log(sum(math.exp(t - top) for t in terms)))


def volume(n: float, scale: float) -> float:
    """In [0, 1): how much ``n`` events weigh as evidence, saturating past a few ``scale``."""
    return 1.0 - math.exp(-n / scale)


def days(seconds: float) -> str:
    d = seconds / DAY
    return f"{d:.0f} day{'s' if round(d) != 1 else ''}" if d >= 1 else "less than a day"


def span(rs: Sequence[Referral]) -> str:
    times = [r.created for r in rs]
    return days(max(times) - min(times)) if times else "no time"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def capped(ids: Iterable[str], exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """At most ``MAX_INVOLVED`` distinct ids, in first-seen order."""
    skip = set(exclude)
    out: list[str] = []
    for i in ids:
        if i not in skip and i not in out:
            out.append(i)
            if len(out) == MAX_INVOLVED:
                break
    return tuple(out)


# ---- RING --------------------------------------------------------------------------------------
def referral_digraph(referrals: Iterable[Referral]) -> nx.DiGraph:
    """Professional-to-professional referrals as a digraph; each edge holds its referrals,
    ordered by (created, id) so that findings do not depend on the order rows were read in."""
    G = nx.DiGraph()
    for r in sorted(referrals, key=lambda r: (r.created, r.id)):
        if r.by_professional:
            if G.has_edge(r.referrer, r.professional):
                G[r.referrer][r.professional]["referrals"].append(r)
            else:
                G.add_edge(r.referrer, r.professional, referrals=[r])
    return G


def loops(G: nx.DiGraph, min_length: int = RING_MIN,
          max_length: int = RING_MAX) -> list[list[str]]:
    """Simple directed cycles of ``min_length..max_length`` nodes, each once, rotated to start
    at its smallest node; sorted.

    Uses ``networkx.simple_cycles`` with ``length_bound`` (Johnson's algorithm, bounded),
    searched inside each strongly connected component (``networkx.strongly_connected_components``)
    since no cycle leaves one.

    >>> G = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "c")])
    >>> loops(G)
    [['a', 'b', 'c']]
    """
    found: list[list[str]] = []
    for component in nx.strongly_connected_components(G):
        if len(component) < min_length:
            continue
        for cycle in nx.simple_cycles(G.subgraph(component), length_bound=max_length):
            if len(cycle) >= min_length:
                i = cycle.index(min(cycle))
                found.append(cycle[i:] + cycle[:i])
    return sorted(found)


def ring(projection: Projection, facts: Facts | None = None) -> list[Finding]:
    """RING: professionals referring each other around a closed loop of 3..8, with little
    business outside it and nothing following.

    Candidate edges are professional-to-professional referral edges that produced no confirmed
    job; loops among them are found with :func:`loops` (``networkx.strongly_connected_components``
    and ``networkx.simple_cycles(length_bound=8)``). A loop's strength is

    ``no_outcome * (0.5 + 0.5 * insularity) * (1 - exp(-weakest edge / 1.5))``

    where ``no_outcome`` is :meth:`Facts.no_outcome` over the loop's referrals (conversions
    short of the trades' rates, or referees with no life outside the loop), ``insularity``
    (:meth:`Facts.insularity`) the share of the members' whole activity that the loop makes up
    ("little business outside it"; halved, so that members with a business of their own still
    answer for the loop), and the last factor grows with the referrals on the loop's weakest
    edge (0.74 at 2, 0.86 at 3). Organic loops among partners convert and their referees are
    real customers: ``no_outcome`` is near 0. Each professional keeps its strongest loop.

    >>> rs = [Referral(f"r{i}{a}", a, True, b, f"c{i}{a}", i * 3600.0, "EXPIRED")
    ...       for i in range(8) for a, b in (("a", "b"), ("b", "c"), ("c", "a"))]
    >>> [(f.flagged, round(f.strength, 2)) for f in ring(Projection(rs, now=9 * 86400.0))]
    [(('a', 'b', 'c'), 1.0)]
    """
    facts = facts or Facts(projection)
    G = referral_digraph(facts.referrals)
    return ring_findings(G, barren_edges(G), facts)


def barren_edges(G: nx.DiGraph) -> nx.DiGraph:
    """The ring candidates of :func:`referral_digraph`'s ``G``: edges carrying at least
    ``RING_EDGE`` referrals, none converted."""
    barren = nx.DiGraph()
    barren.add_edges_from((u, v) for u, v, rs in G.edges(data="referrals")
                          if len(rs) >= RING_EDGE and not any(r.converted for r in rs))
    return barren


def ring_findings(G: nx.DiGraph, barren: nx.DiGraph, evidence: Evidence) -> list[Finding]:
    """The RING findings of the loops in ``barren`` (:func:`ring`); ``G`` holds at least the
    referrals on ``barren``'s edges, ``evidence`` what is known of them and their members."""
    best: dict[frozenset[str], tuple[float, list[str]]] = {}
    for cycle in loops(barren):
        members = frozenset(cycle)
        edges = list(pairwise([*cycle, cycle[0]]))
        rs = [r for u, v in edges for r in G[u][v]["referrals"]]
        share = evidence.insularity(rs, members)
        dead, _, _, _ = evidence.no_outcome(rs, members)
        weakest = min(len(G[u][v]["referrals"]) for u, v in edges)
        strength = dead * (0.5 + 0.5 * share) * volume(weakest, 1.5)
        if strength > best.get(members, (0.0, []))[0]:
            best[members] = (strength, cycle)
    per_pro: dict[str, float] = {}
    findings = []
    for members, (strength, cycle) in sorted(best.items(), key=lambda kv: -kv[1][0]):
        if strength <= 0.0 or all(per_pro.get(m, 0.0) >= strength for m in members):
            continue
        for m in members:
            per_pro[m] = max(per_pro.get(m, 0.0), strength)
        edges = list(pairwise([*cycle, cycle[0]]))
        rs = [r for u, v in edges for r in G[u][v]["referrals"]]
        _, k, _, lifeless = evidence.no_outcome(rs, members)
        referees = {r.referee for r in rs}
        text = (f"{len(cycle)} professionals referred {plural(len(referees), 'referee')} around "
                f"a loop ({' -> '.join(cycle)} -> {cycle[0]}) in {span(rs)}; "
                f"{plural(k, 'confirmed job')} followed from {plural(len(rs), 'referral')}; "
                f"{lifeless} of the referees have no activity outside the loop")
        findings.append(Finding(RING, round(strength, 4), text, tuple(sorted(members)),
                                capped([*cycle, *(r.referee for r in rs)]),
                                tuple(r.id for r in rs)))
    return findings


# ---- RECIPROCAL_ONLY ---------------------------------------------------------------------------
def exclusive_pairs(G: nx.DiGraph) -> list[tuple[str, str, float]]:
    """Pairs of professionals referring each other, with their exclusivity: the smaller of the
    two shares of each one's professional referrals (by count) that went to the other.

    Reciprocated edges are those ``networkx.reciprocity`` counts; a node's share is over its
    out-edges weighted by the number of referrals.

    >>> G = nx.DiGraph()
    >>> G.add_edge("a", "b", referrals=[1, 2]); G.add_edge("b", "a", referrals=[3])
    >>> G.add_edge("b", "c", referrals=[4])
    >>> exclusive_pairs(G)
    [('a', 'b', 0.5)]
    """
    out = {u: sum(len(d["referrals"]) for _, _, d in G.out_edges(u, data=True)) for u in G}
    pairs = []
    for u, v in G.edges():
        if u < v and G.has_edge(v, u):
            share = min(len(G[u][v]["referrals"]) / out[u], len(G[v][u]["referrals"]) / out[v])
            pairs.append((u, v, share))
    return sorted(pairs)


def reciprocal_only(projection: Projection, facts: Facts | None = None) -> list[Finding]:
    """RECIPROCAL_ONLY: two professionals who refer almost only each other, in volume, with
    nothing following.

    Strength ``no_outcome * exclusivity * (0.5 + 0.5 * insularity)`` for pairs whose
    exclusivity (:func:`exclusive_pairs`, over ``networkx.reciprocity``'s reciprocated edges)
    is at least 0.8 and who exchanged at least 6 referrals; ``insularity``
    (:meth:`Facts.insularity`) is the share of the two's whole activity the pair's referrals
    make up. Volume enters through ``no_outcome``, whose deficit needs enough expected
    conversions to count. Long-standing partners who refer each other almost exclusively are
    common and legitimate: their referrals convert, their referees are real customers and
    they have business of their own, so they stay at or near 0.

    >>> rs = [Referral(f"r{i}{a}", a, True, b, f"c{i}{a}", i * 3600.0, "EXPIRED")
    ...       for i in range(10) for a, b in (("a", "b"), ("b", "a"))]
    >>> [(f.flagged, round(f.strength, 2)) for f in reciprocal_only(Projection(rs))]
    [(('a', 'b'), 1.0)]
    """
    facts = facts or Facts(projection)
    G = referral_digraph(facts.referrals)
    if G.number_of_edges() == 0 or nx.reciprocity(G) == 0:
        return []
    findings = []
    for u, v, share in exclusive_pairs(G):
        found = reciprocal_finding(u, v, G[u][v]["referrals"], G[v][u]["referrals"], share,
                                   facts)
        if found is not None:
            findings.append(found)
    return sorted(findings, key=lambda f: -f.strength)


def reciprocal_finding(u: str, v: str, there: Sequence[Referral], back: Sequence[Referral],
                       share: float, evidence: Evidence) -> Finding | None:
    """The RECIPROCAL_ONLY finding of the pair ``u < v`` (:func:`reciprocal_only`), given the
    referrals from ``u`` to ``v`` and back, ordered by (created, id), and its exclusivity."""
    rs = [*there, *back]
    if share < 0.8 or len(rs) < 6:
        return None
    dead, k, _, lifeless = evidence.no_outcome(rs, (u, v))
    strength = dead * share * (0.5 + 0.5 * evidence.insularity(rs, (u, v)))
    if strength <= 0.0:
        return None
    text = (f"{u} and {v} exchanged {plural(len(rs), 'referral')} in {span(rs)} "
            f"({len(there)} and {len(back)}), "
            f"{share:.0%} or more of each one's referrals to professionals; "
            f"{plural(k, 'confirmed job')} followed; {lifeless} of the referees have no "
            f"other activity")
    return Finding(RECIPROCAL_ONLY, round(strength, 4), text, (u, v),
                   capped([u, v, *(r.referee for r in rs)]), tuple(r.id for r in rs))


# ---- HOLLOW_REFEREES ---------------------------------------------------------------------------
def hollow_referees(projection: Projection, facts: Facts | None = None) -> list[Finding]:
    """HOLLOW_REFEREES: a professional whose referees have no life of their own (no confirmed
    job, no other referral) and were created within ``HOLLOW_WINDOW`` (3 days) before.

    The share ``p0`` of hollow referees over the whole graph is the baseline (real referees
    the referrer signed up on the spot exist; they just go on to do something). A professional
    with ``h`` hollow of ``n`` referrals is tested against Binomial(n, p0), corrected for the
    number of professionals tested; strength ``(h / n) * significance``. Needs ``h >= 3``.

    >>> rs = [Referral(f"r{i}", "a", True, "b", f"c{i}", 10 * 86400.0, "EXPIRED")
    ...       for i in range(12)]
    >>> rs += [Referral(f"o{i}", f"x{i}", True, "b", "real", 10 * 86400.0, "EXPIRED")
    ...        for i in range(40)]
    >>> created = {**{f"c{i}": 10 * 86400.0 - 600 for i in range(12)}, "real": 0.0}
    >>> [(f.flagged, f.strength) for f in hollow_referees(Projection(rs, customer_created=created))]
    [(('a',), 1.0)]
    """
    facts = facts or Facts(projection)
    p0 = hollow_share(sum(facts.hollow(r) for r in facts.referrals), len(facts.referrals))
    found = (hollow_finding(party, rs, facts, p0, facts.parties())
             for party, rs in sorted(facts.by_party.items()))
    return sorted((f for f in found if f is not None), key=lambda f: -f.strength)


def hollow_share(hollow: int, referrals: int) -> float:
    """The baseline share ``p0`` of hollow referees: ``hollow`` of ``referrals``, smoothed."""
    return (hollow + 1) / (referrals + 2)


def hollow_finding(party: str, rs: Sequence[Referral], evidence: Evidence, p0: float,
                   tests: int) -> Finding | None:
    """The HOLLOW_REFEREES finding of ``party`` (:func:`hollow_referees`) over its referrals
    ``rs``, ordered by (created, id)."""
    hollow = [r for r in rs if evidence.hollow(r)]
    if len(hollow) < 3:
        return None
    strength = len(hollow) / len(rs) * significance(
        log_binomial_upper(len(hollow), len(rs), p0), tests)
    if strength <= 0.0:
        return None
    gaps = [r.created - evidence.customer_created[r.referee] for r in hollow]
    text = (f"{len(hollow)} of {plural(len(rs), 'referral')} in {span(hollow)} introduced "
            f"referees created at most {days(max(gaps))} before, with no confirmed job and "
            f"no other referral (usual share {p0:.1%})")
    return Finding(HOLLOW_REFEREES, round(strength, 4), text, (party,),
                   capped((r.referee for r in hollow), (party,)), tuple(r.id for r in hollow))


# ---- BURST -------------------------------------------------------------------------------------
def busiest_window(times: Sequence[float], width: float) -> tuple[int, int]:
    """``(i, j)``: the slice ``times[i:j]`` of sorted ``times`` with the most entries within
    ``width`` of its first one (the earliest such slice).

    >>> busiest_window([0.0, 1.0, 2.0, 10.0, 10.5], 2.0)
    (0, 3)
    """
    best, j, found = (0, 0), 0, 0
    for i in range(len(times)):
        j = max(j, i)
        while j < len(times) and times[j] - times[i] <= width:
            j += 1
        if j - i > found:
            best, found = (i, j), j - i
    return best


def burst(projection: Projection, facts: Facts | None = None) -> list[Finding]:
    """BURST: many referrals within ``BURST_WINDOW`` (7 days), far above the professional's own
    history and its peers', with nothing following.

    The baseline for the window is the larger of two rates. The professional's own: its
    referrals outside the window, spread in proportion to everybody else's referrals since the
    professional appeared (so that the platform's growth and seasons are no burst). Its
    peers': the median weekly rate of the professionals with two referrals or more, over their
    active weeks. The window's count is tested against Poisson(baseline), corrected for the
    number of professionals tested (``elevation``, :func:`significance`); strength
    ``elevation * no_outcome`` for bursts of at least 8. A new member's first burst of real
    work has no history but converts: ``no_outcome`` keeps it clean, as it does a busy
    referrer's steady stream.
    """
    facts = facts or Facts(projection)
    weekly = [weekly_rate(rs) for rs in facts.by_party.values() if len(rs) >= 2]
    peers = statistics.median(weekly) if weekly else 1.0
    times = sorted(r.created for r in facts.referrals)
    findings = []
    for party, rs in sorted(facts.by_party.items()):
        candidate = burst_candidate(rs, projection.professional_created.get(party))
        if candidate is None:
            continue
        window, first = candidate
        start = window[0].created
        # Everybody's referrals in the window, and since the professional appeared.
        inside = bisect_right(times, start + BURST_WINDOW) - bisect_left(times, start)
        since = len(times) - bisect_left(times, first)
        found = burst_finding(party, rs, window, inside, since, peers, facts.parties(), facts)
        if found is not None:
            findings.append(found)
    return sorted(findings, key=lambda f: -f.strength)


def weekly_rate(rs: Sequence[Referral]) -> float:
    """A party's referrals per active week (weeks of ``BURST_WINDOW`` since the epoch)."""
    return len(rs) / len({int(r.created // BURST_WINDOW) for r in rs})


def burst_candidate(rs: Sequence[Referral], created: float | None
                    ) -> tuple[Sequence[Referral], float] | None:
    """A party's busiest ``BURST_WINDOW`` of its referrals ``rs`` (ordered by (created, id))
    and when the party appeared (its first referral, or ``created`` when earlier), if the
    window holds at least 8; else None."""
    if len(rs) < 8:
        return None
    i, j = busiest_window([r.created for r in rs], BURST_WINDOW)
    window = rs[i:j]
    if len(window) < 8:
        return None
    return window, min(rs[0].created, rs[0].created if created is None else created)


def burst_finding(party: str, rs: Sequence[Referral], window: Sequence[Referral], inside: int,
                  since: int, peers: float, tests: int, evidence: Evidence) -> Finding | None:
    """The BURST finding of ``party`` (:func:`burst`) over its referrals ``rs`` and their
    busiest ``window`` (:func:`burst_candidate`), given how many referrals of anybody's (the
    party's own included) fall ``inside`` the window (its first time to ``BURST_WINDOW`` later,
    both ends included) and ``since`` the party appeared, and the peers' median weekly rate."""
    everybody = inside - len(window)
    since = since - len(rs) - everybody
    own = (len(rs) - len(window)) * everybody / max(since, everybody, 1)
    baseline = max(own, peers)
    elevation = significance(log_poisson_upper(len(window), baseline), tests)
    if elevation <= 0.0:
        return None
    dead, k, _, lifeless = evidence.no_outcome(window, (party,))
    strength = elevation * dead
    if strength <= 0.0:
        return None
    text = (f"{plural(len(window), 'referral')} in {span(window)}, where the professional's "
            f"own history gives {own:.1f} a week and a typical peer {peers:.1f}; "
            f"{plural(k, 'confirmed job')} followed; {lifeless} of the referees have no "
            f"other activity")
    return Finding(BURST, round(strength, 4), text, (party,),
                   capped((r.referee for r in window), (party,)), tuple(r.id for r in window))


# ---- NO_OUTCOMES -------------------------------------------------------------------------------
def no_outcomes(projection: Projection, facts: Facts | None = None) -> list[Finding]:
    """NO_OUTCOMES: referrals that almost never lead to a confirmed job, far below the rate of
    the named professionals' trades (:meth:`Facts.rate`, learned from decided referrals).

    A professional's k conversions against E expected (:meth:`Facts.expected`) are tested
    against Poisson(E), corrected for the number of professionals tested; strength
    ``deficit * significance`` with ``deficit = 1 - (k + 1) / (E + 1)``. A busy referrer
    whose referrals convert at the usual rate has no deficit however many it makes.
    """
    facts = facts or Facts(projection)
    found = (no_outcomes_finding(party, rs, facts, facts.parties())
             for party, rs in sorted(facts.by_party.items()))
    return sorted((f for f in found if f is not None), key=lambda f: -f.strength)


def no_outcomes_finding(party: str, rs: Sequence[Referral], evidence: Evidence,
                        tests: int) -> Finding | None:
    """The NO_OUTCOMES finding of ``party`` (:func:`no_outcomes`) over its referrals ``rs``,
    ordered by (created, id)."""
    k = sum(r.converted for r in rs)
    e = sum(evidence.expected(r) for r in rs)
    deficit = max(0.0, 1.0 - (k + PRIOR) / (e + PRIOR))
    if deficit <= 0.0:
        return None
    strength = deficit * significance(log_poisson_lower(k, e), tests)
    if strength <= 0.0:
        return None
    text = (f"{plural(k, 'confirmed job')} followed from {plural(len(rs), 'referral')} in "
            f"{span(rs)}, where the trades' usual rates give {e:.1f}")
    return Finding(NO_OUTCOMES, round(strength, 4), text, (party,),
                   capped((r.referee for r in rs if not r.converted), (party,)),
                   tuple(r.id for r in rs if not r.converted))


# ---- combination -------------------------------------------------------------------------------
DETECTORS = (ring, reciprocal_only, hollow_referees, burst, no_outcomes)


def noisy_or(strengths: Iterable[float]) -> float:
    """``1 - prod(1 - s)``: the chance that at least one independent signal is right.

    >>> round(noisy_or([0.5, 0.5]), 2), noisy_or([])
    (0.75, 0.0)
    """
    keep = 1.0
    for s in strengths:
        keep *= 1.0 - s
    return 1.0 - keep


def findings(projection: Projection) -> list[Finding]:
    """Every signal's findings over ``projection``."""
    facts = Facts(projection)
    return [f for detect in DETECTORS for f in detect(projection, facts)]


def assess(projection: Projection) -> Assessment:
    """Scores and findings per flagged professional and per covered referral
    (:func:`assessment_of` the :func:`findings`)."""
    return assessment_of(findings(projection))


def assessment_of(found_all: Iterable[Finding]) -> Assessment:
    """Scores and findings per flagged professional and per covered referral, of findings in
    :data:`DETECTORS` order (the first of equally strong findings of a signal is kept).

    A node's score is :func:`noisy_or` of its findings' strengths, each signal counted once
    per node (its strongest finding), since repeats of one signal are not independent evidence.
    """
    per_pro: dict[str, dict[str, Finding]] = defaultdict(dict)
    per_ref: dict[str, dict[str, Finding]] = defaultdict(dict)
    for f in found_all:
        for targets, key in ((per_pro, f.flagged), (per_ref, f.referrals)):
            for node in key:
                held = targets[node].get(f.signal)
                if held is None or f.strength > held.strength:
                    targets[node][f.signal] = f

    def combine(found: dict[str, dict[str, Finding]]) -> dict[str, tuple[float, list[Finding]]]:
        out = {}
        for node, by_signal in found.items():
            fs = sorted(by_signal.values(), key=lambda f: (-f.strength, f.signal))
            out[node] = (round(noisy_or(f.strength for f in fs), 4), fs)
        return out

    return Assessment(combine(per_pro), combine(per_ref))
