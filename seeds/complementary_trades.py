"""A curated table of complementary trades, blended into what co-hiring teaches.

Each pair scores in (0, 1]: how much two trades gain from working together. Learned lift decides
where the data speaks; this table carries what organisers know before the data does.
"""

from __future__ import annotations

CURATED: dict[frozenset[str], float] = {
    frozenset(pair): score
    for pair, score in [
        (("plumbing", "heating"), 0.9),
        (("plumbing", "kitchen fitting"), 0.9),
        (("plumbing", "bathroom fitting"), 0.9),
        (("electrical", "kitchen fitting"), 0.8),
        (("plumbing", "tiling"), 0.8),
        (("tiling", "kitchen fitting"), 0.7),
        (("roofing", "painting"), 0.6),
        (("roofing", "guttering"), 0.8),
        (("carpentry", "painting"), 0.6),
        (("plastering", "painting"), 0.8),
        (("electrical", "heating"), 0.6),
        (("landscaping", "fencing"), 0.7),
        (("accounting", "legal"), 0.8),
        (("cleaning", "carpet cleaning"), 0.5),
    ]
}
