"""What an analytics refresh stored, read back, and how two refreshes compare: the engines'
equivalence, checked by the tests on small networks and printed by the Spark benchmark on the
medium one (``scripts/spark_benchmark.py``).

Reputations are compared within a tolerance (PageRank's rounds stop at a tolerance too), trade
pairs exactly (counts and lifts), candidate lists by their ids and ``more`` exactly and their
reputations within the tolerance, and risk by each finding's signal, parties and strength
(explanations may be worded differently)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graph.store import Row, Store

REPUTATION = "MATCH (p:Professional) RETURN p.id AS id, p.reputation AS value"
PAIRS = ("MATCH (t:TradePair) RETURN t.key AS key, t.customers AS customers, "
         "t.lift AS lift, t.score AS score")
CANDIDATES = ("MATCH (t:TradeCandidates) RETURN t.key AS key, t.ids AS ids, "
              "t.reputations AS reputations, t.more AS more")
RISK = ("MATCH (p:Professional) WHERE p.riskScore IS NOT NULL "
        "RETURN p.id AS id, p.riskScore AS score, p.riskFindings AS findings")

REPUTATION_TOLERANCE = 1e-6
STRENGTH_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Stored:
    """The results of the last refresh, by professional id or trade key."""

    reputations: dict[str, float]
    pairs: dict[str, Row]
    candidates: dict[str, Row]
    risk: dict[str, Row]


async def stored(store: Store) -> Stored:
    return Stored({r["id"]: r["value"] for r in await store.read(REPUTATION)},
                  {r["key"]: r for r in await store.read(PAIRS)},
                  {r["key"]: r for r in await store.read(CANDIDATES)},
                  {r["id"]: r for r in await store.read(RISK)})


def _gap(a: list[float] | None, b: list[float] | None) -> float:
    if a is None or b is None or len(a) != len(b):
        return float("inf") if a != b else 0.0
    return max((abs(x - y) for x, y in zip(a, b, strict=True)), default=0.0)


def _findings(row: Row) -> list[dict[str, Any]]:
    return [{"signal": f["signal"], "strength": f["strength"],
             "involved": sorted(f.get("involved") or [])}
            for f in json.loads(row["findings"] or "[]")]


def _same_risk(a: Row | None, b: Row | None) -> bool:
    if a is None or b is None:
        return a is b
    fa, fb = _findings(a), _findings(b)
    if abs(a["score"] - b["score"]) > STRENGTH_TOLERANCE or len(fa) != len(fb):
        return False
    return all(x["signal"] == y["signal"] and x["involved"] == y["involved"]
               and abs(x["strength"] - y["strength"]) <= STRENGTH_TOLERANCE
               for x, y in zip(fa, fb, strict=True))


def differences(a: Stored, b: Stored) -> dict[str, float]:
    """What differs between two refreshes' results: counts of results that differ beyond the
    tolerances above (0 everywhere when the engines agree) and the largest reputation gaps."""
    both = a.reputations.keys() & b.reputations.keys()
    lists = a.candidates.keys() | b.candidates.keys()
    return {
        "professionals": len(a.reputations),
        "reputations missing on one side": len(a.reputations.keys() ^ b.reputations.keys()),
        "largest reputation gap": max((abs(a.reputations[k] - b.reputations[k]) for k in both),
                                      default=0.0),
        "trade pairs": len(a.pairs),
        "trade pairs that differ": sum(a.pairs.get(k) != b.pairs.get(k)
                                       for k in a.pairs.keys() | b.pairs.keys()),
        "candidate lists": len(a.candidates),
        "candidate lists that differ": sum(
            k not in a.candidates or k not in b.candidates
            or (a.candidates[k]["ids"], a.candidates[k]["more"])
            != (b.candidates[k]["ids"], b.candidates[k]["more"])
            or _gap(a.candidates[k]["reputations"], b.candidates[k]["reputations"])
            > REPUTATION_TOLERANCE
            for k in lists),
        "flagged professionals": len(a.risk),
        "risk assessments that differ": sum(not _same_risk(a.risk.get(k), b.risk.get(k))
                                            for k in a.risk.keys() | b.risk.keys()),
    }


def agree(found: dict[str, float]) -> bool:
    """Whether :func:`differences` found the two refreshes equal within the tolerances."""
    return (found["reputations missing on one side"] == 0
            and found["largest reputation gap"] <= REPUTATION_TOLERANCE
            and found["trade pairs that differ"] == 0
            and found["candidate lists that differ"] == 0
            and found["risk assessments that differ"] == 0)
