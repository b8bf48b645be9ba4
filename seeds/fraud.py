"""Fraud planted among the synthetic network, with the ground truth, so detection can be measured.

:func:`planted_dataset` builds the organic network of :mod:`seeds.synthetic` and plants among it
``share`` of the professionals as fraudsters, split across four patterns:

- ``RING``: 3 to 8 new professionals of one network refer each other around a loop (A->B, B->C,
  ..., back to A) within 3 to 14 days, introducing referees who (nearly all) never hire: most are
  created for the occasion. Apart from the ring they do at most two jobs each.
- ``RECIPROCAL_ONLY``: two professionals refer 6 to 12 customers each to the other over one to
  three months, and (almost) nobody else; none converts.
- ``HOLLOW_REFEREES``: a professional with a little real business refers 6 to 14 referees it
  invented: each customer is created minutes to 36 hours before its referral and has no job and
  no other referral.
- ``BURST``: a professional with a modest history (a few jobs, up to three referrals) makes 15
  to 30 referrals in one to four days, none of which converts.

Planted fraud ends at least :data:`SETTLED` before :data:`seeds.synthetic.SYNTHETIC_NOW`, so its
referrals are final (declined or expired): their outcome is known, as it would be to a reviewer.

Beside the fraud it plants legitimate look-alikes (about :data:`LOOKALIKE_SHARE` of the
professionals), the activity a detector must not flag:

- ``PARTNERS``: two long-standing members with their own customers who refer each other both
  ways for a year or more; most referrals convert into confirmed, rated jobs.
- ``BUSY_REFERRER``: a long-standing member who refers 30 to 60 of its own customers to many
  members over the whole history, converting about half.
- ``NEW_MEMBER_BURST``: a new member's first days: 8 to 15 referrals in two to five days, about
  70% converting into rated jobs.

Every planted professional joins a network of the organic world before it acts; its
professional referrals stay inside that network. Every row obeys the same rules as the organic
ones (``seeds.engine``): lifecycle paths with ascending times, converted referrals pointing to a
fresh job of the referee with the professional, parties created before they take part.

Counts stay exact: planting takes its professionals, customers, jobs and referrals out of the
organic budgets, so ``len(ds.professionals) == professionals`` and so on, and the number of
networks is the one the full size would have (the planted members make a network a few members
larger than the organic 80 to 120). Planted professionals
and customers are numbered after the organic ones in the same id format (their order among
themselves is shuffled, so an id says nothing about a pattern); jobs and referrals are renumbered
in time order, as generated ids are. ``share=0`` plants nothing: the result is
``synthetic_dataset`` itself and an empty truth.

>>> ds, truth = planted_dataset(400, 2000, 4000, 2000, seed=3, share=0.05)
>>> len(ds.professionals), len(truth.fraudulent)
(400, 20)
>>> sorted(set(truth.fraudulent.values()))
['BURST', 'HOLLOW_REFEREES', 'RECIPROCAL_ONLY', 'RING']
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from graph.bulk import Dataset, Row
from graph.referrals import open_key
from graph.timeutil import from_store
from seeds.catalog import MEDIAN_VALUE, PROFESSIONAL_NOTES, SECOND_TRADES, TRADES
from seeds.engine import (
    ACCEPTED,
    CONVERTED,
    DAY,
    HOUR,
    MINUTE,
    PROFESSIONAL_NOTE_SHARE,
    SENT,
    STATUS_WEIGHTS,
    VALUE_SPREAD,
    WINDOWS,
    Picker,
    between,
    lifecycle,
    store_time,
)
from seeds.synthetic import (
    BUSINESS_NAME_SHARE,
    DEMAND,
    HISTORY_DAYS,
    PROS_PER_NETWORK,
    SECOND_TRADE_SHARE,
    SYNTHETIC_NOW,
    business_name,
    complementary,
    person,
    synthetic_dataset,
)

RING = "RING"
RECIPROCAL_ONLY = "RECIPROCAL_ONLY"
HOLLOW_REFEREES = "HOLLOW_REFEREES"
BURST = "BURST"
PATTERNS = (RING, RECIPROCAL_ONLY, HOLLOW_REFEREES, BURST)

PARTNERS = "PARTNERS"
BUSY_REFERRER = "BUSY_REFERRER"
NEW_MEMBER_BURST = "NEW_MEMBER_BURST"
LOOKALIKES = (PARTNERS, BUSY_REFERRER, NEW_MEMBER_BURST)

MIN_SHARE, MAX_SHARE = 0.01, 0.05
# Of the fraudulent professionals, the part in rings and in reciprocal pairs; the rest is split
# evenly between hollow referees and bursts (rings and pairs take whole groups, the leftovers go
# to the single-professional patterns, so the total is exact).
RING_PART = 0.3
PAIR_PART = 0.25
RING_SIZE = (3, 8)
LOOKALIKE_SHARE = 0.02
# Planted fraud ends this long before the reference time: every referral of it is final (an
# open referral expires after 30 days; the engine's EXPIRED window is 36).
SETTLED = 45 * DAY
# The organic world must keep at least this part of every budget.
ORGANIC_FLOOR = 0.5

WEEK = 7 * DAY
NOW = int(SYNTHETIC_NOW.timestamp())
FLOOR = NOW - HISTORY_DAYS * DAY
# Every organic network exists by then (they are founded in the first year): planted referrals
# come later, so that their parties can be members of a network before they refer.
EARLIEST_REFERRAL = FLOOR + 370 * DAY

# A planned referee is an index into the invented customers, or one of these:
ORGANIC = -1  # a customer of the organic world
OWN = -2  # one of the referrer's own customers (it did a job for them before)


def check_share(share: float) -> float:
    """``share`` if it is 0 or in [0.01, 0.05]; ValueError otherwise."""
    if (
        isinstance(share, bool)
        or not isinstance(share, int | float)
        or not math.isfinite(share)
        or not (share == 0 or MIN_SHARE <= share <= MAX_SHARE)
    ):
        raise ValueError(
            f"the planted share must be 0 or between {MIN_SHARE} and {MAX_SHARE}, got {share!r}"
        )
    return float(share)


@dataclass(frozen=True)
class GroundTruth:
    """What was planted.

    ``fraudulent`` maps each fraudulent professional to its pattern (``PATTERNS``), ``lookalikes``
    each planted legitimate look-alike to its kind (``LOOKALIKES``). ``groups`` lists every
    planted group as (pattern or kind, member ids); a ring's members are in loop order (each
    refers the next, the last the first). ``referrals`` maps each fraudulent referral to its
    pattern (a burst's earlier, ordinary referrals are not in it).
    """

    fraudulent: dict[str, str] = field(default_factory=dict)
    lookalikes: dict[str, str] = field(default_factory=dict)
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    referrals: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({
            "fraudulent": self.fraudulent,
            "lookalikes": self.lookalikes,
            "groups": [{"pattern": p, "members": list(m)} for p, m in self.groups],
            "referrals": self.referrals,
        }, indent=1, sort_keys=True)

    def precision_recall(self, flagged: Iterable[str]) -> tuple[float, float]:
        """Precision and recall of ``flagged`` professional ids against the fraudulent ones;
        each is 1.0 when its denominator is empty (nothing flagged, nothing planted).

        >>> truth = GroundTruth(fraudulent={"pro_a": RING, "pro_b": RING})
        >>> truth.precision_recall(["pro_a", "pro_c"])
        (0.5, 0.5)
        """
        found = set(flagged)
        hits = len(found & self.fraudulent.keys())
        return (hits / len(found) if found else 1.0,
                hits / len(self.fraudulent) if self.fraudulent else 1.0)

    @classmethod
    def from_json(cls, text: str) -> GroundTruth:
        data = json.loads(text)
        return cls(
            fraudulent=dict(data["fraudulent"]),
            lookalikes=dict(data["lookalikes"]),
            groups=tuple((g["pattern"], tuple(g["members"])) for g in data.get("groups", [])),
            referrals=dict(data.get("referrals", {})),
        )


# ---------------------------------------------------------------- the plan (times and counts)


@dataclass
class Actor:
    kind: str
    created: int
    jobs: list[int] = field(default_factory=list)  # completion times of its own jobs
    first: int = NOW  # its earliest referral, made or received

    def touch(self, ts: int) -> None:
        self.first = min(self.first, ts)


@dataclass(frozen=True)
class PlanRef:
    referrer: int  # actor
    target: int  # actor, or -1: an organic member of the referrer's network
    referee: int  # index into the fresh customers, or ORGANIC, OWN
    history: tuple[str, ...]
    times: tuple[int, ...]
    done: int | None  # completion of the converting job
    fraud: str | None  # the pattern, when the referral is part of it


@dataclass
class Plan:
    actors: list[Actor] = field(default_factory=list)
    groups: list[tuple[str, list[int]]] = field(default_factory=list)
    fresh: list[int] = field(default_factory=list)  # creation times of invented customers
    refs: list[PlanRef] = field(default_factory=list)

    @property
    def jobs(self) -> int:
        return sum(len(a.jobs) for a in self.actors) + sum(r.done is not None for r in self.refs)


def fits(status: str, age: int) -> bool:
    oldest, youngest = WINDOWS[status]
    return age >= youngest and (oldest is None or age <= oldest)


def ending(rng: random.Random, t0: int, convert: float) -> str:
    """A status a referral created at ``t0`` can have now: CONVERTED with chance ``convert``
    when it is old enough, otherwise one of the rest, weighted as the organic ones are."""
    age = NOW - t0
    if convert and fits(CONVERTED, age) and rng.random() < convert:
        return CONVERTED
    options = [(s, w) for s, w in STATUS_WEIGHTS if s != CONVERTED and fits(s, age)]
    picker = Picker(range(len(options)), [w for _, w in options])
    return options[picker.pick(rng)][0]


class Planner:
    """Draws the times and counts of everything planted, before the organic world exists (its
    budgets are what is left)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.plan = Plan()

    def group(self, kind: str, created: list[int]) -> list[int]:
        members = []
        for c in created:
            members.append(len(self.plan.actors))
            self.plan.actors.append(Actor(kind, max(FLOOR, c)))
        self.plan.groups.append((kind, members))
        return members

    def own_jobs(self, a: int, count: int, lo: int | None = None) -> None:
        actor = self.plan.actors[a]
        lo = actor.created + DAY if lo is None else lo
        for _ in range(count):
            ts = between(self.rng, lo, NOW - DAY)
            actor.jobs.append(ts)

    def fresh(self, t0: int, gap: tuple[int, int]) -> int:
        created = max(FLOOR, t0 - between(self.rng, *gap))
        self.plan.fresh.append(min(created, t0 - 1))
        return len(self.plan.fresh) - 1

    def refer(
        self, t0: int, a: int, target: int, referee: int, convert: float, fraud: str | None
    ) -> None:
        status = ending(self.rng, t0, convert)
        history, times, done = lifecycle(self.rng, status, t0)
        self.plan.refs.append(PlanRef(a, target, referee, history, times, done, fraud))
        self.plan.actors[a].touch(t0)
        if target >= 0:
            self.plan.actors[target].touch(t0)

    # -- fraud

    def ring(self, size: int) -> None:
        rng = self.rng
        s = between(rng, EARLIEST_REFERRAL, NOW - SETTLED - 20 * DAY)
        span = between(rng, 3 * DAY, 14 * DAY)
        members = self.group(RING, [s - between(rng, 20 * DAY, 300 * DAY) for _ in range(size)])
        for i, a in enumerate(members):
            b = members[(i + 1) % size]
            for _ in range(rng.randint(3, 7)):
                t0 = s + between(rng, 0, span)
                referee = (self.fresh(t0, (HOUR, 10 * DAY)) if rng.random() < 0.8
                           else ORGANIC)
                self.refer(t0, a, b, referee, 0.0, RING)
        for a in members:
            self.own_jobs(a, rng.randint(0, 2))

    def reciprocal_pair(self) -> None:
        rng = self.rng
        s = between(rng, EARLIEST_REFERRAL, NOW - SETTLED - 90 * DAY)
        span = between(rng, 20 * DAY, 90 * DAY)
        pair = self.group(RECIPROCAL_ONLY, [s - between(rng, 30 * DAY, 300 * DAY) for _ in "ab"])
        for a, b in (pair, pair[::-1]):
            for _ in range(rng.randint(6, 12)):
                t0 = s + between(rng, 0, span)
                referee = self.fresh(t0, (HOUR, 20 * DAY)) if rng.random() < 0.4 else ORGANIC
                self.refer(t0, a, b, referee, 0.0, RECIPROCAL_ONLY)
            if rng.random() < 0.3:  # "almost" only each other
                self.refer(s + between(rng, 0, span), a, -1, ORGANIC, 0.0, RECIPROCAL_ONLY)
            self.own_jobs(a, rng.randint(0, 3))

    def hollow(self) -> None:
        rng = self.rng
        c = between(rng, FLOOR + 30 * DAY, NOW - 250 * DAY)
        (a,) = self.group(HOLLOW_REFEREES, [c])
        self.own_jobs(a, rng.randint(2, 6))
        s = between(rng, max(c + 14 * DAY, EARLIEST_REFERRAL), NOW - SETTLED - 60 * DAY)
        span = between(rng, 10 * DAY, 60 * DAY)
        for _ in range(rng.randint(6, 14)):
            t0 = s + between(rng, 0, span)
            self.refer(t0, a, -1, self.fresh(t0, (5 * MINUTE, 36 * HOUR)), 0.0, HOLLOW_REFEREES)

    def burst(self) -> None:
        rng = self.rng
        c = between(rng, FLOOR + 30 * DAY, NOW - 250 * DAY)
        (a,) = self.group(BURST, [c])
        self.own_jobs(a, rng.randint(3, 8))
        b = between(rng, max(c + 60 * DAY, EARLIEST_REFERRAL + 30 * DAY), NOW - SETTLED - 5 * DAY)
        lo = max(c + 7 * DAY, EARLIEST_REFERRAL)
        for _ in range(rng.randint(0, 3)):  # its ordinary history
            self.refer(between(rng, lo, b - 20 * DAY), a, -1, ORGANIC, 0.3, None)
        span = between(rng, DAY, 4 * DAY)
        for _ in range(rng.randint(15, 30)):
            t0 = b + between(rng, 0, span)
            referee = ORGANIC if rng.random() < 0.85 else self.fresh(t0, (HOUR, 30 * DAY))
            self.refer(t0, a, -1, referee, 0.0, BURST)

    # -- look-alikes

    def converting(self, times: list[int], share: float) -> list[int]:
        """``times`` sorted, as many of those old enough to have converted converting as
        ``share`` of them says (exactly, not by chance: a look-alike must look like one)."""
        times.sort()
        old = [i for i, t in enumerate(times) if fits(CONVERTED, NOW - t)]
        chosen = set(self.rng.sample(old, round(share * len(old))))
        return [1 if i in chosen else 0 for i in range(len(times))]

    def partners(self) -> None:
        rng = self.rng
        pair = self.group(PARTNERS, [between(rng, FLOOR, FLOOR + 200 * DAY) for _ in "ab"])
        for a in pair:
            self.own_jobs(a, rng.randint(12, 25))
        lo = max(max(self.plan.actors[a].created for a in pair) + 30 * DAY, EARLIEST_REFERRAL)
        for a, b in (pair, pair[::-1]):
            times = [between(rng, lo, NOW - 10 * DAY) for _ in range(rng.randint(5, 12))]
            for t0, convert in zip(times, self.converting(times, 0.65), strict=True):
                referee = OWN if rng.random() < 0.85 else ORGANIC
                self.refer(t0, a, b, referee, convert, None)

    def busy_referrer(self) -> None:
        rng = self.rng
        c = between(rng, FLOOR, FLOOR + 150 * DAY)
        (a,) = self.group(BUSY_REFERRER, [c])
        self.own_jobs(a, rng.randint(30, 50))
        lo = max(c + 30 * DAY, EARLIEST_REFERRAL)
        times = [between(rng, lo, NOW - 5 * DAY) for _ in range(rng.randint(30, 60))]
        for t0, convert in zip(times, self.converting(times, 0.55), strict=True):
            referee = OWN if rng.random() < 0.8 else ORGANIC
            self.refer(t0, a, -1, referee, convert, None)

    def new_member_burst(self) -> None:
        rng = self.rng
        c = between(rng, NOW - 200 * DAY, NOW - 90 * DAY)
        (a,) = self.group(NEW_MEMBER_BURST, [c])
        b = c + between(rng, 3 * DAY, 10 * DAY)
        span = between(rng, 2 * DAY, 5 * DAY)
        times = [b + between(rng, 0, span) for _ in range(rng.randint(8, 15))]
        for t0, convert in zip(times, self.converting(times, 0.7), strict=True):
            self.refer(t0, a, -1, ORGANIC, convert, None)
        self.own_jobs(a, rng.randint(3, 8), lo=c + DAY)


def fraud_groups(rng: random.Random, n: int) -> list[tuple[str, int]]:
    """(pattern, size) of the groups that make up ``n`` fraudulent professionals exactly."""
    groups: list[tuple[str, int]] = []
    low, high = RING_SIZE
    left = round(n * RING_PART)
    while left >= low:
        size = left if left <= high else rng.randint(low, min(high, left - low))
        groups.append((RING, size))
        left -= size
    rest = n - sum(size for _, size in groups)
    pairs = min(round(n * PAIR_PART), rest) // 2
    groups += [(RECIPROCAL_ONLY, 2)] * pairs
    rest -= 2 * pairs
    groups += [(HOLLOW_REFEREES, 1)] * (rest // 2) + [(BURST, 1)] * (rest - rest // 2)
    return groups


def lookalike_groups(professionals: int) -> list[tuple[str, int]]:
    n = max(4, round(LOOKALIKE_SHARE * professionals))
    pairs = max(1, round(n * 0.4) // 2)
    busy = max(1, round(n * 0.3))
    new = max(1, n - 2 * pairs - busy)
    return [(PARTNERS, 2)] * pairs + [(BUSY_REFERRER, 1)] * busy + [(NEW_MEMBER_BURST, 1)] * new


def make_plan(rng: random.Random, professionals: int, share: float) -> Plan:
    planner = Planner(rng)
    draw: dict[str, Callable[[], None]] = {
        RECIPROCAL_ONLY: planner.reciprocal_pair, HOLLOW_REFEREES: planner.hollow,
        BURST: planner.burst, PARTNERS: planner.partners, BUSY_REFERRER: planner.busy_referrer,
        NEW_MEMBER_BURST: planner.new_member_burst,
    }
    shapes = fraud_groups(rng, round(share * professionals)) + lookalike_groups(professionals)
    rng.shuffle(shapes)  # so that no part of the history belongs to one pattern's draws
    for kind, size in shapes:
        if kind == RING:
            planner.ring(size)
        else:
            draw[kind]()
    return planner.plan


# ---------------------------------------------------------------- the organic world, read back


def ts_of(text: str) -> int:
    return int(from_store(text).timestamp())


class Organic:
    """The organic data set, indexed for the choices planting makes (who exists by when)."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self.areas = sorted({p["area"] for p in ds.professionals})
        self.pro = {p["id"]: p for p in ds.professionals}
        self.pro_trades = {p["id"]: tuple(p["trades"]) for p in ds.professionals}
        self.customers = by_time(ds.customers, "area")
        self.pros = by_time(ds.professionals, "area")
        self.net_created = {n["id"]: ts_of(n["createdAt"]) for n in ds.networks}
        members: dict[str, list[tuple[int, str]]] = {n["id"]: [] for n in ds.networks}
        for m in ds.memberships:
            members[m["networkId"]].append((ts_of(m["since"]), m["professionalId"]))
        self.members: dict[str, tuple[list[int], list[str]]] = {}
        self.net_area: dict[str, str] = {}
        for net, rows in members.items():
            rows.sort()
            self.members[net] = ([t for t, _ in rows], [p for _, p in rows])
            areas = Counter(self.pro[p]["area"] for _, p in rows)
            self.net_area[net] = min(areas, key=lambda a: (-areas[a], a)) if areas else ""
        self.networks = sorted(self.net_created, key=lambda n: (self.net_created[n], n))


Timeline = tuple[list[int], list[str]]


def by_time(rows: list[Row], key: str) -> dict[str | None, Timeline]:
    """Ids by creation time, per value of ``key`` and (under None) overall."""
    found: dict[str | None, list[tuple[int, str]]] = {None: []}
    for row in rows:
        item = (ts_of(row["createdAt"]), row["id"])
        found[None].append(item)
        found.setdefault(row[key], []).append(item)
    out: dict[str | None, Timeline] = {}
    for k, items in found.items():
        items.sort()
        out[k] = ([t for t, _ in items], [i for _, i in items])
    return out


def existing(rng: random.Random, line: Timeline | None, ts: int) -> str | None:
    """One of ``line``'s ids created by ``ts``, or None."""
    if line is None:
        return None
    n = bisect(line[0], ts)
    return line[1][int(rng.random() * n)] if n else None


# ---------------------------------------------------------------- identities and rows


class Builder:
    """Gives the plan identities among the organic world and turns it into rows."""

    def __init__(self, rng: random.Random, organic: Organic, plan: Plan, seed: int) -> None:
        self.rng = rng
        self.org = organic
        self.plan = plan
        n_pros, n_cus = len(organic.ds.professionals), len(organic.ds.customers)
        order = list(range(len(plan.actors)))
        rng.shuffle(order)
        self.pro_id = [""] * len(plan.actors)
        for rank, a in enumerate(order):
            self.pro_id[a] = f"pro_s{seed}_{n_pros + rank + 1:07d}"
        fresh_order = sorted(range(len(plan.fresh)), key=lambda i: plan.fresh[i])
        self.cus_id = [""] * len(plan.fresh)
        for rank, i in enumerate(fresh_order):
            self.cus_id[i] = f"cus_s{seed}_{n_cus + rank + 1:07d}"
        self.seed = seed
        self.area: list[str] = [""] * len(plan.actors)
        self.network: list[str | None] = [None] * len(plan.actors)
        self.trades: list[tuple[str, ...]] = [()] * len(plan.actors)
        self.own: list[list[tuple[int, str]]] = [[] for _ in plan.actors]
        self.supply = Picker(range(len(TRADES)), [DEMAND[t] for t in TRADES])
        self.seen: set[tuple[str, str, str]] = set()

    def customer(self, ts: int, area: str) -> str:
        """An organic customer created by ``ts``, mostly of ``area``."""
        lines = self.org.customers
        local = lines.get(area) if self.rng.random() < 0.9 else None
        found = existing(self.rng, local, ts) or existing(self.rng, lines[None], ts)
        if found is None:
            raise ValueError("the organic network is too small to plant fraud in")
        return found

    def place(self) -> None:
        """Area, network and trades of each actor; a group shares its network."""
        rng, org = self.rng, self.org
        for _, members in self.plan.groups:
            first = min(self.plan.actors[a].first for a in members)
            nets = [n for n in org.networks if org.net_created[n] < first - HOUR]
            net = rng.choice(nets) if nets else None
            area = org.net_area[net] if net else rng.choice(org.areas)
            for a in members:
                self.network[a], self.area[a] = net, area or rng.choice(org.areas)
                primary = TRADES[self.supply.pick(rng)]
                seconds = SECOND_TRADES.get(primary, ())
                self.trades[a] = ((primary, rng.choice(seconds))
                                  if seconds and rng.random() < SECOND_TRADE_SHARE else (primary,))

    def target(self, a: int, t0: int) -> str:
        """An organic member of ``a``'s network by ``t0`` (complementary when one is drawn),
        else an organic professional of its area, else any."""
        rng, org = self.rng, self.org
        net = self.network[a]
        if net is not None:
            since, pros = org.members[net]
            n = bisect(since, t0 - MINUTE)
            if n:
                drawn = [pros[int(rng.random() * n)] for _ in range(6)]
                good = [p for p in drawn if complementary(self.trades[a], org.pro_trades[p])]
                return (good or drawn)[0]
        found = (existing(rng, org.pros.get(self.area[a]), t0 - MINUTE)
                 or existing(rng, org.pros[None], t0 - MINUTE))
        if found is None:
            raise ValueError("the organic network is too small to plant fraud in")
        return found

    def job(self, ts: int, customer: str, pro: str, trade: str, rated: bool) -> Row:
        rng = self.rng
        rating: int | None
        if rated:
            rating = min(5, max(3, round(rng.gauss(4.5, 0.5))))
        else:
            rating = None if rng.random() < 0.15 else min(5, max(1, round(rng.gauss(4.2, 0.8))))
        value = round(MEDIAN_VALUE.get(trade, 500.0) * rng.lognormvariate(0.0, VALUE_SPREAD), 2)
        done = store_time(ts)
        return {"id": "", "customerId": customer, "professionalId": pro, "trade": trade,
                "completedAt": done, "rating": rating, "value": value, "createdAt": done}

    def trades_of(self, pro: str) -> tuple[str, ...]:
        return self.org.pro_trades.get(pro) or self.planted_trades[pro]

    def build(self) -> tuple[Dataset, GroundTruth]:
        rng, plan = self.rng, self.plan
        self.place()
        self.planted_trades = dict(zip(self.pro_id, self.trades, strict=True))
        actors = plan.actors
        professionals: list[Row] = []
        memberships: list[Row] = []
        jobs: list[Row] = []
        for a, actor in enumerate(actors):
            professionals.append({
                "id": self.pro_id[a],
                "name": (business_name(rng, self.trades[a]) if rng.random() < BUSINESS_NAME_SHARE
                         else person(rng)),
                "trades": list(self.trades[a]), "area": self.area[a],
                "createdAt": store_time(actor.created),
            })
            net = self.network[a]
            if net is not None:
                lo = max(actor.created, self.org.net_created[net]) + 1
                since = between(rng, lo, max(lo, actor.first - MINUTE))
                memberships.append({"networkId": net, "professionalId": self.pro_id[a],
                                    "since": store_time(since)})
            for ts in sorted(actor.jobs):
                customer = self.customer(ts, self.area[a])
                jobs.append(self.job(ts, customer, self.pro_id[a], rng.choice(self.trades[a]),
                                     rated=False))
                self.own[a].append((ts, customer))
        customers = [
            {"id": self.cus_id[i], "name": person(rng), "area": "", "createdAt": store_time(ts)}
            for i, ts in enumerate(plan.fresh)
        ]
        referrals: list[Row] = []
        job_of: dict[int, int] = {}  # referral row -> job row it converted to
        for ref in plan.refs:
            referrer = self.pro_id[ref.referrer]
            t0 = ref.times[0]
            for attempt in range(20):  # a fresh draw when the triple was already used
                pro = self.pro_id[ref.target] if ref.target >= 0 else self.target(ref.referrer, t0)
                referee = self.referee(ref, t0, own=attempt < 3)
                if (referrer, pro, referee) not in self.seen:
                    break
            else:
                raise ValueError("the organic network is too small to plant fraud in")
            self.seen.add((referrer, pro, referee))
            if ref.referee >= 0:
                customers[ref.referee]["area"] = self.area[ref.referrer]
            trade = rng.choice(self.trades_of(pro))
            note = (rng.choice(PROFESSIONAL_NOTES).format(trade=trade)
                    if rng.random() < PROFESSIONAL_NOTE_SHARE else None)
            times = [store_time(t) for t in ref.times]
            status = ref.history[-1]
            if ref.done is not None:
                job_of[len(referrals)] = len(jobs)
                jobs.append(self.job(ref.done, referee, pro, trade, rated=True))
            referrals.append({
                "id": "", "referrerId": referrer, "professionalId": pro, "refereeId": referee,
                "status": status, "verified": False, "note": note, "createdAt": times[0],
                "updatedAt": times[-1], "statusHistory": list(ref.history), "statusTimes": times,
                "openKey": open_key(referrer, pro, referee) if status in (SENT, ACCEPTED) else None,
                "jobId": None, "_fraud": ref.fraud,
            })
        for r, j in job_of.items():
            jobs[j]["id"] = f"planted-{j}"
            referrals[r]["jobId"] = jobs[j]["id"]
        return self.merge(professionals, customers, jobs, referrals, memberships)

    def referee(self, ref: PlanRef, t0: int, own: bool = True) -> str:
        """The referee the plan asks for; a neighbour instead of an own customer when ``own``
        is false (the few own customers so far were all referred to this professional)."""
        if ref.referee >= 0:
            return self.cus_id[ref.referee]
        if ref.referee == OWN and own:
            mine = [c for ts, c in self.own[ref.referrer] if ts < t0 - HOUR]
            if mine:
                return mine[int(self.rng.random() * len(mine))]
        # A legitimate referee has been a customer for a while: only fraud invents them.
        return self.customer(t0 - (MINUTE if ref.fraud else WEEK), self.area[ref.referrer])

    def merge(
        self, professionals: list[Row], customers: list[Row], jobs: list[Row],
        referrals: list[Row], memberships: list[Row],
    ) -> tuple[Dataset, GroundTruth]:
        org, seed = self.org.ds, self.seed
        all_jobs = [*org.jobs, *jobs]
        new_job: dict[str, str] = {}
        job_rows = []
        for rank, j in enumerate(sorted(all_jobs, key=lambda row: row["completedAt"])):
            new_id = f"job_s{seed}_{rank + 1:07d}"
            if j["id"]:
                new_job[j["id"]] = new_id
            job_rows.append({**j, "id": new_id})
        # A planted conversion is a customer's job with an organic professional: an organic
        # referral of that professional by that customer made after it is verified now.
        first_job: dict[tuple[str, str], str] = {}
        for j in jobs:
            key = (j["customerId"], j["professionalId"])
            first_job[key] = min(first_job.get(key, j["completedAt"]), j["completedAt"])
        fraud_refs: dict[str, str] = {}
        ref_rows = []
        all_refs = [*org.referrals, *referrals]
        for rank, r in enumerate(sorted(all_refs, key=lambda row: row["createdAt"])):
            row = {k: v for k, v in r.items() if k != "_fraud"}
            row["id"] = f"ref_s{seed}_{rank + 1:07d}"
            if row["jobId"] is not None:
                row["jobId"] = new_job[row["jobId"]]
            hired = first_job.get((row["referrerId"], row["professionalId"]))
            if hired is not None and hired < row["createdAt"]:
                row["verified"] = True
            if r.get("_fraud"):
                fraud_refs[row["id"]] = r["_fraud"]
            ref_rows.append(row)
        ds = Dataset(
            professionals=[*org.professionals, *sorted(professionals, key=lambda p: p["id"])],
            customers=[*org.customers, *sorted(customers, key=lambda c: c["id"])],
            jobs=job_rows, referrals=ref_rows,
            networks=list(org.networks), memberships=[*org.memberships, *memberships],
        )
        fraudulent: dict[str, str] = {}
        lookalikes: dict[str, str] = {}
        groups = []
        for kind, members in self.plan.groups:
            ids = tuple(self.pro_id[a] for a in members)
            groups.append((kind, ids))
            for pid in ids:
                (fraudulent if kind in PATTERNS else lookalikes)[pid] = kind
        return ds, GroundTruth(fraudulent, lookalikes, tuple(groups), fraud_refs)


def planted_dataset(
    professionals: int,
    customers: int,
    jobs: int,
    referrals: int,
    seed: int = 1,
    share: float = 0.03,
) -> tuple[Dataset, GroundTruth]:
    """The synthetic network with fraud and its look-alikes planted in it, and what was planted.

    Parameters
    ----------
    professionals, customers, jobs, referrals
        Totals, as for :func:`seeds.synthetic.synthetic_dataset`; planting takes its rows out of
        them, so the counts stay exact.
    seed
        Drives all randomness (the same arguments give the same rows) and appears in every id.
    share
        The fraudulent share of the professionals: 0 (nothing planted) or 0.01 to 0.05;
        ``round(share * professionals)`` professionals are fraudulent.

    Returns
    -------
    tuple[Dataset, GroundTruth]
        Rows for :func:`graph.bulk.load`, and who is fraudulent or a look-alike.

    Raises
    ------
    ValueError
        For a share outside 0 or [0.01, 0.05], negative sizes, or a network too small to hold
        what is planted (the organic world must keep at least half of every budget).
    """
    share = check_share(share)
    if share == 0:
        organic = synthetic_dataset(professionals, customers, jobs, referrals, seed=seed)
        return organic, GroundTruth()
    if min(professionals, customers, jobs, referrals) < 0:
        raise ValueError("sizes must be >= 0")
    plan = make_plan(random.Random(f"fraud:{seed}"), professionals, share)
    needs = {
        "professionals": (len(plan.actors), professionals),
        "customers": (len(plan.fresh), customers),
        "jobs": (plan.jobs, jobs),
        "referrals": (len(plan.refs), referrals),
    }
    short = [f"{name} (planting needs {need} of {have})" for name, (need, have) in needs.items()
             if need > (1 - ORGANIC_FLOOR) * have]
    if short:
        raise ValueError(f"too small to plant fraud in: {', '.join(short)}")
    organic = synthetic_dataset(
        professionals - len(plan.actors), customers - len(plan.fresh), jobs - plan.jobs,
        referrals - len(plan.refs), seed=seed,
        networks=max(1, professionals // PROS_PER_NETWORK),
    )
    rng = random.Random(f"fraud-rows:{seed}")
    return Builder(rng, Organic(organic), plan, seed).build()


def describe(truth: GroundTruth) -> str:
    """One line: how many of each pattern and look-alike."""
    fraud = Counter(truth.fraudulent.values())
    look = Counter(truth.lookalikes.values())
    parts = [f"{fraud[p]} {p}" for p in PATTERNS] + [f"{look[k]} {k}" for k in LOOKALIKES]
    return (f"planted {len(truth.fraudulent)} fraudulent professionals "
            f"({len(truth.referrals)} referrals) and {len(truth.lookalikes)} look-alikes: "
            + ", ".join(parts))


__all__ = [
    "BURST", "BUSY_REFERRER", "HOLLOW_REFEREES", "LOOKALIKES", "NEW_MEMBER_BURST", "PARTNERS",
    "PATTERNS", "RECIPROCAL_ONLY", "RING", "GroundTruth", "check_share", "describe",
    "planted_dataset",
]
