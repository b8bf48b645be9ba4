"""The seed data sets obey every domain rule and look like the networks they stand for.

Pure tests: nothing here needs a store.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest

from graph import rules
from graph.bulk import Dataset
from graph.models import OPEN_STATUSES, TRANSITIONS, ReferralStatus
from graph.referrals import open_key
from graph.timeutil import from_store, is_aware, to_store
from seeds.demo import DEMO_NOW, demo_dataset
from seeds.synthetic import SIZES, SYNTHETIC_NOW, synthetic_dataset

ROOT = Path(__file__).resolve().parents[1]
ID_PATTERNS = {
    kind: re.compile(rf"^{prefix}_[A-Za-z0-9_-]{{1,64}}$")
    for kind, prefix in (
        ("professionals", "pro"), ("customers", "cus"), ("jobs", "job"), ("referrals", "ref"),
        ("networks", "net"),
    )
}
REFERRAL_KEYS = {
    "id", "referrerId", "professionalId", "refereeId", "status", "verified", "note",
    "createdAt", "updatedAt", "statusHistory", "statusTimes", "openKey", "jobId",
}
OPEN = {s.value for s in OPEN_STATUSES}
ALLOWED_NEXT = {s.value: {t.value for t in nxt} for s, nxt in TRANSITIONS.items()}


def when(text: str, now: datetime) -> datetime:
    """A store time: canonical text, timezone-aware, not after ``now``."""
    assert isinstance(text, str), text
    value = from_store(text)
    assert is_aware(value), text
    assert to_store(value) == text, f"{text} is not in store form"
    assert value <= now, f"{text} lies after {now}"
    return value


def check_dataset(ds: Dataset, now: datetime) -> None:
    """Assert every rule the service enforces, and the orderings of a real history."""
    # Ids: well formed, and unique across the whole data set.
    all_ids: list[str] = []
    for kind, pattern in ID_PATTERNS.items():
        for row in getattr(ds, kind):
            assert pattern.match(row["id"]), row["id"]
            all_ids.append(row["id"])
    assert len(all_ids) == len(set(all_ids)), "duplicate ids"

    pros = {p["id"]: p for p in ds.professionals}
    customers = {c["id"]: c for c in ds.customers}
    networks = {n["id"]: n for n in ds.networks}
    jobs = {j["id"]: j for j in ds.jobs}
    created: dict[str, datetime] = {}

    for row in [*ds.professionals, *ds.customers, *ds.networks]:
        assert rules.clean_name(row["name"], ["name"]) == row["name"]
        created[row["id"]] = when(row["createdAt"], now)
    for p in ds.professionals:
        assert rules.clean_trades(p["trades"], ["trades"]) == p["trades"]
        assert isinstance(p["trades"], list)
    for row in [*ds.professionals, *ds.customers]:
        assert rules.clean_area(row["area"], ["area"]) == row["area"]

    seen_members: set[tuple[str, str]] = set()
    members_of: dict[str, dict[str, datetime]] = defaultdict(dict)  # pro -> network -> since
    for m in ds.memberships:
        assert set(m) == {"networkId", "professionalId", "since"}
        assert m["networkId"] in networks and m["professionalId"] in pros
        pair = (m["networkId"], m["professionalId"])
        assert pair not in seen_members, pair
        seen_members.add(pair)
        since = when(m["since"], now)
        assert since >= created[m["networkId"]]
        assert since >= created[m["professionalId"]]
        members_of[m["professionalId"]][m["networkId"]] = since

    first_job: dict[tuple[str, str], datetime] = {}
    done: dict[str, datetime] = {}
    for j in ds.jobs:
        assert j["customerId"] in customers and j["professionalId"] in pros
        assert rules.clean_trade(j["trade"], ["trade"]) == j["trade"]
        assert j["trade"] in pros[j["professionalId"]]["trades"]
        rating = j["rating"]
        assert rating is None or (type(rating) is int and 1 <= rating <= 5), rating
        assert isinstance(j["value"], float) and math.isfinite(j["value"]) and j["value"] >= 0
        completed = when(j["completedAt"], now)
        assert when(j["createdAt"], now) >= completed
        assert completed >= created[j["customerId"]] and completed >= created[j["professionalId"]]
        done[j["id"]] = completed
        key = (j["customerId"], j["professionalId"])
        first_job[key] = min(first_job.get(key, completed), completed)

    converted_jobs: Counter[str] = Counter()
    by_triple: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in ds.referrals:
        assert set(r) == REFERRAL_KEYS, set(r) ^ REFERRAL_KEYS
        referrer, pro, referee = r["referrerId"], r["professionalId"], r["refereeId"]
        assert referrer in customers or referrer in pros, referrer
        assert pro in pros and referee in customers
        assert referrer != pro and referrer != referee
        assert r["note"] is None or rules.clean_note(r["note"], ["note"]) == r["note"]

        history, times = r["statusHistory"], r["statusTimes"]
        assert isinstance(history, list) and isinstance(times, list)
        assert history[0] == ReferralStatus.SENT.value
        for before, after in pairwise(history):
            assert after in ALLOWED_NEXT[before], history
        assert r["status"] == history[-1]
        assert len(times) == len(history)
        stamps = [when(t, now) for t in times]
        assert all(a < b for a, b in pairwise(stamps)), times
        assert times[0] == r["createdAt"] and times[-1] == r["updatedAt"]
        created_at = stamps[0]
        for party in (referrer, pro, referee):
            assert created[party] <= created_at, (party, r["id"])

        if r["status"] in OPEN:
            assert r["openKey"] == open_key(referrer, pro, referee)
        else:
            assert r["openKey"] is None

        hired_before = referrer in customers and first_job.get((referrer, pro), now) < created_at
        assert r["verified"] is hired_before, r["id"]

        if r["status"] == ReferralStatus.CONVERTED.value:
            job = jobs[r["jobId"]]
            assert job["customerId"] == referee and job["professionalId"] == pro
            accepted = stamps[history.index(ReferralStatus.ACCEPTED.value)]
            assert created_at < accepted < done[job["id"]] <= stamps[-1]
            converted_jobs[job["id"]] += 1
        else:
            assert r["jobId"] is None
        by_triple[(referrer, pro, referee)].append(r)

    assert all(n == 1 for n in converted_jobs.values()), "a job converts two referrals"
    open_keys = Counter(r["openKey"] for r in ds.referrals if r["openKey"] is not None)
    assert all(n == 1 for n in open_keys.values()), "two open referrals for one triple"
    # The store refuses a duplicate while one is open: the same triple again only after a close.
    for same in by_triple.values():
        same.sort(key=lambda r: r["createdAt"])
        for earlier, later in pairwise(same):
            assert earlier["status"] not in OPEN and earlier["updatedAt"] <= later["createdAt"]

    # The loader's own view of the rows.
    statements = ds.statements()
    loaded = sum(len(rows) for name, _, rows in statements if name.endswith("referrals"))
    assert loaded == len(ds.referrals)


def digest(ds: Dataset) -> str:
    rows = [ds.professionals, ds.customers, ds.jobs, ds.referrals, ds.networks, ds.memberships]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return demo_dataset()


@pytest.fixture(scope="module")
def small() -> Dataset:
    return synthetic_dataset(*SIZES["small"], seed=7)


def test_demo_obeys_every_rule(demo: Dataset) -> None:
    check_dataset(demo, DEMO_NOW)


def test_small_synthetic_obeys_every_rule(small: Dataset) -> None:
    check_dataset(small, SYNTHETIC_NOW)


@pytest.mark.parametrize("sizes", [(0, 0, 0, 0), (1, 1, 3, 3), (3, 2, 10, 8), (40, 30, 200, 150)])
def test_tiny_synthetic_worlds_obey_every_rule(sizes: tuple[int, int, int, int]) -> None:
    ds = synthetic_dataset(*sizes, seed=5)
    check_dataset(ds, SYNTHETIC_NOW)
    assert len(ds.professionals) == sizes[0] and len(ds.customers) == sizes[1]
    assert len(ds.jobs) <= sizes[2] and len(ds.referrals) <= sizes[3]


def test_check_dataset_catches_broken_rules(demo: Dataset) -> None:
    def broken(change) -> Dataset:
        copy = Dataset(**{k: [dict(r) for r in getattr(demo, k)] for k in vars(demo)})
        change(copy)
        return copy

    def unverify(ds: Dataset) -> None:
        r = next(r for r in ds.referrals if r["verified"])
        r["verified"] = False

    def reopen(ds: Dataset) -> None:
        r = next(r for r in ds.referrals if r["status"] == "DECLINED")
        r["openKey"] = open_key(r["referrerId"], r["professionalId"], r["refereeId"])

    def foreign_trade(ds: Dataset) -> None:
        ds.jobs[0]["trade"] = "astrology"

    def self_referral(ds: Dataset) -> None:
        r = next(r for r in ds.referrals if r["referrerId"].startswith("cus_"))
        r["refereeId"] = r["referrerId"]

    def skip_acceptance(ds: Dataset) -> None:
        r = next(r for r in ds.referrals if r["status"] == "CONVERTED")
        r["statusHistory"] = ["SENT", "CONVERTED", "CONVERTED"]

    for change in (unverify, reopen, foreign_trade, self_referral, skip_acceptance):
        with pytest.raises(AssertionError):
            check_dataset(broken(change), DEMO_NOW)


def test_demo_is_deterministic(demo: Dataset) -> None:
    assert demo_dataset() == demo


def test_synthetic_is_deterministic_per_seed() -> None:
    sizes = (200, 1000, 2000, 800)
    one, again, other = (synthetic_dataset(*sizes, seed=s) for s in (11, 11, 12))
    assert one == again
    assert [p["name"] for p in one.professionals] != [p["name"] for p in other.professionals]
    assert [j["completedAt"] for j in one.jobs] != [j["completedAt"] for j in other.jobs]
    assert not {p["id"] for p in one.professionals} & {p["id"] for p in other.professionals}


def test_same_rows_in_every_process() -> None:
    """No set or hash order leaks into the rows: other hash seeds give the same digests."""
    code = (
        "import sys; sys.path.insert(0, '.'); from tests.test_seeds import digest;"
        "from seeds.demo import demo_dataset; from seeds.synthetic import synthetic_dataset;"
        "print(digest(demo_dataset()), digest(synthetic_dataset(150, 600, 1200, 500, seed=3)))"
    )
    outputs = set()
    for hash_seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
            check=True,
        )
        outputs.add(run.stdout.strip())
    assert len(outputs) == 1
    here = f"{digest(demo_dataset())} {digest(synthetic_dataset(150, 600, 1200, 500, seed=3))}"
    assert outputs == {here}


def test_demo_meets_its_size_targets(demo: Dataset) -> None:
    assert 35 <= len(demo.professionals) <= 45
    assert len({t for p in demo.professionals for t in p["trades"]}) >= 12
    assert sum(len(p["trades"]) >= 2 for p in demo.professionals) >= 5
    assert {p["area"] for p in demo.professionals} == {c["area"] for c in demo.customers}
    assert len({p["area"] for p in demo.professionals}) == 3
    assert 140 <= len(demo.customers) <= 160
    assert all(re.fullmatch(r"\S+ \S+", c["name"]) for c in demo.customers)
    assert 200 <= len(demo.jobs) <= 500
    assert 100 <= len(demo.referrals) <= 140
    assert {r["status"] for r in demo.referrals} == {s.value for s in ReferralStatus}
    kinds = Counter(r["referrerId"][:3] for r in demo.referrals)
    assert kinds["cus"] >= 30 and kinds["pro"] >= 30
    assert 0 < sum(r["note"] is not None for r in demo.referrals) < len(demo.referrals)
    assert len(demo.networks) == 2
    sizes = Counter(m["networkId"] for m in demo.memberships)
    assert all(12 <= n <= 20 for n in sizes.values()) and len(sizes) == 2


def test_demo_ids_are_readable(demo: Dataset) -> None:
    assert demo.professionals[0]["id"] == "pro_demo_001"
    assert demo.customers[0]["id"] == "cus_demo_001"
    assert [n["id"] for n in demo.networks] == ["net_demo_1", "net_demo_2"]
    assert demo.jobs[0]["id"] == "job_demo_0001" and demo.referrals[0]["id"] == "ref_demo_0001"
    # Numbered in time order, like generated ids.
    assert [j["completedAt"] for j in demo.jobs] == sorted(j["completedAt"] for j in demo.jobs)
    created = [r["createdAt"] for r in demo.referrals]
    assert created == sorted(created)


def test_demo_jobs_look_real(demo: Dataset) -> None:
    ratings = Counter(j["rating"] for j in demo.jobs)
    rated = len(demo.jobs) - ratings[None]
    assert 0.08 <= ratings[None] / len(demo.jobs) <= 0.25
    assert (ratings[4] + ratings[5]) / rated >= 0.7
    assert ratings[1] + ratings[2] + ratings[3] > 0
    assert {j["professionalId"] for j in demo.jobs} == {p["id"] for p in demo.professionals}
    values = defaultdict(list)
    for j in demo.jobs:
        values[j["trade"]].append(j["value"])
    median = {t: sorted(v)[len(v) // 2] for t, v in values.items()}
    assert median["kitchen fitting"] > 10 * median["plumbing"] > median["tutoring"]


def trades_by_customer(ds: Dataset) -> dict[str, set[str]]:
    hired: dict[str, set[str]] = defaultdict(set)
    for j in ds.jobs:
        hired[j["customerId"]].add(j["trade"])
    return hired


def test_demo_customers_hire_complementary_trades_together(demo: Dataset) -> None:
    hired = trades_by_customer(demo)
    kitchen = {"kitchen fitting", "plumbing", "electrical", "tiling"}
    assert any(len(kitchen & trades) >= 3 for trades in hired.values())
    assert any({"roofing", "painting"} <= trades for trades in hired.values())
    assert any({"accounting", "legal"} <= trades for trades in hired.values())


def professional_referrals(ds: Dataset) -> Counter[tuple[str, str]]:
    return Counter(
        (r["referrerId"], r["professionalId"])
        for r in ds.referrals if r["referrerId"].startswith("pro_")
    )


def assert_referrals_inside_networks(ds: Dataset) -> None:
    joined: dict[str, dict[str, str]] = defaultdict(dict)
    for m in ds.memberships:
        joined[m["professionalId"]][m["networkId"]] = m["since"]
    for r in ds.referrals:
        if r["referrerId"].startswith("pro_"):
            a, b = joined[r["referrerId"]], joined[r["professionalId"]]
            shared = [n for n in a.keys() & b.keys() if max(a[n], b[n]) < r["createdAt"]]
            assert shared, r["id"]


def test_demo_reciprocity_has_pairs_givers_and_takers(demo: Dataset) -> None:
    assert_referrals_inside_networks(demo)
    given = professional_referrals(demo)
    reciprocal = {tuple(sorted(pair)) for pair in given if pair[::-1] in given}
    assert len(reciprocal) >= 5
    givers = {a for a, _ in given}
    takers = {b for _, b in given} - givers
    assert 1 <= len(takers) <= 3
    members = {m["professionalId"] for m in demo.memberships}
    assert members - givers - takers, "a passive member"


def test_synthetic_counts_are_exact(small: Dataset) -> None:
    pros, customers, jobs, referrals = SIZES["small"]
    assert len(small.professionals) == pros and len(small.customers) == customers
    assert len(small.jobs) == jobs and len(small.referrals) == referrals
    assert len(small.networks) == pros // 100
    sizes = Counter(m["networkId"] for m in small.memberships)
    assert all(80 <= n <= 120 for n in sizes.values())
    assert small.professionals[0]["id"] == "pro_s7_0000001"
    assert {r["status"] for r in small.referrals} == {s.value for s in ReferralStatus}
    share = sum(r["referrerId"].startswith("pro_") for r in small.referrals) / referrals
    assert 0.3 <= share <= 0.5
    converted = sum(r["jobId"] is not None for r in small.referrals)
    assert 0.15 * referrals <= converted <= 0.4 * referrals


def test_synthetic_network_count_can_be_chosen() -> None:
    ds = synthetic_dataset(500, 1000, 1000, 300, seed=2, networks=3)
    assert len(ds.networks) == 3
    assert len(synthetic_dataset(50, 100, 100, 50, seed=2).networks) == 1


def test_synthetic_popularity_is_skewed(small: Dataset) -> None:
    per_pro = sorted(Counter(j["professionalId"] for j in small.jobs).values(), reverse=True)
    top = per_pro[: len(small.professionals) // 10]
    assert sum(top) / len(small.jobs) >= 0.3
    assert per_pro[0] >= 10 * (len(small.jobs) / len(small.professionals))


def lift(hired: dict[str, set[str]], a: str, b: str) -> float:
    n = len(hired)
    with_a = sum(a in t for t in hired.values())
    with_b = sum(b in t for t in hired.values())
    both = sum(a in t and b in t for t in hired.values())
    return both * n / (with_a * with_b)


def test_synthetic_cohiring_marks_complementary_trades(small: Dataset) -> None:
    hired = trades_by_customer(small)
    for a, b in (("kitchen fitting", "tiling"), ("roofing", "painting"), ("accounting", "legal")):
        assert lift(hired, a, b) > 1.5, (a, b)
    assert lift(hired, "accounting", "roofing") < 1.0


def test_synthetic_professional_referrals_are_reciprocal_and_local(small: Dataset) -> None:
    assert_referrals_inside_networks(small)
    given = professional_referrals(small)
    reciprocal = {tuple(sorted(pair)) for pair in given if pair[::-1] in given}
    givers = {a for a, _ in given}
    takers = {b for _, b in given} - givers
    assert len(reciprocal) >= 100 and len(takers) >= 10
    verified = [r["verified"] for r in small.referrals if r["referrerId"].startswith("cus_")]
    assert 0.5 <= sum(verified) / len(verified) <= 0.95


def test_large_size_reaches_a_million_relationships() -> None:
    """Counts are exact, so relationships grow linearly: check at 1/40 of the large size."""
    scale = 40
    sizes = tuple(n // scale for n in SIZES["large"])
    ds = synthetic_dataset(*sizes)
    assert (len(ds.jobs), len(ds.referrals)) == (sizes[2], sizes[3])
    assert ds.relationships >= 2 * len(ds.jobs) + 3 * len(ds.referrals)
    assert ds.relationships * scale >= 10**6
    _, _, jobs, referrals = SIZES["large"]
    assert 2 * jobs + 3 * referrals >= 10**6  # even without memberships and conversions


def test_rejects_negative_sizes() -> None:
    with pytest.raises(ValueError):
        synthetic_dataset(10, 10, -1, 10)
