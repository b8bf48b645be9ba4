"""The machinery the demo and the synthetic generator share.

A :class:`World` says who exists (professionals, customers, networks, partnerships); from it
:func:`generate` hires jobs on projects, makes referrals that follow the lifecycle, and turns the
result into :class:`graph.bulk.Dataset` rows. Everything is driven by one ``random.Random`` and a
fixed reference time, so a world and a seed always give the same rows.

Times are whole seconds since the epoch until the rows are built; only then do they become store
text through :func:`graph.timeutil.to_store`.

Rules the rows satisfy (the ones the service enforces, plus the orderings a real history has):

- a job's trade is one of its professional's trades; ratings 1..5 or None; values finite, >= 0;
- referrer, professional and referee are three different parties, the referee a customer;
- ``verified`` is true exactly when the referrer is a customer with a job with the professional
  completed before the referral was created (jobs are recorded on completion, ``createdAt`` equal to
  ``completedAt``, so "completed before" and "recorded before" agree);
- no (referrer, professional, referee) triple occurs twice, so at most one is open;
- the status path is a lifecycle path, its times strictly ascending;
- a converted referral's job is a fresh job between the referee and the professional, completed
  after the acceptance and before the conversion, converting nothing else;
- every node is created before anything that involves it.
"""

from __future__ import annotations

import gc
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate

from graph.bulk import Dataset, Row
from graph.models import ReferralStatus
from graph.referrals import open_key
from graph.timeutil import to_store
from seeds.catalog import (
    CUSTOMER_NOTES,
    MEDIAN_VALUE,
    PROFESSIONAL_NOTES,
    PROJECTS,
    RECURRING,
    Project,
)

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

SENT = ReferralStatus.SENT.value
ACCEPTED = ReferralStatus.ACCEPTED.value
CONVERTED = ReferralStatus.CONVERTED.value
DECLINED = ReferralStatus.DECLINED.value
EXPIRED = ReferralStatus.EXPIRED.value

# How the referrals end, before the windows below push some into SENT.
STATUS_WEIGHTS: tuple[tuple[str, float], ...] = (
    (CONVERTED, 0.30), (DECLINED, 0.17), (EXPIRED, 0.23), (ACCEPTED, 0.13), (SENT, 0.17),
)
# An open referral nobody acts on expires after this long.
EXPIRY = 30 * DAY
# (oldest, youngest) age at creation of a referral that is now in each status; None: as old as
# the history. Open ones are younger than EXPIRY; final ones leave room for their whole path.
WINDOWS: dict[str, tuple[int | None, int]] = {
    SENT: (21 * DAY, 2 * HOUR),
    ACCEPTED: (28 * DAY, 6 * DAY),
    DECLINED: (None, 26 * DAY),
    EXPIRED: (None, 36 * DAY),
    CONVERTED: (None, 50 * DAY),
}

LOCAL_SHARE = 0.85  # customers mostly hire in their own area
NEIGHBOUR_SHARE = 0.9  # and mostly refer their neighbours
NULL_RATING = 0.15
BAD_JOB_SHARE = 0.03
HIRED_BEFORE_SHARE = 0.75  # customer referrals that recommend someone the customer hired
OWN_CUSTOMER_SHARE = 0.7  # professional referrals that introduce the referrer's own customer
CUSTOMER_NOTE_SHARE = 0.35
PROFESSIONAL_NOTE_SHARE = 0.5
RATING_SPREAD = 0.8
VALUE_SPREAD = 0.5

# (completedAt, customer, professional, trade, rating, value)
JobRec = tuple[int, int, int, str, int | None, float]


@dataclass(frozen=True)
class RefRec:
    created: int
    by_professional: bool
    referrer: int
    professional: int
    referee: int
    history: tuple[str, ...]
    times: tuple[int, ...]
    note: str | None
    job: int  # index into the jobs, -1 unless converted


@dataclass(frozen=True)
class NetworkPlan:
    name: str
    created: int
    members: list[tuple[int, int]]  # (professional, since)


@dataclass(frozen=True)
class Edge:
    """A partnership: ``source`` refers customers to ``target`` from ``since`` on."""

    source: int
    target: int
    weight: float
    since: int


@dataclass
class World:
    """Who exists, as parallel lists indexed by professional and customer number.

    ``start`` is the earliest event; ``floor`` the earliest creation of anything.
    """

    now: int
    floor: int
    start: int
    areas: Sequence[str]
    pro_names: list[str]
    pro_trades: list[tuple[str, ...]]
    pro_area: list[int]
    pro_weight: list[float]
    pro_quality: list[float]
    cus_names: list[str]
    cus_area: list[int]
    cus_weight: list[float]
    networks: list[NetworkPlan] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    everyone_works: bool = False  # each professional gets at least one job (for the demo)


