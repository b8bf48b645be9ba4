"""Seeded rewards: the demo's programs and rewards, and the replay that derives them, which must
give exactly what the live path (``graph.referrals.update_status``) earns on the real store."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import analytics, bulk, programs, referrals, timeutil
from graph.algorithms import integrity as algorithms
from graph.bulk import Dataset, Row
from graph.embedded import EmbeddedServer
from graph.models import ReferralStatus
from graph.programs import UNIT_DECIMALS, NewProgram, NewTier, RewardTrigger
from graph.rewards import MANUAL_FROM, RewardStatus
from graph.store import Store, connect
from seeds import rewards as seeded
from seeds.complementary_trades import CURATED
from seeds.demo import DEMO_NOW, demo_dataset
from seeds.synthetic import SYNTHETIC_NOW, synthetic_dataset
from tests.integrity_scenes import projection_of

IDENTITY = ("programId", "referralId", "role", "recipientId", "amount", "unit")


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return demo_dataset()


def test_the_demo_has_a_two_sided_a_tiered_network_and_a_points_program(demo: Dataset) -> None:
    by_id = {p["id"]: p for p in demo.reward_programs}
    two_sided, tiered, points = (by_id[f"rpg_demo_{i}"] for i in (1, 2, 3))
    assert (two_sided["ownerId"], two_sided["trigger"], two_sided["unit"]) == (
        "pro_demo_001", "CONVERTED", "GBP")
    assert (two_sided["referrerAmount"], two_sided["refereeAmount"]) == (2500, 1000)
    assert tiered["ownerId"].startswith("net_") and tiered["trigger"] == "ACCEPTED"
    assert json.loads(tiered["tiers"]) == [[3, 800], [6, 1200]] and tiered["monthlyCap"] == 4
    assert (points["unit"], points["trigger"], points["referrerAmount"],
            points["refereeAmount"]) == ("POINTS", "ACCEPTED", 100, 50)
    earned = Counter(w["programId"] for w in demo.rewards)
    assert all(earned[p] > 0 for p in by_id), earned


def test_demo_rewards_show_every_status_with_consistent_histories(demo: Dataset) -> None:
    assert {w["status"] for w in demo.rewards} == {s.value for s in RewardStatus}
    referral = {r["id"]: r for r in demo.referrals}
    program = {p["id"]: p for p in demo.reward_programs}
    for key in ("id", "key", "slot"):
        assert len({w[key] for w in demo.rewards}) == len(demo.rewards), key
    for w in demo.rewards:
        history, times = w["statusHistory"], w["statusTimes"]
        assert len(history) == len(times) == len(w["statusBy"]) == len(w["statusReasons"])
        assert history[0] in ("PENDING", "HELD") and w["statusBy"][0] == "earning"
        for before, after in pairwise(history):
            assert before in MANUAL_FROM[RewardStatus(after)], history
        stamps = [timeutil.from_store(t) for t in times]
        assert stamps == sorted(stamps) and stamps[-1] <= DEMO_NOW
        assert (w["createdAt"], w["updatedAt"], w["status"]) == (times[0], times[-1], history[-1])
        assert "VOID" not in history or w["statusReasons"][-1], "a void says why"
        assert w["clawback"] is False  # the demo has no confirmed fraud to claw back
        assert isinstance(w["amount"], int) and w["amount"] > 0
        assert w["unit"] == program[w["programId"]]["unit"]
        # Earned when the referral reached the program's trigger, at that very time.
        r = referral[w["referralId"]]
        trigger = program[w["programId"]]["trigger"]
        assert times[0] == r["statusTimes"][r["statusHistory"].index(trigger)]
        assert w["month"] == times[0][:7]


def test_held_demo_rewards_are_exactly_those_the_integrity_batch_flags(demo: Dataset) -> None:
    """A seeded HELD reward stays held after the load's analytics refresh, and nothing else is
    held by it: the referrals it flags are the planted ones."""
    found = algorithms.assess(projection_of(demo, DEMO_NOW.timestamp()))
    risky = {r for r, (score, _) in found.referrals.items() if score >= 0.5}
    held = {w["referralId"] for w in demo.rewards if w["status"] == "HELD"}
    assert held and risky == held


async def test_the_demo_loads_and_its_first_refresh_keeps_every_status(tmp_path) -> None:
    demo = demo_dataset()
    with EmbeddedServer(tmp_path / "demo") as address:
        store = connect(address.uri, address.user, address.password, address.database)
        try:
            await store.ensure_schema()
            await bulk.load(store, demo)
            await analytics.refresh(store, 120, curated=CURATED)
            rows = await store.read("MATCH (w:Reward) RETURN w.id AS id, w.status AS status")
            assert {r["id"]: r["status"] for r in rows} == {
                w["id"]: w["status"] for w in demo.rewards}
            count = await store.read(
                "MATCH (p:RewardProgram)-[:OFFERED_BY]->(o) RETURN p.id AS id, o.id AS owner")
            assert {(r["id"], r["owner"]) for r in count} == {
                (p["id"], p["ownerId"]) for p in demo.reward_programs}
            # Loading it again into the store that holds it leaves one copy.
            await bulk.load(store, demo)
            again = await store.read("MATCH (w:Reward) RETURN count(w) AS n")
            assert again[0]["n"] == len(demo.rewards)
        finally:
            await store.close()


# ---------------------------------------------------------------- the replay is the live path

def new_program(row: Row) -> NewProgram:
    scale = 10 ** UNIT_DECIMALS[row["unit"]]
    return NewProgram(
        owner_id=row["ownerId"], name=row["name"], trigger=RewardTrigger(row["trigger"]),
        referrer_amount=row["referrerAmount"] / scale, unit=row["unit"],
        referee_amount=row["refereeAmount"] / scale, referrer_rate=row["referrerRate"],
        tiers=[NewTier(f, a / scale) for f, a in json.loads(row["tiers"])],
        monthly_cap=row["monthlyCap"], verified_only=row["verifiedOnly"],
        starts_at=timeutil.from_store(row["startsAt"]),
        ends_at=None if row["endsAt"] is None else timeutil.from_store(row["endsAt"]),
    )


REFERRALS_BACK = """
UNWIND $ids AS id
MATCH (x:Referral {id: id})
RETURN x.id AS id, x.verified AS verified, x.statusHistory AS statusHistory,
       x.statusTimes AS statusTimes, head([(x)-[:CONVERTED_TO]->(j:Job) | j.id]) AS jobId
