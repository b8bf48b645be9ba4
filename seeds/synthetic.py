"""A synthetic referral network of any size, for load tests and benchmarks.

The structure imitates a real market: professionals' popularity is heavy-tailed (a few get most of
the work), customers hire on projects that bring complementary trades together (kitchen fitting
with plumbing, electrics and tiling; roofing with painting; accounting with legal), mostly in their
own area, and refer the professionals they hired to their neighbours. Networks gather about 100
professionals of one area; inside them most members trade referrals both ways with complementary
partners, some only give, some only take, and some are passive.

Counts are exact: ``len(ds.jobs) == jobs`` (the jobs that referrals convert to are part of that
budget) and ``len(ds.referrals) == referrals``, except for degenerate inputs (no customers, one
customer, ...). Ids carry the seed, ``pro_s{seed}_{i:07d}``, so two seeds never collide.

>>> ds = synthetic_dataset(50, 200, 400, 120, seed=3)
>>> (len(ds.professionals), len(ds.customers), len(ds.jobs), len(ds.referrals))
(50, 200, 400, 120)
>>> ds.jobs[0]["id"]
'job_s3_0000001'
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from graph.bulk import Dataset
from seeds.catalog import (
    AREAS,
    FIRST_NAMES,
    LAST_NAMES,
    NETWORK_KINDS,
    PROJECTS,
    RECURRING,
    SECOND_TRADES,
    TRADES,
    title,
)
from seeds.engine import (
    DAY,
    Budget,
    Edge,
    IdFormats,
    NetworkPlan,
    Picker,
    World,
    generate,
)

SYNTHETIC_NOW = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY_DAYS = 730

# (professionals, customers, jobs, referrals)
SIZES: dict[str, tuple[int, int, int, int]] = {
    "small": (1000, 5000, 10000, 5000),
    "medium": (10_000, 50_000, 100_000, 50_000),
    "large": (40_000, 200_000, 400_000, 100_000),
    "xlarge": (100_000, 500_000, 1_000_000, 500_000),  # 10x medium, about 3.7M relationships
}

MAX_AREAS = 20
PROS_PER_AREA_MIN = 150  # so that a local network can reach its ~100 members
PROS_PER_NETWORK = 100
MEMBERS = (80, 120)
SECOND_TRADE_SHARE = 0.22
BUSINESS_NAME_SHARE = 0.35
PROFESSIONAL_SHARE = 0.4  # of the referrals, professional to professional
POPULARITY_ALPHA = 1.16  # Pareto shape of the 80/20 rule
POPULARITY_CAP = 300.0
# Member roles inside a network: (role, share)
ROLES = (("reciprocal", 0.5), ("giver", 0.15), ("taker", 0.15), ("passive", 0.2))


def trade_demand() -> dict[str, float]:
    """How much work each trade gets from the catalog's projects, to size its supply."""
    demand = dict.fromkeys(TRADES, 0.0)
    for project in PROJECTS:
        total = sum(p for _, p in project.trades)
        for trade, chance in project.trades:
            share = chance / total if project.pick_one else chance
            demand[trade] += project.weight * share * (3.0 if trade in RECURRING else 1.0)
    return demand


def trade_projects() -> dict[str, tuple[int, ...]]:
    """The projects each trade takes part in: trades sharing one are complementary."""
    found: dict[str, list[int]] = {t: [] for t in TRADES}
    for i, project in enumerate(PROJECTS):
        for trade, _ in project.trades:
            found[trade].append(i)
    return {t: tuple(v) for t, v in found.items()}


DEMAND = trade_demand()
TRADE_PROJECTS = trade_projects()


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def business_name(rng: random.Random, trades: tuple[str, ...]) -> str:
    return f"{rng.choice(LAST_NAMES)} {' & '.join(title(t) for t in trades)}"


def professional_trades(rng: random.Random, i: int, supply: Picker) -> tuple[str, ...]:
    # The first few cover every trade once so that small worlds still offer them all.
    primary = TRADES[i] if i < len(TRADES) else TRADES[supply.pick(rng)]
    seconds = SECOND_TRADES.get(primary, ())
    if seconds and rng.random() < SECOND_TRADE_SHARE:
        return (primary, rng.choice(seconds))
    return (primary,)