@dataclass(frozen=True)
class IdFormats:
    """``str.format`` patterns taking a 1-based number, e.g. ``'pro_demo_{:03d}'``."""

    professional: str
    customer: str
    job: str
    referral: str
    network: str


@dataclass(frozen=True)
class Budget:
    """How much to generate.

    ``jobs`` counts every job, the conversions' too: a converted referral creates its job out of
    this budget (at most ``jobs`` conversions), and the rest are hired on projects.
    """

    jobs: int
    referrals: int
    professional_share: float  # of the referrals, when there are partnerships


def between(rng: random.Random, a: int, b: int) -> int:
    """A whole number in [a, b]; ``randint`` costs several times more, and times are drawn
    millions of times at the large size."""
    return a + int(rng.random() * (b - a + 1))


def below(rng: random.Random, n: int) -> int:
    """A whole number in [0, n), like ``randrange(n)`` but cheaper."""
    return int(rng.random() * n)


class Picker:
    """Weighted choice by bisection over precomputed cumulative weights."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, items: Sequence[int], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1] if self.cum else 0.0

    def pick(self, rng: random.Random) -> int:
        return self.items[bisect(self.cum, rng.random() * self.total)]


class Market:
    """Who offers which trade where, weighted by popularity."""

    def __init__(self, world: World) -> None:
        by_trade_area: dict[tuple[str, int], list[int]] = {}
        by_trade: dict[str, list[int]] = {}
        by_area: dict[int, list[int]] = {}
        for p, trades in enumerate(world.pro_trades):
            area = world.pro_area[p]
            by_area.setdefault(area, []).append(p)
            for trade in trades:
                by_trade_area.setdefault((trade, area), []).append(p)
                by_trade.setdefault(trade, []).append(p)
        w = world.pro_weight
        self.trade_area = {k: Picker(v, [w[p] for p in v]) for k, v in by_trade_area.items()}
        self.trade = {k: Picker(v, [w[p] for p in v]) for k, v in by_trade.items()}
        self.area = {k: Picker(v, [w[p] for p in v]) for k, v in by_area.items()}
        self.everyone = Picker(range(len(w)), w)

    def professional(self, rng: random.Random, trade: str, area: int) -> int | None:
        picker = self.trade_area.get((trade, area)) or self.trade.get(trade)
        return None if picker is None else picker.pick(rng)

    def local(self, rng: random.Random, area: int) -> int:
        picker = self.area.get(area) or self.everyone
        return picker.pick(rng)


def available_projects(market: Market) -> tuple[list[Project], Picker]:
    """The catalog's projects cut down to the trades somebody offers."""
    projects = []
    for project in PROJECTS:
        trades = tuple((t, p) for t, p in project.trades if t in market.trade)
        if trades:
            projects.append(Project(project.name, project.weight, trades, project.pick_one))
    return projects, Picker(range(len(projects)), [p.weight for p in projects])


def new_job(rng: random.Random, world: World, ts: int, c: int, p: int, trade: str) -> JobRec:
    rating: int | None = None
    roll = rng.random()
    if roll < BAD_JOB_SHARE:
        rating = rng.randint(1, 2)  # even good professionals have a bad day
    elif roll >= BAD_JOB_SHARE + NULL_RATING:
        rating = min(5, max(1, round(rng.gauss(world.pro_quality[p], RATING_SPREAD))))
    value = round(MEDIAN_VALUE.get(trade, 500.0) * rng.lognormvariate(0.0, VALUE_SPREAD), 2)
    return (ts, c, p, trade, rating, value)


def hire(rng: random.Random, world: World, market: Market, count: int, jobs: list[JobRec]) -> None:
    """Append ``count`` jobs, hired project by project.

    A project draws its trades together (that is what makes them complementary) and hires them
    one after another, locally most of the time; recurring trades come back a few times.
    """
    if count <= 0 or not world.cus_area:
        return
    projects, project_picker = available_projects(market)
    if not projects:
        return
    customers = Picker(range(len(world.cus_weight)), world.cus_weight)
    latest = world.now - DAY
    last_start = max(world.start, latest - 30 * DAY)
    target = len(jobs) + count
    n_areas = len(world.areas)
    while len(jobs) < target:
        c = customers.pick(rng)
        project = projects[project_picker.pick(rng)]
        trades = [t for t, chance in project.trades if rng.random() < chance]
        if not trades:
            trades = [max(project.trades, key=lambda tp: tp[1])[0]]
        if project.pick_one:
            trades = [rng.choice(trades)]
        area = world.cus_area[c] if rng.random() < LOCAL_SHARE else below(rng, n_areas)
        t = between(rng, world.start, last_start)
        for trade in trades:
            p = market.professional(rng, trade, area)
            t += between(rng, DAY, 12 * DAY)
            if p is None or t > latest:
                continue
            when = t
            for _ in range(rng.randint(2, 6) if trade in RECURRING else 1):
                if when > latest or len(jobs) >= target:
                    break
                jobs.append(new_job(rng, world, when, c, p, trade))
                when += between(rng, 7 * DAY, 28 * DAY)


