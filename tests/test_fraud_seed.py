"""Planted fraud: the shapes promised, the look-alikes beside them, every domain rule kept, and a
network the real store loads."""

from __future__ import annotations

import doctest
import json
import math
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import networkx as nx
import pytest

from graph import bulk
from graph.bulk import Dataset
from graph.timeutil import from_store
from seeds.fraud import (
    BURST,
    BUSY_REFERRER,
    HOLLOW_REFEREES,
    LOOKALIKES,
    NEW_MEMBER_BURST,
    PARTNERS,
    PATTERNS,
    RECIPROCAL_ONLY,
    RING,
    GroundTruth,
    check_share,
    planted_dataset,
)
from seeds.synthetic import SYNTHETIC_NOW, synthetic_dataset
from tests.test_cli import cli_env
from tests.test_seeds import assert_referrals_inside_networks, check_dataset, digest

ROOT = Path(__file__).resolve().parents[1]
SIZES = (400, 2000, 4000, 2000)
TINY = (200, 1000, 2000, 1000)  # what goes through a store: every pattern, fewer rows
DAY = 86400.0


def at(text: str) -> float:
    return from_store(text).timestamp()


class View:
    """The data set indexed the way the assertions read it."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self.made: dict[str, list[dict]] = defaultdict(list)
        self.introduced: Counter[str] = Counter()
        for r in ds.referrals:
            self.made[r["referrerId"]].append(r)
            self.introduced[r["refereeId"]] += 1
        self.jobs_of_customer = Counter(j["customerId"] for j in ds.jobs)
        self.jobs_of_pro = Counter(j["professionalId"] for j in ds.jobs)
        self.jobs = {j["id"]: j for j in ds.jobs}
        self.customer = {c["id"]: c for c in ds.customers}
        self.pro = {p["id"]: p for p in ds.professionals}

    def converted(self, refs: list[dict]) -> list[dict]:
        return [r for r in refs if r["status"] == "CONVERTED"]


def groups(truth: GroundTruth, kind: str) -> list[tuple[str, ...]]:
    return [members for k, members in truth.groups if k == kind]


@pytest.fixture(scope="module", params=[3, 8, 21])
def planted(request: pytest.FixtureRequest) -> tuple[Dataset, GroundTruth, View]:
    ds, truth = planted_dataset(*SIZES, seed=request.param, share=0.05)
    return ds, truth, View(ds)


def test_the_module_examples_hold() -> None:
    """seeds/ is outside the doctest paths: its examples run here."""
    import seeds.fraud

    assert doctest.testmod(seeds.fraud).failed == 0


def test_same_arguments_same_rows_and_truth() -> None:
    one, again, other = (planted_dataset(*SIZES, seed=s, share=0.03) for s in (11, 11, 12))
    assert one == again
    assert digest(one[0]) == digest(again[0]) and one[1].to_json() == again[1].to_json()
    assert digest(one[0]) != digest(other[0]) and one[1].fraudulent != other[1].fraudulent


def test_same_rows_in_every_process() -> None:
    """No set or hash order leaks into planting: other hash seeds give the same digests."""
    code = (
        "import sys; sys.path.insert(0, '.'); from tests.test_seeds import digest;"
        "import hashlib; from seeds.fraud import planted_dataset;"
        "ds, truth = planted_dataset(400, 2000, 4000, 2000, seed=4, share=0.04);"
        "print(digest(ds), hashlib.sha256(truth.to_json().encode()).hexdigest())"
    )
    outputs = set()
    for hash_seed in ("0", "12345"):
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True, text=True, check=True,
        )
        outputs.add(run.stdout.strip())
    assert len(outputs) == 1


@pytest.mark.parametrize("share", [0.01, 0.03, 0.05])
def test_the_share_of_fraudulent_professionals_is_respected(share: float) -> None:
    ds, truth = planted_dataset(*SIZES, seed=2, share=share)
    assert len(truth.fraudulent) == round(share * SIZES[0])
    assert set(truth.fraudulent.values()) <= set(PATTERNS)
    if share >= 0.03:
        assert set(truth.fraudulent.values()) == set(PATTERNS)
    # Planting takes its rows out of the organic budgets: the counts stay exact.
    assert (len(ds.professionals), len(ds.customers), len(ds.jobs), len(ds.referrals)) == SIZES
    pros = {p["id"] for p in ds.professionals}
    assert set(truth.fraudulent) <= pros and set(truth.lookalikes) <= pros
    assert not set(truth.fraudulent) & set(truth.lookalikes)


def test_share_zero_plants_nothing() -> None:
    ds, truth = planted_dataset(*SIZES, seed=2, share=0)
    assert ds == synthetic_dataset(*SIZES, seed=2)
    assert truth == GroundTruth()


@pytest.mark.parametrize("bad", [-0.01, 0.005, 0.051, 0.5, 1, math.nan, math.inf, True, "0.03"])
def test_a_share_outside_the_range_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match=r"share must be 0 or between 0\.01 and 0\.05"):
        planted_dataset(*SIZES, seed=2, share=bad)  # type: ignore[arg-type]
    assert check_share(0.01) == 0.01 and check_share(0) == 0.0


def test_a_network_too_small_to_plant_in_is_refused() -> None:
    with pytest.raises(ValueError, match=r"too small to plant fraud in: .*referrals"):
        planted_dataset(400, 2000, 4000, 300, seed=2, share=0.05)
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        planted_dataset(400, 2000, -1, 2000, seed=2, share=0.05)


def test_planted_network_obeys_every_rule(planted) -> None:
    ds, _truth, _ = planted
    check_dataset(ds, SYNTHETIC_NOW)
    # Planted professionals join a network before they refer, like organic ones.
    assert_referrals_inside_networks(ds)
    # One numbering: planted professionals and customers continue the organic ones.
    seed = ds.professionals[0]["id"].split("_")[1]
    for kind, prefix in (("professionals", "pro"), ("customers", "cus")):
        rows = getattr(ds, kind)
        expected = [f"{prefix}_{seed}_{i:07d}" for i in range(1, len(rows) + 1)]
        assert [r["id"] for r in rows] == expected


def test_a_planted_conversion_verifies_the_customers_later_referral() -> None:
    """A planted referral that converts gives an organic customer a job with an organic
    professional; the customer's own later referral of that professional is verified then."""
    ds, truth = planted_dataset(*SIZES, seed=91, share=0.05)  # a seed where this happens
    planted = truth.fraudulent.keys() | truth.lookalikes.keys()
    conversions = {r["jobId"] for r in ds.referrals if r["jobId"] and r["referrerId"] in planted}
    jobs: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for j in ds.jobs:
        jobs[(j["customerId"], j["professionalId"])].append(j)

    def hired_only_through_planting(r: dict) -> bool:
        key = (r["referrerId"], r["professionalId"])
        before = [j for j in jobs.get(key, []) if j["completedAt"] < r["createdAt"]]
        return bool(before) and all(j["id"] in conversions for j in before)

    later = [r for r in ds.referrals if hired_only_through_planting(r)]
    assert later and all(r["verified"] for r in later)