def complementary(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return not set(a) & set(b) and any(
        set(TRADE_PROJECTS[t]) & set(TRADE_PROJECTS[u]) for t in a for u in b
    )


def partnerships(
    rng: random.Random, members: list[tuple[int, int]], trades: list[tuple[str, ...]], now: int
) -> list[Edge]:
    """Directed partnerships of one network.

    Reciprocal members pair up (complementary partners when there are any) and refer both ways;
    givers refer one way; takers only receive; passive members do nothing.
    """
    since = dict(members)
    role_picker = Picker(range(len(ROLES)), [s for _, s in ROLES])
    by_role: dict[str, list[int]] = {role: [] for role, _ in ROLES}
    for p, _ in members:
        by_role[ROLES[role_picker.pick(rng)][0]].append(p)
    active = by_role["reciprocal"] + by_role["giver"]
    weights: dict[tuple[int, int], float] = {}

    def partner(p: int, pool: list[int]) -> int | None:
        candidates = [q for q in (rng.choice(pool) for _ in range(6)) if q != p] if pool else []
        for q in candidates:
            if complementary(trades[p], trades[q]):
                return q
        return candidates[0] if candidates else None

    def link(a: int, b: int, weight: float) -> None:
        weights[(a, b)] = weights.get((a, b), 0.0) + weight

    for p in by_role["reciprocal"]:
        for _ in range(rng.randint(1, 2)):
            q = partner(p, by_role["reciprocal"])
            if q is not None:
                strength = min(rng.paretovariate(1.5), 50.0)
                link(p, q, strength * rng.uniform(0.6, 1.4))
                link(q, p, strength * rng.uniform(0.6, 1.4))
    for p in by_role["giver"]:
        for _ in range(rng.randint(1, 3)):
            q = partner(p, active + by_role["taker"])
            if q is not None:
                link(p, q, min(rng.paretovariate(1.5), 50.0))
    for p in by_role["taker"]:
        for _ in range(rng.randint(1, 2)):
            q = partner(p, active)
            if q is not None:
                link(q, p, min(rng.paretovariate(1.5), 50.0))
    return [
        Edge(a, b, w, min(max(since[a], since[b]) + rng.randint(DAY, 30 * DAY), now - 3 * DAY))
        for (a, b), w in weights.items()
    ]


def network_name(n: int, area: str, n_areas: int) -> str:
    kind = NETWORK_KINDS[(n // n_areas) % len(NETWORK_KINDS)]
    chapter = n // (n_areas * len(NETWORK_KINDS))
    return f"{area} {kind}" + (f" {chapter + 1}" if chapter else "")


def synthetic_world(
    rng: random.Random, professionals: int, customers: int, networks: int | None
) -> World:
    now = int(SYNTHETIC_NOW.timestamp())
    floor = now - HISTORY_DAYS * DAY
    n_areas = max(1, min(MAX_AREAS, professionals // PROS_PER_AREA_MIN))
    areas = AREAS[:n_areas]
    supply = Picker(range(len(TRADES)), [DEMAND[t] for t in TRADES])

    pro_names, pro_trades, pro_area, pro_weight, pro_quality = [], [], [], [], []
    for i in range(professionals):
        trades = professional_trades(rng, i, supply)
        quality = min(4.95, max(2.5, rng.gauss(4.3, 0.45)))
        pro_trades.append(trades)
        pro_names.append(
            business_name(rng, trades) if rng.random() < BUSINESS_NAME_SHARE else person(rng)
        )
        pro_area.append(i % n_areas if i < n_areas else rng.randrange(n_areas))
        pro_quality.append(quality)
        # Heavy-tailed popularity, a little better for better work.
        popularity = min(rng.paretovariate(POPULARITY_ALPHA), POPULARITY_CAP)
        pro_weight.append(popularity * (quality / 4.3) ** 2)

    cus_names = [person(rng) for _ in range(customers)]
    cus_area = [rng.randrange(n_areas) for _ in range(customers)]
    cus_weight = [min(rng.paretovariate(2.5), 20.0) for _ in range(customers)]

    world = World(
        now=now, floor=floor, start=floor + 45 * DAY, areas=areas, pro_names=pro_names,
        pro_trades=pro_trades, pro_area=pro_area, pro_weight=pro_weight, pro_quality=pro_quality,
        cus_names=cus_names, cus_area=cus_area, cus_weight=cus_weight,
    )
    count = max(1, professionals // PROS_PER_NETWORK) if networks is None else networks
    if professionals >= 2:
        add_networks(rng, world, count)
    return world


def add_networks(rng: random.Random, world: World, count: int) -> None:
    """``count`` local networks of about 100 members, with their partnerships."""
    by_area: dict[int, list[int]] = {}
    for p, area in enumerate(world.pro_area):
        by_area.setdefault(area, []).append(p)
    everyone = list(range(len(world.pro_area)))
    n_areas = len(world.areas)
    for n in range(count):
        area = n % n_areas
        local = by_area.get(area, [])
        pool = local if len(local) >= MEMBERS[0] // 4 else everyone
        size = min(len(pool), rng.randint(*MEMBERS))
        # Networks were founded in the first year of the history; founders join at once.
        created = rng.randint(world.floor + 3 * DAY, world.floor + 365 * DAY)
        founders = max(2, size // 4)
        members = [
            (p, created + rng.randint(0, 14 * DAY) if k < founders
             else rng.randint(created, world.now - 30 * DAY))
            for k, p in enumerate(rng.sample(pool, size))
        ]
        name = network_name(n, world.areas[area], n_areas)
        world.networks.append(NetworkPlan(name, created, members))
        world.edges.extend(partnerships(rng, members, world.pro_trades, world.now))


def synthetic_dataset(
    professionals: int,
    customers: int,
    jobs: int,
    referrals: int,
    seed: int = 1,
    networks: int | None = None,
) -> Dataset:
    """A synthetic network, the same rows for the same arguments.

    Parameters
    ----------
    professionals, customers
        How many of each.
    jobs
        Total jobs, including the jobs that converted referrals point to.
    referrals
        Total referrals, about 40% professional to professional inside networks.
    seed
        Drives all randomness and appears in every id (``pro_s{seed}_0000001``).
    networks
        How many networks; ``professionals // 100`` (at least 1) by default.

    Returns
    -------
    Dataset
        Rows ready for :func:`graph.bulk.load`; see ``seeds.engine`` for the rules they satisfy.
    """
    if min(professionals, customers, jobs, referrals) < 0 or (networks or 0) < 0:
        raise ValueError("sizes must be >= 0")
    if len(f"s{seed}_0000000") > 64:
        raise ValueError("seed too long to fit in an id")
    rng = random.Random(seed)
    world = synthetic_world(rng, professionals, customers, networks)
    ids = IdFormats(
        professional=f"pro_s{seed}_{{:07d}}",
        customer=f"cus_s{seed}_{{:07d}}",
        job=f"job_s{seed}_{{:07d}}",
        referral=f"ref_s{seed}_{{:07d}}",
        network=f"net_s{seed}_{{:07d}}",
    )
    return generate(rng, world, Budget(jobs, referrals, PROFESSIONAL_SHARE), ids)