def first_jobs(rng: random.Random, world: World, count: int, jobs: list[JobRec]) -> None:
    """One job for each professional (up to ``count``), from a customer of their area."""
    by_area: dict[int, list[int]] = {}
    for c, area in enumerate(world.cus_area):
        by_area.setdefault(area, []).append(c)
    if not by_area:
        return
    for p, trades in enumerate(world.pro_trades[:count]):
        pool = by_area.get(world.pro_area[p]) or range(len(world.cus_area))
        c = pool[rng.randrange(len(pool))]
        when = between(rng, world.start, world.now - 2 * DAY)
        jobs.append(new_job(rng, world, when, c, p, rng.choice(trades)))


def creation_time(rng: random.Random, world: World, status: str, lo: int) -> int | None:
    """A creation time after ``lo`` that leaves room for ``status``'s path, or None."""
    oldest, youngest = WINDOWS[status]
    a = max(lo + 1, world.start if oldest is None else world.now - oldest)
    b = world.now - youngest
    return between(rng, a, b) if a <= b else None


def lifecycle(
    rng: random.Random, status: str, t0: int
) -> tuple[tuple[str, ...], tuple[int, ...], int | None]:
    """(history, times, completion of the converting job) of a referral created at ``t0``."""
    if status == SENT:
        return (SENT,), (t0,), None
    accepted = t0 + between(rng, HOUR, 5 * DAY)
    if status == ACCEPTED:
        return (SENT, ACCEPTED), (t0, accepted), None
    if status == CONVERTED:
        done = accepted + between(rng, 2 * DAY, 40 * DAY)
        converted = done + between(rng, 10 * MINUTE, 3 * DAY)
        return (SENT, ACCEPTED, CONVERTED), (t0, accepted, converted), done
    if status == DECLINED:
        if rng.random() < 0.6:
            return (SENT, DECLINED), (t0, t0 + between(rng, HOUR, 10 * DAY)), None
        declined = accepted + between(rng, DAY, 15 * DAY)
        return (SENT, ACCEPTED, DECLINED), (t0, accepted, declined), None
    if rng.random() < 0.7:
        return (SENT, EXPIRED), (t0, t0 + EXPIRY), None
    return (SENT, ACCEPTED, EXPIRED), (t0, accepted, accepted + EXPIRY), None


# (by a professional, referrer, professional, referee, earliest creation, trade in question)
Context = tuple[bool, int, int, int, int, str]


class Referrer:
    """Draws who refers whom to whom, before the lifecycle is decided."""

    def __init__(
        self, rng: random.Random, world: World, market: Market, jobs: list[JobRec]
    ) -> None:
        self.rng = rng
        self.world = world
        self.market = market
        self.jobs = jobs
        self.hired = len(jobs)  # only jobs hired on projects seed referrals
        self.jobs_of_pro: list[list[int]] = [[] for _ in world.pro_trades]
        for j, job in enumerate(jobs):
            self.jobs_of_pro[job[2]].append(j)
        self.area_customers: dict[int, list[int]] = {}
        for c, area in enumerate(world.cus_area):
            self.area_customers.setdefault(area, []).append(c)
        edges = world.edges
        self.edges = Picker(range(len(edges)), [e.weight for e in edges]) if edges else None
        self.queue: list[int] = []

    def each_edge_once(self) -> None:
        """Give every partnership one referral first (when the budget allows it)."""
        self.queue = list(range(len(self.world.edges)))
        self.rng.shuffle(self.queue)

    def neighbour(self, c: int | None, area: int) -> int | None:
        """A customer other than ``c``, mostly from ``area``."""
        rng = self.rng
        n = len(self.world.cus_area)
        pool = self.area_customers.get(area)
        for _ in range(8):
            if pool and rng.random() < NEIGHBOUR_SHARE:
                other = pool[below(rng, len(pool))]
            else:
                other = below(rng, n)
            if other != c:
                return other
        return None

    def by_customer(self) -> Context | None:
        rng, world = self.rng, self.world
        if len(world.cus_area) < 2:
            return None
        if self.hired and rng.random() < HIRED_BEFORE_SHARE:
            ts, c, p, trade, _, _ = self.jobs[below(rng, self.hired)]
            lo = ts + HOUR
        else:
            c = below(rng, len(world.cus_area))
            p = self.market.local(rng, world.cus_area[c])
            trade = rng.choice(world.pro_trades[p])
            lo = world.start
        referee = self.neighbour(c, world.cus_area[c])
        return None if referee is None else (False, c, p, referee, lo, trade)

    def by_professional(self) -> Context | None:
        rng, world = self.rng, self.world
        if self.edges is None or not world.cus_area:
            return None
        edge = world.edges[self.queue.pop() if self.queue else self.edges.pick(rng)]
        lo = edge.since
        own = self.jobs_of_pro[edge.source]
        if own and rng.random() < OWN_CUSTOMER_SHARE:
            ts, referee = self.jobs[own[below(rng, len(own))]][:2]
            lo = max(lo, ts + HOUR)
        else:
            found = self.neighbour(None, world.pro_area[edge.source])
            if found is None:
                return None
            referee = found
        trade = rng.choice(world.pro_trades[edge.target])
        return (True, edge.source, edge.target, referee, lo, trade)


