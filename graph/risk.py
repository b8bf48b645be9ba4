"""Stored risk, read for the API: what the integrity batch found on professionals and referrals.

The integrity batch (part of the analytics refresh) writes, on ``Professional`` and ``Referral``
nodes, ``riskScore`` (in (0, 1], absent when nothing was found) and ``riskFindings`` (a JSON
array, strongest first), and stamps one ``(:RiskRun {key: "integrity", at})`` node when it has
written. Reads here are batched (``UNWIND $ids``): a page of referrals costs one round trip for
all their assessments. ``riskyProfessionals`` reads ``riskScore >= $min`` as a range on the
``Professional.riskScore`` index, highest first.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graph import rules, timeutil
from graph.errors import ValidationError
from graph.membership import MEMBER
from graph.models import Professional
from graph.pagination import Page, PageRequest, make_page
from graph.professionals import PROFESSIONAL_MAP
from graph.store import Row, Store

log = logging.getLogger(__name__)

RUN_KEY = "integrity"
SIGNALS = ("RING", "RECIPROCAL_ONLY", "HOLLOW_REFEREES", "BURST", "NO_OUTCOMES")
MAX_INVOLVED = 20

# The run's stamp comes along with every batch: no extra round trip for assessedAt.
_RISKS = """
OPTIONAL MATCH (run:RiskRun {{key: $key}})
WITH run.at AS at
UNWIND $ids AS id
MATCH (x:{label} {{id: id}})
RETURN x.id AS id, x.riskScore AS score, x.riskFindings AS findings, at
"""
PROFESSIONAL_RISKS = _RISKS.format(label="Professional")
REFERRAL_RISKS = _RISKS.format(label="Referral")

# Highest score first, then id. The page after a cursor (score s, id i) keeps to the index range
# [min, s] and drops the rows of score s up to i: an OR of the two cases would leave the range.
RISKY_PROFESSIONALS = f"""
MATCH (p:Professional)
WHERE p.riskScore >= $min AND ($top IS NULL OR p.riskScore <= $top)
  AND ($top IS NULL OR p.riskScore < $top OR p.id > $afterId)
WITH p ORDER BY p.riskScore DESC, p.id LIMIT $limit
RETURN {PROFESSIONAL_MAP} AS row, p.riskScore AS score
"""
RISKY_PROFESSIONALS_COUNT = """
MATCH (p:Professional) WHERE p.riskScore >= $min RETURN count(p) AS total
"""
# Active members of the given networks (an organiser's, or the one asked for): the read starts
# at the networks, so its cost follows their size.
RISKY_MEMBERS = f"""
UNWIND $networks AS nid
MATCH (:Network {{id: nid}})<-[:{MEMBER}]-(p:Professional)
WHERE p.riskScore >= $min AND ($top IS NULL OR p.riskScore <= $top)
  AND ($top IS NULL OR p.riskScore < $top OR p.id > $afterId)
WITH DISTINCT p
WITH p ORDER BY p.riskScore DESC, p.id LIMIT $limit
RETURN {PROFESSIONAL_MAP} AS row, p.riskScore AS score
"""
RISKY_MEMBERS_COUNT = f"""
UNWIND $networks AS nid
MATCH (:Network {{id: nid}})<-[:{MEMBER}]-(p:Professional)
WHERE p.riskScore >= $min
RETURN count(DISTINCT p) AS total
"""


@dataclass(frozen=True)
class Finding:
    signal: str
    strength: float
    explanation: str
    involved: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    """A node's risk: 0 and no findings when nothing was found or before the first run."""

    score: float = 0.0
    findings: tuple[Finding, ...] = ()
    assessed_at: datetime | None = None


def _stamp(value: Any) -> datetime | None:
    """The run's ``at``: store text, or a temporal value that the driver hands out."""
    if value is None:
        return None
    if isinstance(value, str):
        return timeutil.from_store(value)
    native = getattr(value, "to_native", None)
    return native() if callable(native) else None


