"""Writing stored risk directly, in the integrity batch's format, to set up findings for the
API's tests (the batch itself has its own tests). The one place tests write that format."""

from __future__ import annotations

import json
import math
from typing import Any

from graph import timeutil
from graph.ids import kind_of
from graph.store import Store

SET_RISK = {
    label: f"""
MATCH (x:{label} {{id: $id}})
SET x.riskScore = $score, x.riskFindings = $findings
""" for label in ("Professional", "Referral")
}
STAMP_RUN = "MERGE (r:RiskRun {key: 'integrity'}) SET r.at = $at"
DROP_RUN = "MATCH (r:RiskRun {key: 'integrity'}) DETACH DELETE r"


def finding(signal: str, strength: float, involved: list[str] | None = None,
            explanation: str = "planted for a test") -> dict[str, Any]:
    return {"signal": signal, "strength": strength, "explanation": explanation,
            "involved": involved or []}


async def plant(store: Store, node_id: str, *findings: dict[str, Any]) -> float:
    """Store ``findings`` on a professional or referral, with their noisy-or score; stamps the
    run. Returns the score."""
    label = kind_of(node_id)
    assert label in SET_RISK, node_id
    ordered = sorted(findings, key=lambda f: -f["strength"])
    score = 1 - math.prod(1 - f["strength"] for f in ordered)
    await store.run_write(SET_RISK[label], id=node_id, score=score,
                          findings=json.dumps(ordered))
    await store.run_write(STAMP_RUN, at=timeutil.to_store(timeutil.now()))
    return score
