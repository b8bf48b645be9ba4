"""The demo network: three neighbourhoods of a town, 40 professionals, 150 customers.

The professionals and the two referral networks are written out by hand so that the demo tells
stories a person can follow: Dave Carter (plumbing and heating) and Priya Shah (electrical) refer
each other all the time, so do the roofer and the painter, and the accountant and the solicitor;
Chris Doyle and Yusuf Demir take referrals and never give any; Old Town Roofing joined a network
and stays quiet. Customers, their projects and the referrals are drawn with a fixed seed, so the
data is the same on every run, and every time lies before :data:`DEMO_NOW`.

Three reward programs run in it (:data:`PROGRAMS`): Dave Carter's two-sided thanks (GBP 25 to the
referrer, 10 to the referee, on conversion), the Northside Trades Circle's tiered programme for
referrals between its members (GBP 5 on acceptance, 8 from a member's third, 12 from its sixth, at
most 4 a month) and Priya Shah's loyalty points (100 to the referrer, 50 to the referee, on
acceptance). Their rewards are replayed from the referrals as the service earns them
(``seeds.rewards``) and settled as the owners would have: old ones paid, a few voided, recent ones
pending. One story is planted for them (:func:`plant_points_farmer`): a new account, Quickfix Home
Services, that introduces a string of customers created minutes before to farm Priya's points;
the integrity batch flags those referrals, so their rewards (the points, and the circle's tiers as
it joined the circle) are HELD for review.

>>> ds = demo_dataset()
>>> ds.professionals[0]["id"], ds.professionals[0]["name"], ds.professionals[0]["trades"]
('pro_demo_001', 'Dave Carter', ['plumbing', 'heating'])
>>> sorted({p["area"] for p in ds.professionals})
['Northside', 'Old Town', 'Riverside']
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from graph.bulk import Dataset, Row
from graph.programs import RewardProgram
from seeds import rewards
from seeds.catalog import FIRST_NAMES, LAST_NAMES
from seeds.engine import (
    DAY,
    EXPIRY,
    HOUR,
    MINUTE,
    Budget,
    Edge,
    IdFormats,
    NetworkPlan,
    World,
    generate,
    store_time,
)

DEMO_NOW = datetime(2026, 11, 1, tzinfo=UTC)
DEMO_SEED = 20261101
HISTORY_DAYS = 730

AREAS: tuple[str, ...] = ("Northside", "Riverside", "Old Town")
NORTHSIDE, RIVERSIDE, OLD_TOWN = range(3)

# (key, name, trades, area, popularity, quality): popularity weighs how often customers pick
# them, quality is their mean rating.
PROFESSIONALS: tuple[tuple[str, str, tuple[str, ...], int, float, float], ...] = (
    ("dave", "Dave Carter", ("plumbing", "heating"), NORTHSIDE, 6.0, 4.6),
    ("priya", "Priya Shah", ("electrical",), NORTHSIDE, 5.0, 4.7),
    ("tom", "Tom Whitfield", ("roofing", "guttering"), NORTHSIDE, 3.0, 4.4),
    ("megan", "Megan O'Neill", ("painting",), NORTHSIDE, 3.0, 4.5),
    ("luis", "Luis Ortega", ("tiling",), NORTHSIDE, 3.0, 4.6),
    ("sarah", "Sarah Jenkins", ("kitchen fitting", "carpentry"), NORTHSIDE, 4.0, 4.8),
    ("kwame", "Kwame Mensah", ("landscaping", "fencing"), NORTHSIDE, 3.0, 4.5),
    ("baxter", "Baxter & Co Accountants", ("accounting",), NORTHSIDE, 3.0, 4.4),
    ("rob", "Rob Kowalski", ("locksmith",), NORTHSIDE, 2.0, 4.2),
    ("aisha", "Aisha Rahman", ("cleaning",), NORTHSIDE, 4.0, 4.6),
    ("gareth", "Gareth Lloyd", ("carpentry",), NORTHSIDE, 2.0, 4.1),
    ("nina", "Nina Petrova", ("tutoring",), NORTHSIDE, 3.0, 4.8),
    ("holloway", "Holloway Legal", ("legal",), NORTHSIDE, 2.0, 4.3),
    ("chris", "Chris Doyle", ("electrical",), NORTHSIDE, 1.5, 3.3),
    ("owen", "Owen Price", ("plumbing",), RIVERSIDE, 3.0, 4.3),
    ("fatima", "Fatima Bello", ("cleaning", "carpet cleaning"), RIVERSIDE, 3.0, 4.7),
    ("jenny", "Jenny Walsh", ("painting", "plastering"), RIVERSIDE, 3.0, 4.5),
    ("marek", "Marek Nowak", ("tiling", "bathroom fitting"), RIVERSIDE, 4.0, 4.7),
    ("sean", "Sean Murphy", ("roofing",), RIVERSIDE, 2.0, 3.0),
    ("emma", "Emma Clarke", ("electrical",), RIVERSIDE, 3.0, 4.6),
    ("rkitchens", "Riverside Kitchens", ("kitchen fitting",), RIVERSIDE, 3.0, 4.2),
    ("ben", "Ben Adeyemi", ("heating",), RIVERSIDE, 2.0, 4.4),
    ("grace", "Grace Lin", ("accounting",), RIVERSIDE, 2.0, 4.6),
    ("olu", "Olu Bakare", ("landscaping", "paving"), RIVERSIDE, 2.0, 4.3),
    ("hannah", "Hannah Frost", ("tutoring", "music lessons"), RIVERSIDE, 2.0, 4.9),
    ("ivan", "Ivan Petrov", ("locksmith",), RIVERSIDE, 1.5, 2.6),
    ("zoe", "Zoe Turner", ("legal",), RIVERSIDE, 2.0, 4.5),
    ("mark", "Mark Hughes", ("plumbing",), OLD_TOWN, 2.0, 3.6),
    ("sofia", "Sofia Rossi", ("painting",), OLD_TOWN, 2.0, 4.6),
    ("ali", "Ali Hassan", ("electrical",), OLD_TOWN, 3.0, 4.5),
    ("otroofing", "Old Town Roofing", ("roofing",), OLD_TOWN, 3.0, 4.3),
    ("claire", "Claire Bennett", ("accounting",), OLD_TOWN, 3.0, 4.7),
    ("daniel", "Daniel Kim", ("tiling",), OLD_TOWN, 2.0, 4.4),
    ("patrick", "Patrick Byrne", ("carpentry", "window fitting"), OLD_TOWN, 2.0, 4.5),
    ("lucy", "Lucy Evans", ("cleaning",), OLD_TOWN, 2.0, 4.2),
    ("ahmed", "Ahmed Karim", ("kitchen fitting",), OLD_TOWN, 2.0, 4.6),
    ("alder", "Alder Solicitors", ("legal",), OLD_TOWN, 2.0, 4.4),
    ("jack", "Jack Moran", ("landscaping", "tree surgery"), OLD_TOWN, 2.0, 4.3),
    ("yusuf", "Yusuf Demir", ("plastering",), OLD_TOWN, 2.0, 4.1),
    ("maya", "Maya Patel", ("tutoring",), OLD_TOWN, 2.0, 4.7),
)

# (name, founded days before DEMO_NOW, members: founders first, reciprocal pairs with their
# strength, one-way partnerships with theirs)
NETWORKS: tuple[
    tuple[str, int, tuple[str, ...], tuple[tuple[str, str, float], ...],
          tuple[tuple[str, str, float], ...]], ...
] = (
    (
        "Northside Trades Circle", 700,
        ("dave", "priya", "tom", "megan", "baxter", "luis", "sarah", "kwame", "holloway", "rob",
         "aisha", "gareth", "chris", "emma", "fatima"),
        (("dave", "priya", 5.0), ("tom", "megan", 3.0), ("baxter", "holloway", 3.0),
         ("sarah", "luis", 3.0), ("kwame", "gareth", 1.5), ("aisha", "rob", 1.0)),
        (("megan", "chris", 1.0), ("sarah", "chris", 1.0), ("luis", "chris", 0.7),
         ("fatima", "aisha", 1.0), ("emma", "dave", 1.5), ("aisha", "megan", 0.7)),
    ),
    (
        "Home Renovation Partners", 540,
        ("sarah", "marek", "rkitchens", "owen", "emma", "dave", "luis", "jenny", "ben", "ali",
         "daniel", "patrick", "ahmed", "yusuf", "sean", "otroofing"),
        (("rkitchens", "marek", 3.0), ("owen", "emma", 2.5), ("ahmed", "ali", 2.0),
         ("jenny", "patrick", 1.5), ("sean", "jenny", 1.0), ("ben", "owen", 1.5),
         ("sarah", "marek", 1.5)),
        (("marek", "yusuf", 1.0), ("jenny", "yusuf", 0.7), ("rkitchens", "yusuf", 0.7),
         ("dave", "marek", 1.0), ("patrick", "daniel", 1.0), ("daniel", "ahmed", 1.0)),
    ),
)

CUSTOMERS = 150
# Customers per area follow the size of the neighbourhoods.
CUSTOMER_AREA_WEIGHTS = (0.38, 0.34, 0.28)
JOBS = 360  # converted referrals' jobs included
REFERRALS = 120
PROFESSIONAL_SHARE = 0.42

IDS = IdFormats(
    professional="pro_demo_{:03d}",
    customer="cus_demo_{:03d}",
    job="job_demo_{:04d}",
    referral="ref_demo_{:04d}",
    network="net_demo_{:d}",
)


def customer_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct "First Last" names."""
    combos = rng.sample(range(len(FIRST_NAMES) * len(LAST_NAMES)), count)
    return [f"{FIRST_NAMES[i // len(LAST_NAMES)]} {LAST_NAMES[i % len(LAST_NAMES)]}"
            for i in combos]