def test_rings_are_directed_cycles_of_three_to_eight(planted) -> None:
    _ds, truth, view = planted
    rings = groups(truth, RING)
    assert rings and sum(map(len, rings)) == Counter(truth.fraudulent.values())[RING]
    for ring in rings:
        assert 3 <= len(ring) <= 8
        members = set(ring)
        graph = nx.DiGraph()
        refs = [r for m in ring for r in view.made[m]]
        graph.add_edges_from((r["referrerId"], r["professionalId"]) for r in refs)
        # Every referral a member makes goes to the next member: one loop, nothing else.
        assert set(graph) == members
        assert [len(c) for c in nx.simple_cycles(graph)] == [len(ring)]
        assert graph.number_of_edges() == len(ring)
        assert all(graph.has_edge(a, ring[(i + 1) % len(ring)]) for i, a in enumerate(ring))
        times = [at(r["createdAt"]) for r in refs]
        assert max(times) - min(times) <= 14 * DAY
        assert view.converted(refs) == []
        # Little business outside the ring; referees that (nearly all) never hire.
        assert all(view.jobs_of_pro[m] <= 2 for m in ring)
        hiring = [r for r in refs if view.jobs_of_customer[r["refereeId"]]]
        assert len(hiring) <= len(refs) // 2
        assert all(truth.referrals[r["id"]] == RING for r in refs)


def test_reciprocal_pairs_refer_almost_only_each_other(planted) -> None:
    _, truth, view = planted
    pairs = groups(truth, RECIPROCAL_ONLY)
    assert pairs
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            refs = view.made[x]
            to_partner = [r for r in refs if r["professionalId"] == y]
            assert len(to_partner) >= 6 and len(refs) - len(to_partner) <= 1
            assert view.converted(refs) == []


def test_hollow_referees_have_no_life_of_their_own(planted) -> None:
    _, truth, view = planted
    hollow = [p for p, k in truth.fraudulent.items() if k == HOLLOW_REFEREES]
    assert hollow
    for p in hollow:
        refs = view.made[p]
        assert len(refs) >= 6
        for r in refs:
            referee = r["refereeId"]
            assert view.jobs_of_customer[referee] == 0
            assert view.introduced[referee] == 1
            created = at(view.customer[referee]["createdAt"])
            assert 0 < at(r["createdAt"]) - created <= 36 * 3600
        assert view.jobs_of_pro[p] >= 2  # a real business as cover


