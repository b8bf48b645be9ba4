"""The integrity batch against the real store: planted patterns written in the shared format,
look-alikes left clean, stale risk removed on the next run, the run's time recorded."""

from __future__ import annotations

import json
import time
from datetime import datetime

from graph import analytics, bulk, integrity
from graph.store import Store
from seeds.complementary_trades import CURATED
from tests.integrity_scenes import Scene

RISK = """
UNWIND $ids AS id
MATCH (n {id: id})
RETURN n.id AS id, n.riskScore AS score, n.riskFindings AS findings
"""
REVIEW = """
UNWIND $ids AS id
MATCH (x:Referral {id: id})
SET x.reviewDecision = $decision
"""
RUN = "MATCH (x:RiskRun {key: 'integrity'}) RETURN x.at AS at"
INDEXES = "SHOW INDEXES YIELD labelsOrTypes, properties RETURN labelsOrTypes, properties"


async def risk(store: Store, ids: list[str]) -> dict[str, tuple[float | None, list]]:
    rows = await store.read(RISK, ids=ids)
    return {r["id"]: (r["score"], json.loads(r["findings"]) if r["findings"] else [])
            for r in rows}


async def test_a_planted_ring_is_written_and_its_look_alikes_stay_clean(store):
    scene = Scene(seed=11, now=time.time())
    background = scene.background()
    ring = scene.ring(size=4, per_edge=9)
    partners = scene.partners()
    loop = scene.partner_loop()
    busy = scene.busy_referrer(targets=background)
    await bulk.load(store, scene.dataset())
    ring_referrals = [r["id"] for r in scene.referrals if r["referrerId"] in ring]

    done = await analytics.refresh(store, timeout=300, curated=CURATED)

    found = await risk(store, ring + partners + loop + [busy])
    for member in ring:
        score, findings = found[member]
        assert score is not None and score >= 0.5
        assert findings[0]["strength"] == max(f["strength"] for f in findings)
        signals = {f["signal"] for f in findings}
        assert "RING" in signals
        by_signal = {f["signal"]: f for f in findings}
        ring_finding = by_signal["RING"]
        assert "4 professionals referred 36 referees around a loop" in ring_finding["explanation"]
        assert "0 confirmed jobs followed" in ring_finding["explanation"]
        assert member not in ring_finding["involved"]
        assert set(ring) - {member} <= set(ring_finding["involved"])
        assert len(ring_finding["involved"]) <= 20
        expected = 1.0
        for f in findings:
            expected *= 1 - f["strength"]
        assert abs(score - (1 - expected)) < 1e-3  # noisy-or of the findings
    for clean in partners + loop + [busy]:
        assert found[clean] == (None, [])
    referrals = await risk(store, ring_referrals)
    assert all(score is not None and score > 0.5 for score, _ in referrals.values())
    run = await store.read(RUN)
    assert run and run[0]["at"] >= done.finished_at.isoformat()[:19]


async def test_a_rerun_clears_risk_that_no_longer_holds(store):
    scene = Scene(seed=12, now=time.time())
    scene.background()
    ring = scene.ring(size=3, per_edge=10)
    await bulk.load(store, scene.dataset())
    ring_referrals = [r["id"] for r in scene.referrals if r["referrerId"] in ring]
    await analytics.refresh(store, timeout=300, curated=CURATED)
    assert all(s is not None for s, _ in (await risk(store, ring + ring_referrals)).values())
    first = (await store.read(RUN))[0]["at"]

    # A reviewer clears every referral of the loop: they contribute to no finding any more.
    await store.run_write(REVIEW, ids=ring_referrals, decision="CLEARED")
    await analytics.refresh(store, timeout=300, curated=CURATED)

    after = await risk(store, ring + ring_referrals)
    assert all(found == (None, []) for found in after.values()), after
    assert (await store.read(RUN))[0]["at"] > first


async def test_confirmed_fraud_still_counts_as_evidence(store):
    scene = Scene(seed=13, now=time.time())
    scene.background()
    pair = scene.reciprocal_pair(each=10)
    await bulk.load(store, scene.dataset())
    pair_referrals = [r["id"] for r in scene.referrals if r["referrerId"] in pair]
    await store.run_write(REVIEW, ids=pair_referrals, decision="CONFIRMED_FRAUD")
    await analytics.refresh(store, timeout=300, curated=CURATED)
    found = await risk(store, pair)
    assert all(score is not None and score >= 0.5 for score, _ in found.values())
    assert {f["signal"] for f in found[pair[0]][1]} >= {"RECIPROCAL_ONLY"}


async def test_the_job_reads_the_store_as_the_algorithms_expect(store):
    """The projection read from the store matches the scene it was loaded from."""
    scene = Scene(seed=14, now=time.time())
    pair = scene.reciprocal_pair(each=3)
    converted = scene.partners(each=4)
    await bulk.load(store, scene.dataset())
    projection = await integrity.IntegrityJob().read(store)
    mine = {r.id: r for r in projection.referrals if r.id in {x["id"] for x in scene.referrals}}
    assert len(mine) == len(scene.referrals)
    expected = scene.projection()
    for r in expected.referrals:
        got = mine[r.id]
        assert (got.referrer, got.by_professional, got.professional, got.referee, got.status,
                got.converted, got.review) == (r.referrer, r.by_professional, r.professional,
                                               r.referee, r.status, r.converted, None)
        assert abs(got.created - r.created) < 1e-3
        assert abs(projection.customer_created[r.referee] - expected.customer_created[r.referee]) \
            < 1e-3
    assert any(r.converted for r in mine.values())
    for p in pair + converted:
        assert projection.professionals[p] == expected.professionals[p]


async def test_risk_scores_are_indexed(store):
    rows = await store.read(INDEXES)
    assert any(r["labelsOrTypes"] == ["Professional"] and r["properties"] == ["riskScore"]
               for r in rows)


def test_the_present_is_the_latest_event_at_most_the_clock():
    """A snapshot idle for weeks is judged at its own latest event, so that its last open
    referrals are not taken for failures; on a live store the clock and the data agree."""
    old = {"createdAt": "2026-01-10T10:00:00.000000+00:00"}
    job = {"completedAt": "2026-01-20T10:00:00.000000+00:00"}
    assert integrity.present([old], [job]) == datetime.fromisoformat(
        job["completedAt"]).timestamp()
    future = {"createdAt": "2999-01-01T00:00:00.000000+00:00"}
    assert integrity.present([future], []) <= time.time()


FRAUD = """
UNWIND $ids AS id
MATCH (x:Referral {id: id})
SET x.reviewDecision = 'CONFIRMED_FRAUD', x.fraud = true
"""


async def test_conversions_confirmed_as_fraud_are_no_outcome(store):
    """A loop whose referrals converted is clean; once a reviewer confirms those referrals as
    fraud, neither their conversions nor the jobs they converted into speak for the loop."""
    scene = Scene(seed=14, now=time.time())
    scene.background()
    loop = scene.partner_loop()
    await bulk.load(store, scene.dataset())
    loop_referrals = [r["id"] for r in scene.referrals if r["referrerId"] in loop]
    await analytics.refresh(store, timeout=300, curated=CURATED)
    assert all(found == (None, []) for found in (await risk(store, loop)).values())

    await store.run_write(FRAUD, ids=loop_referrals)
    await analytics.refresh(store, timeout=300, curated=CURATED)

    found = await risk(store, loop)
    assert all(score is not None and score >= 0.5 for score, _ in found.values()), found