def networks(
    rng: random.Random, index: dict[str, int], now: int
) -> tuple[list[NetworkPlan], list[Edge]]:
    plans: list[NetworkPlan] = []
    edges: list[Edge] = []
    for name, age_days, members, reciprocal, one_way in NETWORKS:
        created = now - age_days * DAY
        founders = 5
        since = {
            key: created + rng.randint(0, 10 * DAY) if k < founders
            else rng.randint(created + 20 * DAY, now - 120 * DAY)
            for k, key in enumerate(members)
        }
        plans.append(NetworkPlan(name, created, [(index[key], since[key]) for key in members]))
        pairs = [(a, b, s) for a, b, s in reciprocal] + [(b, a, s) for a, b, s in reciprocal]
        for a, b, strength in pairs + list(one_way):
            start = max(since[a], since[b]) + rng.randint(DAY, 20 * DAY)
            edges.append(Edge(index[a], index[b], strength, start))
    return plans, edges


def demo_world(rng: random.Random) -> World:
    now = int(DEMO_NOW.timestamp())
    floor = now - HISTORY_DAYS * DAY
    index = {key: i for i, (key, *_) in enumerate(PROFESSIONALS)}
    plans, edges = networks(rng, index, now)
    cus_area = rng.choices(range(len(AREAS)), weights=CUSTOMER_AREA_WEIGHTS, k=CUSTOMERS)
    return World(
        now=now, floor=floor, start=floor + 45 * DAY, areas=AREAS,
        pro_names=[p[1] for p in PROFESSIONALS],
        pro_trades=[p[2] for p in PROFESSIONALS],
        pro_area=[p[3] for p in PROFESSIONALS],
        pro_weight=[p[4] for p in PROFESSIONALS],
        pro_quality=[p[5] for p in PROFESSIONALS],
        cus_names=customer_names(rng, CUSTOMERS),
        cus_area=cus_area,
        # A few customers keep coming back; most hire once or twice.
        cus_weight=[min(rng.paretovariate(2.0), 8.0) for _ in range(CUSTOMERS)],
        networks=plans, edges=edges, everyone_works=True,
    )