def _finding(item: Any) -> Finding | None:
    if not isinstance(item, dict) or item.get("signal") not in SIGNALS:
        return None
    strength = item.get("strength")
    if not isinstance(strength, int | float) or not 0 < strength <= 1:
        return None
    involved = [i for i in item.get("involved") or () if isinstance(i, str)]
    return Finding(str(item["signal"]), float(strength), str(item.get("explanation") or ""),
                   tuple(involved[:MAX_INVOLVED]))


def findings_of(text: Any) -> tuple[Finding, ...]:
    """The findings stored as JSON text, strongest first; a malformed entry is left out (and
    logged) rather than failing every read of the node.

    >>> findings_of('[{"signal": "RING", "strength": 0.8, "explanation": "e", '
    ...             '"involved": ["pro_1"]}]')
    (Finding(signal='RING', strength=0.8, explanation='e', involved=('pro_1',)),)
    >>> findings_of(None)
    ()
    """
    if text is None:
        return ()
    try:
        items = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        items = None
    if not isinstance(items, list):
        log.warning("stored risk findings are not a JSON array")
        return ()
    found = [f for f in map(_finding, items) if f is not None]
    if len(found) != len(items):
        log.warning("stored risk findings with malformed entries", extra={"left_out":
                                                                           len(items) - len(found)})
    return tuple(sorted(found, key=lambda f: -f.strength))


def _assessment(row: Row) -> Assessment:
    score = row["score"]
    value = float(score) if isinstance(score, int | float) and math.isfinite(score) else 0.0
    return Assessment(min(max(value, 0.0), 1.0), findings_of(row["findings"]),
                      _stamp(row["at"]))


async def _risks(store: Store, query: str, ids: Sequence[str]) -> list[Assessment]:
    rows = await store.read(query, key=RUN_KEY, ids=list(ids))
    found = {r["id"]: _assessment(r) for r in rows}
    at = _stamp(rows[0]["at"]) if rows else None
    return [found.get(i, Assessment(assessed_at=at)) for i in ids]


async def professional_risks(store: Store, ids: Sequence[str]) -> list[Assessment]:
    """Assessments of many professionals in key order, one round trip."""
    return await _risks(store, PROFESSIONAL_RISKS, ids)


async def referral_risks(store: Store, ids: Sequence[str]) -> list[Assessment]:
    """Assessments of many referrals in key order, one round trip."""
    return await _risks(store, REFERRAL_RISKS, ids)


def _cursor(page: PageRequest) -> tuple[float | None, str | None]:
    if page.after is None:
        return None, None
    score, pid = page.after
    try:
        top = float(score)
    except ValueError:
        raise ValidationError("after is not a cursor of this list", ["after"]) from None
    return top, pid


async def risky_professionals(
    store: Store, page: PageRequest, min_score: float,
    networks: Collection[str] | None = None, total: bool = True,
) -> Page[Professional]:
    """Professionals with ``riskScore >= min_score``, highest first then id; only the active
    members of ``networks`` when given (an empty collection gives an empty page)."""
    problem = rules.min_score_problem(min_score)
    if problem is not None:
        raise ValidationError(problem, ["minScore"])
    top, after_id = _cursor(page)
    # A score of 0 is no finding: such professionals carry no riskScore and never match.
    params: dict[str, object] = {"min": float(min_score), "top": top, "afterId": after_id,
                                 "limit": page.first + 1}
    if networks is None:
        rows = await store.read(RISKY_PROFESSIONALS, **params)
        count = await store.read(RISKY_PROFESSIONALS_COUNT, min=params["min"]) if total else []
    else:
        params["networks"] = sorted(networks)
        rows = await store.read(RISKY_MEMBERS, **params)
        count = (await store.read(RISKY_MEMBERS_COUNT, min=params["min"],
                                  networks=params["networks"]) if total else [])
    scores = {r["row"]["id"]: float(r["score"]) for r in rows}
    items = [Professional.from_row(r["row"]) for r in rows]
    return make_page(items, page, int(count[0]["total"]) if count else 0,
                     key=lambda p: (repr(scores[p.id]), p.id))