"""
REWARDS_OF = """
UNWIND $ids AS id
MATCH (w:Reward {programId: id})
RETURN w {.*} AS row
"""
PROGRAMS_BACK = """
UNWIND $ids AS id
MATCH (p:RewardProgram {id: id})
RETURN p {.*} AS row
"""


async def test_replayed_rewards_equal_what_the_live_path_earns(store: Store) -> None:
    """A small world (one network, so referrals share programs, tiers and caps): programs of
    every kind created through graph.programs, its referrals created and driven through
    graph.referrals.update_status, one step at a time in the world's time order; then the
    replay of what the store holds gives the very rewards the store earned."""
    # A fixed world whose history reaches a tier, a commission and a cap (checked below); its
    # ids carry the seed, so they meet no other test's data.
    seed = 16180339
    world = synthetic_dataset(6, 30, 120, 90, seed=seed, networks=1)
    await bulk.load(store, Dataset(professionals=world.professionals, customers=world.customers,
                                   jobs=world.jobs, networks=world.networks,
                                   memberships=world.memberships))
    now = timeutil.now()
    made = []
    for row in seeded.synthetic_programs(world, 7, seed, now):
        made.append(await programs.create_program(store, new_program(row), lambda _: True))
    ids = [p.id for p in made]
    # Every step of every referral, in the world's order; created live when it is SENT.
    live: dict[str, str] = {}
    steps = sorted(
        ((t, r["id"], n, s) for r in world.referrals
         for n, (s, t) in enumerate(zip(r["statusHistory"], r["statusTimes"], strict=True))),
    )
    world_ref = {r["id"]: r for r in world.referrals}
    for _, rid, n, status in steps:
        r = world_ref[rid]
        if n == 0:
            made_ref = await referrals.create_referral(store, referrals.NewReferral(
                r["referrerId"], r["professionalId"], r["refereeId"]))
            live[rid] = made_ref.id
        else:
            job = r["jobId"] if status == "CONVERTED" else None
            await referrals.update_status(store, live[rid], ReferralStatus(status), job)
    stored = await store.read(REWARDS_OF, ids=ids)
    earned = [row["row"] for row in stored]
    assert len({w["programId"] for w in earned}) >= 3, "the world must exercise the programs"

    back = {r["id"]: r for r in await store.read(REFERRALS_BACK, ids=list(live.values()))}
    rows = []
    for rid, lid in live.items():
        r = world_ref[rid]
        b = back[lid]
        rows.append({"id": lid, "referrerId": r["referrerId"],
                     "professionalId": r["professionalId"], "refereeId": r["refereeId"],
                     "verified": b["verified"], "statusHistory": b["statusHistory"],
                     "statusTimes": b["statusTimes"], "jobId": b["jobId"]})
    program_rows = [row["row"] for row in await store.read(PROGRAMS_BACK, ids=ids)]
    replayed = seeded.replay(
        Dataset(jobs=world.jobs, referrals=rows, memberships=world.memberships,
                reward_programs=program_rows),
        ids="rwd_x{:d}".format)

    def identity(w: Row) -> tuple:
        return tuple(w[k] for k in (*IDENTITY, "key", "slot", "tally", "month", "status",
                                    "createdAt"))

    assert sorted(map(identity, replayed)) == sorted(map(identity, earned)), f"seed {seed}"
    # What the comparison covered: both roles, a tier above the base, a commission, a cap
    # that held rewards back (without caps the same history earns more).
    roles = Counter(w["role"] for w in earned)
    assert roles["REFERRER"] and roles["REFEREE"], roles
    base = {p.id: p.referrer_amount for p in made}
    tiered = {p.id for p in made if p.tiers and p.referrer_rate is None}
    assert any(w["amount"] > base[w["programId"]] for w in earned
               if w["programId"] in tiered and w["role"] == "REFERRER"), f"seed {seed}"
    assert any(p.referrer_rate for p in made if p.id in {w["programId"] for w in earned})
    uncapped = [{**p, "monthlyCap": None} for p in program_rows]
    more = seeded.replay(
        Dataset(jobs=world.jobs, referrals=rows, memberships=world.memberships,
                reward_programs=uncapped), ids=str)
    assert len(more) > len(replayed), f"seed {seed}: no cap was reached"


# ---------------------------------------------------------------- the replay's own rules

def program(pid: str, owner: str, trigger: str, referrer: int, **kw) -> Row:
    return seeded.program_row(pid, pid, owner, trigger, referrer,
                              starts=datetime(2026, 1, 1, tzinfo=UTC), **kw)


def referral(i: int, referrer: str, at: datetime, history=("SENT", "ACCEPTED"), **kw) -> Row:
    times = [at + timedelta(hours=k) for k in range(len(history))]
    return {"id": f"ref_{i:04d}", "referrerId": referrer, "professionalId": kw.get("pro", "pro_b"),
            "refereeId": f"cus_r{i}", "verified": kw.get("verified", False),
            "statusHistory": list(history), "statusTimes": [timeutil.to_store(t) for t in times],
            "jobId": kw.get("job")}


def test_network_programs_need_both_members_and_fraud_earns_nothing() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    ds = Dataset(
        reward_programs=[program("rpg_n", "net_1", "ACCEPTED", 500)],
        memberships=[{"networkId": "net_1", "professionalId": p} for p in ("pro_a", "pro_b")],
        referrals=[referral(1, "pro_a", at), referral(2, "pro_c", at),
                   referral(3, "cus_a", at), referral(4, "pro_a", at, pro="pro_b"),
                   referral(5, "pro_b", at, pro="pro_a")],
    )
    got = seeded.replay(ds, ids=str, fraud={"ref_0004"})
    assert [w["referralId"] for w in got] == ["ref_0001", "ref_0005"]


def test_windows_verified_only_and_commission() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    ds = Dataset(
        reward_programs=[
            program("rpg_w", "pro_b", "ACCEPTED", 100,
                    ends=datetime(2026, 2, 1, tzinfo=UTC)),
            program("rpg_v", "pro_b", "ACCEPTED", 100, verified_only=True),
            program("rpg_c", "pro_b", "CONVERTED", 0, rate=0.1),
        ],
        jobs=[{"id": "job_1", "value": 123.45}],
        referrals=[referral(1, "cus_a", at, verified=True,
                            history=("SENT", "ACCEPTED", "CONVERTED"), job="job_1"),
                   referral(2, "cus_b", at)],
    )
    got = {(w["programId"], w["referralId"]): w["amount"] for w in seeded.replay(ds, ids=str)}
    assert got == {("rpg_v", "ref_0001"): 100, ("rpg_c", "ref_0001"): 1234}


@settings(max_examples=40, deadline=None)
@given(
    days=st.lists(st.integers(0, 80), min_size=1, max_size=40),
    referrers=st.lists(st.sampled_from(["cus_a", "cus_b", "pro_a"]), min_size=40, max_size=40),
    cap=st.integers(1, 4),
    voids=st.booleans(),
)
def test_caps_tiers_and_slots_hold_on_any_history(days, referrers, cap, voids) -> None:
    """Whatever the history: per referrer, program and month at most ``cap`` rewards that were
    live when earned; slots number a referrer's rewards 1..n; the amount is the tier its
    count of live rewards reached."""
    start = datetime(2026, 1, 5, tzinfo=UTC)
    ds = Dataset(
        reward_programs=[program("rpg_t", "pro_b", "ACCEPTED", 500,
                                 tiers=((2, 700), (4, 900)), cap=cap, referee=100)],
        referrals=[referral(i, referrers[i], start + timedelta(days=d, minutes=i))
                   for i, d in enumerate(days)],
    )
    got = seeded.replay(ds, ids=str, now=SYNTHETIC_NOW if voids else None)
    mine = defaultdict(list)
    for w in got:
        if w["role"] == "REFERRER":
            mine[w["tally"]].append(w)
    for rows in mine.values():
        assert [int(w["slot"].rsplit("|", 1)[1]) for w in rows] == list(range(1, len(rows) + 1))
        for w in rows:
            at = w["createdAt"]
            live = [v for v in rows if v["createdAt"] < at
                    and not ("VOID" in v["statusHistory"]
                             and v["statusTimes"][v["statusHistory"].index("VOID")] <= at)]
            assert sum(v["month"] == w["month"] for v in live) < cap
            n = len(live) + 1
            assert w["amount"] == (900 if n >= 4 else 700 if n >= 2 else 500)
    referees = [w for w in got if w["role"] == "REFEREE"]
    assert {w["referralId"] for w in referees} == {
        w["referralId"] for rows in mine.values() for w in rows}


# ---------------------------------------------------------------- synthetic programs

def test_synthetic_programs_cover_every_kind_and_zero_changes_nothing() -> None:
    plain = synthetic_dataset(150, 600, 1200, 500, seed=3)
    assert seeded.with_programs(plain, 0, 3, SYNTHETIC_NOW) == synthetic_dataset(
        150, 600, 1200, 500, seed=3)
    data = seeded.with_programs(synthetic_dataset(150, 600, 1200, 500, seed=3), 7, 3,
                                SYNTHETIC_NOW)
    rows = data.reward_programs
    assert len(rows) == 7 and len({p["ownerId"] for p in rows}) == 7
    assert {p["ownerId"][:4] for p in rows} == {"pro_", "net_"}
    assert any(json.loads(p["tiers"]) and p["monthlyCap"] for p in rows)
    assert any(p["referrerRate"] for p in rows) and any(p["unit"] == "POINTS" for p in rows)
    assert any(p["verifiedOnly"] for p in rows) and any(p["endsAt"] for p in rows)
    assert data.rewards and {w["programId"] for w in data.rewards} <= {p["id"] for p in rows}
    assert data.rewards == seeded.replay(data, ids="rwd_s3_{:07d}".format, now=SYNTHETIC_NOW)


def test_seed_refuses_a_negative_program_count(capsys) -> None:
    from app.cli import main

    assert main(["seed", "synthetic", "--programs", "-1", "--data-dir", "/nonexistent"]) == 2
    assert "--programs must be 0 or more" in capsys.readouterr().err