# The planted points farmer: who, whose points, how many invented referees, and when.
FARMER = ("Quickfix Home Services", ("carpentry",), RIVERSIDE)
FARMED = "pro_demo_002"  # Priya Shah, the points programme's owner
FARMED_REFEREES = 8
FARMED_AT = DAY * 95  # before DEMO_NOW: accepted, then expired, all settled by now

PROGRAM_START = datetime(2025, 1, 1, tzinfo=UTC)
PROGRAMS: tuple[Row, ...] = (
    rewards.program_row("rpg_demo_1", "Dave's two-way thanks", "pro_demo_001", "CONVERTED", 2500,
                        referee=1000, starts=PROGRAM_START),
    rewards.program_row("rpg_demo_2", "Circle tiers", "net_demo_1", "ACCEPTED", 500,
                        tiers=((3, 800), (6, 1200)), cap=4, starts=PROGRAM_START),
    rewards.program_row("rpg_demo_3", "Priya's loyalty points", FARMED, "ACCEPTED", 100,
                        unit="POINTS", referee=50, starts=PROGRAM_START),
)


def plant_points_farmer(rng: random.Random, ds: Dataset) -> set[str]:
    """Add the points farmer: a member of the Northside Trades Circle with one job of its own,
    then :data:`FARMED_REFEREES` referrals to
    Priya Shah, hours apart, of customers created minutes before, accepted and left to expire
    (HOLLOW_REFEREES and BURST to the integrity batch). Jobs and referrals are numbered again in
    time order, as generated ids are; the planted referrals' ids are returned."""
    now = int(DEMO_NOW.timestamp())
    t0 = now - FARMED_AT
    name, trades, area = FARMER
    farmer = IDS.professional.format(len(ds.professionals) + 1)
    ds.professionals.append({"id": farmer, "name": name, "trades": list(trades),
                             "area": AREAS[area], "createdAt": store_time(t0 - 20 * DAY)})
    # A member of the Northside Trades Circle, as every referring professional of the demo is.
    ds.memberships.append({"networkId": IDS.network.format(1), "professionalId": farmer,
                           "since": store_time(t0 - 15 * DAY)})
    locals_ = [c["id"] for c in ds.customers if c["area"] == AREAS[area]]
    done = store_time(t0 - 10 * DAY)
    ds.jobs.append({"id": "job_planted", "customerId": rng.choice(locals_),
                    "professionalId": farmer, "trade": trades[0], "completedAt": done,
                    "rating": 4, "value": 140.0, "createdAt": done})
    taken = {c["name"] for c in ds.customers}
    names = [n for n in customer_names(rng, FARMED_REFEREES * 3) if n not in taken]
    planted = []
    for i in range(FARMED_REFEREES):
        referee = IDS.customer.format(len(ds.customers) + 1)
        sent = t0 + i * 7 * HOUR
        ds.customers.append({"id": referee, "name": names[i], "area": AREAS[area],
                             "createdAt": store_time(sent - (20 + 9 * i) * MINUTE)})
        times = [sent, sent + 3 * HOUR, sent + 3 * HOUR + EXPIRY]
        planted.append(f"planted_{i}")
        ds.referrals.append({
            "id": planted[-1], "referrerId": farmer, "professionalId": FARMED,
            "refereeId": referee, "status": "EXPIRED", "verified": False, "note": None,
            "createdAt": store_time(times[0]), "updatedAt": store_time(times[-1]),
            "statusHistory": ["SENT", "ACCEPTED", "EXPIRED"],
            "statusTimes": [store_time(t) for t in times], "openKey": None, "jobId": None,
        })
    ds.jobs.sort(key=lambda j: (j["completedAt"], j["id"]))
    job_ids = {}
    for rank, j in enumerate(ds.jobs):
        job_ids[j["id"]] = j["id"] = IDS.job.format(rank + 1)
    ds.referrals.sort(key=lambda r: (r["createdAt"], r["id"]))
    ids = {}
    for rank, r in enumerate(ds.referrals):
        ids[r["id"]] = r["id"] = IDS.referral.format(rank + 1)
        if r["jobId"] is not None:
            r["jobId"] = job_ids[r["jobId"]]
    return {ids[p] for p in planted}