def refer(
    rng: random.Random, world: World, market: Market, jobs: list[JobRec], budget: Budget
) -> list[RefRec]:
    """``budget.referrals`` referrals (fewer only for degenerate worlds); conversions append
    their jobs to ``jobs``, at most as many as the job budget has left."""
    drawer = Referrer(rng, world, market, jobs)
    share = budget.professional_share if world.edges else 0.0
    if budget.referrals * share >= len(world.edges):
        drawer.each_edge_once()
    statuses = Picker(range(len(STATUS_WEIGHTS)), [w for _, w in STATUS_WEIGHTS])
    spare_jobs = budget.jobs - len(jobs)
    seen: set[tuple[bool, int, int, int]] = set()
    refs: list[RefRec] = []
    attempts = 0
    while len(refs) < budget.referrals and attempts < 20 * budget.referrals + 100:
        attempts += 1
        context = drawer.by_professional() if rng.random() < share else drawer.by_customer()
        if context is None:
            continue
        by_pro, referrer, pro, referee, lo, trade = context
        key = (by_pro, referrer, pro, referee)
        if key in seen:
            continue  # one referral per triple keeps the open ones unique
        status = STATUS_WEIGHTS[statuses.pick(rng)][0]
        if status == CONVERTED and spare_jobs <= 0:
            status = EXPIRED
        t0 = creation_time(rng, world, status, lo)
        if t0 is None:
            # Too recent for its intended end (e.g. a job done last week): still waiting.
            status = SENT
            t0 = creation_time(rng, world, status, lo)
            if t0 is None:
                continue
        history, times, done = lifecycle(rng, status, t0)
        job = -1
        if done is not None:
            job = len(jobs)
            jobs.append(new_job(rng, world, done, referee, pro, trade))
            spare_jobs -= 1
        note = None
        if rng.random() < (PROFESSIONAL_NOTE_SHARE if by_pro else CUSTOMER_NOTE_SHARE):
            note = rng.choice(PROFESSIONAL_NOTES if by_pro else CUSTOMER_NOTES).format(trade=trade)
        seen.add(key)
        refs.append(RefRec(t0, by_pro, referrer, pro, referee, history, times, note, job))
    return refs


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Every row made stays alive until the data set is returned, and none holds a cycle, so
    the collector's passes over millions of young containers only cost time (~15%)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def generate(rng: random.Random, world: World, budget: Budget, ids: IdFormats) -> Dataset:
    """Hire, refer, hire the rest of the job budget, and build the rows."""
    with cyclic_gc_paused():
        return _generate(rng, world, budget, ids)


def _generate(rng: random.Random, world: World, budget: Budget, ids: IdFormats) -> Dataset:
    market = Market(world)
    jobs: list[JobRec] = []
    expected_conversions = round(budget.referrals * dict(STATUS_WEIGHTS)[CONVERTED])
    hired = budget.jobs - min(budget.jobs, expected_conversions)
    if world.everyone_works:
        first_jobs(rng, world, hired, jobs)
    hire(rng, world, market, hired - len(jobs), jobs)
    refs = refer(rng, world, market, jobs, budget)
    # Fewer conversions than expected leave part of the job budget for more projects.
    hire(rng, world, market, budget.jobs - len(jobs), jobs)
    return build(rng, world, jobs, refs, ids)


