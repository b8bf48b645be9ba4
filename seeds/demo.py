"""The demo network: three neighbourhoods of a town, 40 professionals, 150 customers.

The professionals and the two referral networks are written out by hand so that the demo tells
stories a person can follow: Dave Carter (plumbing and heating) and Priya Shah (electrical) refer
each other all the time, so do the roofer and the painter, and the accountant and the solicitor;
Chris Doyle and Yusuf Demir take referrals and never give any; Old Town Roofing joined a network
and stays quiet. Customers, their projects and the referrals are drawn with a fixed seed, so the
data is the same on every run, and every time lies before :data:`DEMO_NOW`.

>>> ds = demo_dataset()
>>> ds.professionals[0]["id"], ds.professionals[0]["name"], ds.professionals[0]["trades"]
('pro_demo_001', 'Dave Carter', ['plumbing', 'heating'])
>>> sorted({p["area"] for p in ds.professionals})
['Northside', 'Old Town', 'Riverside']
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from graph.bulk import Dataset
from seeds.catalog import FIRST_NAMES, LAST_NAMES
from seeds.engine import DAY, Budget, Edge, IdFormats, NetworkPlan, World, generate

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


def demo_dataset() -> Dataset:
    """The demo network, identical on every call.

    Returns
    -------
    Dataset
        40 professionals in 3 areas and 23 trades, 150 customers, 360 jobs (the jobs of
        converted referrals included), 120 referrals in every status, 2 networks.
    """
    rng = random.Random(DEMO_SEED)
    world = demo_world(rng)
    return generate(rng, world, Budget(JOBS, REFERRALS, PROFESSIONAL_SHARE), IDS)