# The integrity batch scores each planted referral 1.0 (tests/test_reward_seeds.py checks it).
PLANTED_RISK = 1.0


def demo_dataset() -> Dataset:
    """The demo network, identical on every call.

    Returns
    -------
    Dataset
        41 professionals in 3 areas and 23 trades, 158 customers, 361 jobs (the jobs of
        converted referrals included), 128 referrals in every status, 2 networks, 3 reward
        programs and their rewards in every status.
    """
    rng = random.Random(DEMO_SEED)
    world = demo_world(rng)
    ds = generate(rng, world, Budget(JOBS, REFERRALS, PROFESSIONAL_SHARE), IDS)
    planted = plant_points_farmer(rng, ds)
    ds.reward_programs = [dict(p) for p in PROGRAMS]
    ds.rewards = rewards.replay(ds, ids="rwd_demo_{:04d}".format, now=DEMO_NOW,
                                risk=dict.fromkeys(planted, PLANTED_RISK),
                                manager=demo_manager)
    return ds


def demo_manager(program: RewardProgram) -> str:
    """Who settled a demo program's rewards: Dave and Priya their own, the demo's admin the
    network's (the subject of the token ``serve --demo`` prints)."""
    owner = program.owner_id
    return owner if owner.startswith("pro_") else "admin:demo"