def test_bursts_are_many_referrals_in_days_far_above_history_and_peers(planted) -> None:
    _ds, truth, view = planted
    bursts = [p for p, k in truth.fraudulent.items() if k == BURST]
    assert bursts
    # Peers: the most referrals an unplanted professional made within any four days.
    planted_ids = set(truth.fraudulent) | set(truth.lookalikes)
    peers = sorted(
        most_within(view.made[p], 4 * DAY) for p in view.pro if p not in planted_ids
    )
    for p in bursts:
        burst = [r for r in view.made[p] if truth.referrals.get(r["id"]) == BURST]
        history = [r for r in view.made[p] if r["id"] not in truth.referrals]
        assert len(burst) >= 15 and len(history) <= 3
        times = [at(r["createdAt"]) for r in burst]
        assert max(times) - min(times) <= 4 * DAY
        assert len(burst) > peers[-1] and len(burst) >= 3 * peers[int(0.99 * len(peers))]
        assert view.converted(burst) == []


def most_within(refs: list[dict], span: float) -> int:
    times = sorted(at(r["createdAt"]) for r in refs)
    return max((sum(1 for u in times[i:] if u - t <= span) for i, t in enumerate(times)),
               default=0)


def test_planted_fraud_is_settled_before_now(planted) -> None:
    ds, truth, _ = planted
    now = SYNTHETIC_NOW.timestamp()
    fraud = [r for r in ds.referrals if r["id"] in truth.referrals]
    assert fraud and all(r["status"] in ("DECLINED", "EXPIRED") for r in fraud)
    assert all(now - at(r["updatedAt"]) > 0 for r in fraud)


def test_lookalikes_are_present_and_legitimate(planted) -> None:
    _ds, truth, view = planted
    kinds = Counter(truth.lookalikes.values())
    assert set(kinds) == set(LOOKALIKES)

    for a, b in groups(truth, PARTNERS):
        # Long-standing, both ways, converting into confirmed, rated jobs of real customers.
        for x, y in ((a, b), (b, a)):
            refs = [r for r in view.made[x] if r["professionalId"] == y]
            assert len(refs) >= 5
            times = [at(r["createdAt"]) for r in refs]
            assert max(times) - min(times) >= 60 * DAY
            converted = view.converted(refs)
            assert len(converted) >= 2
            assert all(view.jobs[r["jobId"]]["rating"] is not None for r in converted)
        assert view.jobs_of_pro[a] >= 12 and view.jobs_of_pro[b] >= 12

    for p in (p for p, k in truth.lookalikes.items() if k == BUSY_REFERRER):
        refs = view.made[p]
        assert len(refs) >= 30 and len({r["professionalId"] for r in refs}) >= 10
        assert len(view.converted(refs)) >= 0.3 * len(refs)
        assert most_within(refs, 4 * DAY) < 12  # busy, but steady

    for p in (p for p, k in truth.lookalikes.items() if k == NEW_MEMBER_BURST):
        refs = view.made[p]
        times = [at(r["createdAt"]) for r in refs]
        assert len(refs) >= 8 and max(times) - min(times) <= 5 * DAY
        assert min(times) - at(view.pro[p]["createdAt"]) <= 16 * DAY  # its first days
        converted = view.converted(refs)
        assert len(converted) >= len(refs) // 2
        assert all(view.jobs[r["jobId"]]["rating"] is not None for r in converted)
        # Real referees: customers for a week at least, not invented for the occasion.
        assert all(at(view.customer[r["refereeId"]]["createdAt"]) <= at(r["createdAt"]) - 7 * DAY
                   for r in refs)


