"""Static vocabulary shared by the demo and the synthetic generator.

Trades, the projects that make customers hire several trades together (the co-hiring signal the
partner algorithms learn complementarity from), typical job values, names and note templates.
Nothing here is random; the generators draw from it with their own seeded ``random.Random``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Project:
    """A kind of work a customer commissions.

    Attributes
    ----------
    name
        Label, for readers only.
    weight
        How often customers start this kind of project, relative to the others.
    trades
        ``(trade, probability)`` in the order the work happens: each trade is hired on a project
        with its probability, so trades listed together are hired together (complementary).
    pick_one
        A call-out: exactly one of the drawn trades is hired.
    """

    name: str
    weight: float
    trades: tuple[tuple[str, float], ...]
    pick_one: bool = False


PROJECTS: tuple[Project, ...] = (
    Project("kitchen", 3.0, (
        ("plumbing", 0.7), ("electrical", 0.7), ("kitchen fitting", 0.95), ("plastering", 0.3),
        ("tiling", 0.65), ("painting", 0.3),
    )),
    Project("bathroom", 3.0, (
        ("plumbing", 0.7), ("electrical", 0.3), ("bathroom fitting", 0.9), ("tiling", 0.7),
        ("plastering", 0.2),
    )),
    Project("heating", 2.5, (
        ("heating", 0.95), ("plumbing", 0.4), ("electrical", 0.25), ("insulation", 0.3),
    )),
    Project("roof and exterior", 2.5, (
        ("roofing", 0.9), ("guttering", 0.4), ("bricklaying", 0.2), ("painting", 0.55),
    )),
    Project("extension", 1.0, (
        ("bricklaying", 0.9), ("roofing", 0.5), ("carpentry", 0.6), ("window fitting", 0.3),
        ("electrical", 0.5), ("plumbing", 0.4), ("plastering", 0.6), ("painting", 0.4),
    )),
    Project("windows", 1.2, (
        ("window fitting", 0.9), ("carpentry", 0.3), ("plastering", 0.2), ("painting", 0.4),
    )),
    Project("redecorating", 2.5, (
        ("plastering", 0.4), ("carpentry", 0.3), ("painting", 0.9), ("flooring", 0.35),
    )),
    Project("garden", 2.5, (
        ("tree surgery", 0.3), ("landscaping", 0.9), ("fencing", 0.4), ("paving", 0.4),
    )),
    Project("moving in", 1.5, (
        ("locksmith", 0.6), ("cleaning", 0.6), ("carpet cleaning", 0.3), ("pest control", 0.15),
    )),
    Project("call-out", 3.0, (
        ("plumbing", 0.5), ("electrical", 0.4), ("locksmith", 0.4), ("heating", 0.3),
        ("pest control", 0.2), ("roofing", 0.15),
    ), pick_one=True),
    Project("business", 2.0, (
        ("accounting", 0.9), ("legal", 0.55), ("financial advice", 0.3),
    )),
    Project("family", 1.5, (("tutoring", 0.8), ("music lessons", 0.4))),
    Project("household", 2.0, (("cleaning", 0.85), ("dog walking", 0.3), ("carpet cleaning", 0.1))),
)

# Work that comes back: the same professional is hired again every few weeks.
RECURRING: frozenset[str] = frozenset({"cleaning", "tutoring", "music lessons", "dog walking"})

# Typical job value per trade (median, in the local currency); values are lognormal around it.
MEDIAN_VALUE: dict[str, float] = {
    "plumbing": 260.0, "electrical": 320.0, "kitchen fitting": 9200.0, "plastering": 850.0,
    "tiling": 1250.0, "painting": 1300.0, "bathroom fitting": 6500.0, "heating": 1900.0,
    "insulation": 2200.0, "roofing": 3600.0, "guttering": 350.0, "bricklaying": 2600.0,
    "window fitting": 3100.0, "carpentry": 750.0, "flooring": 1500.0, "landscaping": 2600.0,
    "fencing": 1100.0, "paving": 3500.0, "tree surgery": 650.0, "locksmith": 130.0,
    "cleaning": 85.0, "carpet cleaning": 120.0, "pest control": 180.0, "accounting": 950.0,
    "legal": 1600.0, "financial advice": 800.0, "tutoring": 45.0, "music lessons": 38.0,
    "dog walking": 15.0,
}

TRADES: tuple[str, ...] = tuple(MEDIAN_VALUE)

# A professional's likely second trade (plumbing and heating engineers, painters who plaster...).
SECOND_TRADES: dict[str, tuple[str, ...]] = {
    "plumbing": ("heating", "bathroom fitting"), "heating": ("plumbing", "insulation"),
    "electrical": ("heating",), "kitchen fitting": ("carpentry", "bathroom fitting"),
    "bathroom fitting": ("tiling", "plumbing"), "tiling": ("bathroom fitting", "flooring"),
    "plastering": ("painting",), "painting": ("plastering", "flooring"),
    "roofing": ("guttering",), "guttering": ("roofing",), "bricklaying": ("paving",),
    "window fitting": ("carpentry",), "carpentry": ("flooring", "window fitting"),
    "flooring": ("carpentry",), "landscaping": ("fencing", "paving", "tree surgery"),
    "fencing": ("landscaping",), "paving": ("landscaping",), "tree surgery": ("landscaping",),
    "cleaning": ("carpet cleaning",), "carpet cleaning": ("cleaning",),
    "accounting": ("financial advice",), "financial advice": ("accounting",),
    "tutoring": ("music lessons",), "music lessons": ("tutoring",),
}

AREAS: tuple[str, ...] = (
    "Northside", "Riverside", "Old Town", "Harbourview", "Eastgate", "Millbrook", "Westfield",
    "Southbank", "Hilltop", "Kingsmead", "Ashford Green", "Canal Quarter", "Elm Park",
    "Fairview", "Brookside", "Oakwood", "Stonebridge", "Lakeside", "St Anne's", "Market Hill",
)

NETWORK_KINDS: tuple[str, ...] = (
    "Trades Circle", "Business Breakfast", "Home Pros", "Referral Club", "Chapter",
    "Renovation Partners", "Traders' Guild", "Local Experts",
)

FIRST_NAMES: tuple[str, ...] = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy",
    "Leo", "Grace", "Arthur", "Freya", "Muhammad", "Lily", "Oscar", "Ella", "Charlie", "Rosie",
    "Thomas", "Sophie", "James", "Emily", "William", "Chloe", "Daniel", "Hannah", "Samuel", "Zara",
    "Joseph", "Evie", "Henry", "Poppy", "Adam", "Ruby", "Ethan", "Alice", "Lucas", "Maya",
    "Aarav", "Priya", "Kofi", "Amara", "Mateo", "Sofia", "Wei", "Mei", "Omar", "Leila",
    "Tomasz", "Agnieszka", "Diego", "Lucia", "Rohan", "Anika", "Kwame", "Ama", "Sean", "Niamh",
    "Patrick", "Siobhan", "Rhys", "Carys", "Callum", "Eilidh", "Hamza", "Fatima", "Yusuf", "Aisha",
    "Peter", "Margaret", "David", "Susan", "Michael", "Karen", "Paul", "Janet", "Stephen", "Linda",
)

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Patel", "Khan", "Lewis", "James", "Phillips", "Mason", "Mitchell",
    "Rose", "Davis", "Rodriguez", "Cox", "Alexander", "Morgan", "Moore", "Mills", "King",
    "Hughes", "Begum", "Shah", "Ali", "Hussain", "Singh", "Kaur", "Okafor", "Mensah", "Owusu",
    "Adeyemi", "Nowak", "Kowalski", "Wiśniewski", "Novak", "García", "Fernández", "Rossi",
    "Bianchi", "Chen", "Wang", "Li", "Nguyen", "Kim", "O'Brien", "Murphy", "Kelly", "Byrne",
    "MacDonald", "Campbell", "Fraser", "Lloyd", "Price", "Griffiths", "Baker", "Turner",
    "Parker", "Cooper", "Ward", "Bennett", "Harris", "Carter", "Holmes", "Fletcher",
)

CUSTOMER_NOTES: tuple[str, ...] = (
    "Did our {trade} last spring, tidy and on budget.",
    "We used them for {trade}; turned up when they said they would.",
    "Honest about the {trade}, no surprises on the bill.",
    "Best {trade} we've had, ask for a weekday slot.",
    "My neighbour's recommendation originally; good {trade} work.",
    "Quick with the {trade}, cleaned up after themselves.",
    "Fair price, explained the {trade} options properly.",
)

PROFESSIONAL_NOTES: tuple[str, ...] = (
    "My customer needs {trade} once I'm done; you're the first I'd call.",
    "Passing on a {trade} enquiry from one of my regulars.",
    "Outside what I do; they need {trade} next month.",
    "Good customer, pays on time. Wants a {trade} quote.",
    "Follow-on {trade} work from my job there.",
    "They asked me who I trust for {trade}.",
)


def title(trade: str) -> str:
    """A trade as it appears in a business name, e.g. ``'Kitchen Fitting'``."""
    return " ".join(word.capitalize() for word in trade.split())