def store_time(ts: int) -> str:
    return to_store(datetime.fromtimestamp(ts, UTC))


def created_before(rng: random.Random, first: int, floor: int, now: int) -> int:
    """A creation time before ``first`` (at most 60 days) and not before ``floor``; any time in
    the history when nothing involves the node yet (``first > now``)."""
    if first > now:
        return between(rng, floor, now - DAY)
    room = first - floor
    if room <= HOUR:
        return first - 1
    return first - between(rng, HOUR, min(60 * DAY, room))


def build(
    rng: random.Random, world: World, jobs: list[JobRec], refs: list[RefRec], ids: IdFormats
) -> Dataset:
    """Rows in store form. Jobs and referrals are numbered in time order, like generated ids."""
    now, floor = world.now, world.floor
    n_pros = len(world.pro_trades)
    never = now + 1
    pro_first = [never] * n_pros
    cus_first = [never] * len(world.cus_area)
    first_job: dict[int, int] = {}  # customer * n_pros + professional -> earliest completion
    for ts, c, p, *_ in jobs:
        pro_first[p] = min(pro_first[p], ts)
        cus_first[c] = min(cus_first[c], ts)
        key = c * n_pros + p
        if ts < first_job.get(key, never):
            first_job[key] = ts
    for r in refs:
        if r.by_professional:
            pro_first[r.referrer] = min(pro_first[r.referrer], r.created)
        else:
            cus_first[r.referrer] = min(cus_first[r.referrer], r.created)
        pro_first[r.professional] = min(pro_first[r.professional], r.created)
        cus_first[r.referee] = min(cus_first[r.referee], r.created)
    for net in world.networks:
        for p, since in net.members:
            pro_first[p] = min(pro_first[p], since)

    pro_ids = [ids.professional.format(i + 1) for i in range(n_pros)]
    cus_ids = [ids.customer.format(i + 1) for i in range(len(world.cus_area))]
    areas = world.areas
    professionals = [
        {
            "id": pro_ids[p], "name": world.pro_names[p], "trades": list(world.pro_trades[p]),
            "area": areas[world.pro_area[p]],
            "createdAt": store_time(created_before(rng, pro_first[p], floor, now)),
        }
        for p in range(n_pros)
    ]
    customers = [
        {
            "id": cus_ids[c], "name": world.cus_names[c], "area": areas[world.cus_area[c]],
            "createdAt": store_time(created_before(rng, cus_first[c], floor, now)),
        }
        for c in range(len(world.cus_area))
    ]
    networks: list[Row] = []
    memberships: list[Row] = []
    for n, net in enumerate(world.networks):
        net_id = ids.network.format(n + 1)
        networks.append({"id": net_id, "name": net.name, "createdAt": store_time(net.created)})
        memberships.extend(
            {"networkId": net_id, "professionalId": pro_ids[p], "since": store_time(since)}
            for p, since in net.members
        )

    job_ids: list[str] = [""] * len(jobs)
    job_rows: list[Row] = []
    for rank, j in enumerate(sorted(range(len(jobs)), key=lambda i: jobs[i][0])):
        ts, c, p, trade, rating, value = jobs[j]
        job_ids[j] = ids.job.format(rank + 1)
        done = store_time(ts)
        job_rows.append({
            "id": job_ids[j], "customerId": cus_ids[c], "professionalId": pro_ids[p],
            "trade": trade, "completedAt": done, "rating": rating, "value": value,
            "createdAt": done,  # recorded on completion
        })

    referral_rows: list[Row] = []
    for rank, r in enumerate(sorted(refs, key=lambda x: x.created)):
        referrer = pro_ids[r.referrer] if r.by_professional else cus_ids[r.referrer]
        professional, referee = pro_ids[r.professional], cus_ids[r.referee]
        verified = (
            not r.by_professional
            and first_job.get(r.referrer * n_pros + r.professional, never) < r.created
        )
        times = [store_time(t) for t in r.times]
        status = r.history[-1]
        referral_rows.append({
            "id": ids.referral.format(rank + 1), "referrerId": referrer,
            "professionalId": professional, "refereeId": referee, "status": status,
            "verified": verified, "note": r.note, "createdAt": times[0], "updatedAt": times[-1],
            "statusHistory": list(r.history), "statusTimes": times,
            "openKey": open_key(referrer, professional, referee)
            if status in (SENT, ACCEPTED) else None,
            "jobId": job_ids[r.job] if r.job >= 0 else None,
        })
    return Dataset(
        professionals=professionals, customers=customers, jobs=job_rows,
        referrals=referral_rows, networks=networks, memberships=memberships,
    )