def test_precision_and_recall_against_the_truth(planted) -> None:
    _, truth, _ = planted
    fraud = sorted(truth.fraudulent)
    assert truth.precision_recall(fraud) == (1.0, 1.0)
    half = fraud[: len(fraud) // 2]
    assert truth.precision_recall(half) == (1.0, len(half) / len(fraud))
    flagged = [*fraud, *sorted(truth.lookalikes)]
    assert truth.precision_recall(flagged) == (len(fraud) / len(flagged), 1.0)
    assert truth.precision_recall([]) == (1.0, 0.0)
    assert GroundTruth().precision_recall([]) == (1.0, 1.0)


def test_truth_round_trips_through_json(planted) -> None:
    _, truth, _ = planted
    again = GroundTruth.from_json(truth.to_json())
    assert again == truth
    body = json.loads(truth.to_json())
    assert set(body) >= {"fraudulent", "lookalikes"}


async def test_planted_network_loads_into_the_store(store) -> None:
    ds, truth = planted_dataset(*TINY, seed=9301, share=0.05)
    await bulk.load(store, ds)
    counts = await store.read(
        "MATCH (p:Professional) WHERE p.id STARTS WITH 'pro_s9301_' RETURN count(p) AS n"
    )
    assert counts[0]["n"] == TINY[0]
    loaded = await store.read(
        "MATCH (a)-[:MADE]->(r:Referral)-[:FOR]->(p:Professional), (r)-[:INTRODUCES]->(c) "
        "WHERE r.id STARTS WITH 'ref_s9301_' RETURN count(r) AS n"
    )
    assert loaded[0]["n"] == TINY[3]
    # Every conversion is a confirmed job of the referee with the professional.
    conversions = await store.read(
        "MATCH (r:Referral)-[:CONVERTED_TO]->(:Job) WHERE r.id STARTS WITH 'ref_s9301_' "
        "RETURN count(r) AS n"
    )
    good = await store.read(
        "MATCH (c:Customer)<-[:INTRODUCES]-(r:Referral)-[:CONVERTED_TO]->(j:Job), "
        "(r)-[:FOR]->(p:Professional), (c)-[:BOOKED]->(j)-[:DONE_BY]->(p) "
        "WHERE r.id STARTS WITH 'ref_s9301_' AND j.confirmed RETURN count(r) AS n"
    )
    expected = sum(r["jobId"] is not None for r in ds.referrals)
    assert conversions[0]["n"] == good[0]["n"] == expected > 0
    # A ring is a cycle in the store too: each member's referrals go to the next one.
    ring = groups(truth, RING)[0]
    rows = await store.read(
        "UNWIND $ids AS id MATCH (a:Professional {id: id})-[:MADE]->(:Referral)-[:FOR]->(b) "
        "RETURN DISTINCT a.id AS a, b.id AS b", ids=list(ring),
    )
    assert {(r["a"], r["b"]) for r in rows} == {
        (m, ring[(i + 1) % len(ring)]) for i, m in enumerate(ring)
    }
    memberships = await store.read(
        "UNWIND $ids AS id MATCH (:Professional {id: id})-[m:MEMBER_OF]->(:Network) "
        "RETURN count(m) AS n", ids=sorted(truth.fraudulent),
    )
    assert memberships[0]["n"] == len(truth.fraudulent)


def seed_cli(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "seed", "synthetic", "--data-dir", str(data_dir),
         *(f"--{name}={n}" for name, n in zip(("professionals", "customers", "jobs", "referrals"),
                                               TINY, strict=True)),
         "--seed", "6", *extra],
        env=cli_env(), capture_output=True, text=True, timeout=300, check=False,
    )


def test_seed_synthetic_plants_fraud_and_writes_the_truth(tmp_path: Path) -> None:
    truth_file = tmp_path / "truth.json"
    seeded = seed_cli(tmp_path / "data", "--plant-fraud", "0.05", "--truth", str(truth_file))
    assert seeded.returncode == 0, seeded.stderr
    assert "loaded 200 professionals, 1000 customers, 2000 jobs, 1000 referrals" in seeded.stderr
    assert "planted 10 fraudulent professionals" in seeded.stderr
    truth = GroundTruth.from_json(truth_file.read_text())
    assert truth == planted_dataset(*TINY, seed=6, share=0.05)[1]


@pytest.mark.parametrize("extra, message", [
    (("--plant-fraud", "0.2"), "share must be 0 or between 0.01 and 0.05, got 0.2"),
    (("--plant-fraud", "nan"), "share must be 0 or between 0.01 and 0.05"),
    (("--truth", "t.json"), "--truth needs --plant-fraud"),
    (("--plant-fraud", "0.03", "--truth", "missing/t.json"), "no folder for the truth file"),
])
def test_seed_synthetic_refuses_bad_planting_and_writes_nothing(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    extra = tuple(str(tmp_path / e) if e.endswith(".json") else e for e in extra)
    refused = seed_cli(tmp_path / "data", *extra)
    assert refused.returncode == 2
    assert message in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "t.json").exists()
    assert not list(tmp_path.rglob("*.json"))


def test_every_referral_a_fraudster_makes_is_marked_or_ordinary(planted) -> None:
    """The truth's referrals are exactly the fraudsters' pattern referrals."""
    ds, truth, view = planted
    marked = set(truth.referrals)
    for p, kind in truth.fraudulent.items():
        for r in view.made[p]:
            assert r["id"] in marked or kind == BURST
    assert all(r["referrerId"] in truth.fraudulent for r in ds.referrals if r["id"] in marked)

