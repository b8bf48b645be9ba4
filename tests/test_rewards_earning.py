"""Earning rewards: the rules of each kind of program, exactly once, under concurrent status
changes, and the holds and voids that follow the referral's risk and review.

Totals are computed by hand in each test from the program's figures; the store's integer
minor units are compared with them exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import referrals, rewards, timeutil
from graph.errors import InvalidTransition
from graph.models import ReferralStatus, ReviewDecision
from graph.programs import NewProgram, NewTier, RewardProgram, RewardTrigger, Tier, create_program
from graph.review import Reviewer, review_referral
from graph.rewards import RewardStatus, Tally

ADMIN = Reviewer("admin", admin=True)
STORED = """
MATCH (w:Reward {referralId: $id})
RETURN w.programId AS program, w.role AS role, w.recipientId AS recipient, w.amount AS amount,
       w.unit AS unit, w.status AS status, w.clawback AS clawback, w.statusHistory AS history,
       w.statusReasons AS reasons, w.statusBy AS by
ORDER BY role
"""
OF_PROGRAM = """
MATCH (w:Reward {programId: $id})
RETURN w.role AS role, w.recipientId AS recipient, w.amount AS amount, w.status AS status,
       w.referralId AS referral
"""
SET_RISK = "MATCH (x:Referral {id: $id}) SET x.riskScore = $score"


async def program(store: Any, owner: str, **kw: Any) -> RewardProgram:
    data: dict[str, Any] = {"owner_id": owner, "name": "Programme", "unit": "GBP",
                            "trigger": RewardTrigger.CONVERTED, "referrer_amount": 25.0}
    data.update(kw)
    return await create_program(store, NewProgram(**data), manages=lambda _: True)


async def stored(store: Any, referral: str) -> list[dict[str, Any]]:
    return await store.read(STORED, id=referral)


async def of_program(store: Any, program_id: str) -> list[dict[str, Any]]:
    return await store.read(OF_PROGRAM, id=program_id)


async def accepted(make: Any, referrer: str, pro: str, referee: str | None = None) -> str:
    referee = referee or await make.customer()
    ref = await make.referral(referrer, pro, referee)
    payload = await make.status(ref, "ACCEPTED")
    assert payload["errors"] == [], payload["errors"]
    return ref


async def convert(store: Any, make: Any, ref: str, pro: str, referee: str,
                  value: float | None) -> None:
    extra = {} if value is None else {"value": value}
    job = await make.job(referee, pro, completedAt="2026-02-01T10:00:00+00:00", **extra)
    await referrals.update_status(store, ref, ReferralStatus.CONVERTED, job)


async def member_pair(make: Any) -> tuple[str, str, str]:
    """A network and two of its active members."""
    net = await make.network()
    a = await make.professional(trades=["electrical"], name="Priya Shah")
    b = await make.professional(trades=["plumbing"], name="Dave Carter")
    for pro in (a, b):
        await make.ok("add_member", networkId=net, professionalId=pro)
    return net, a, b


def minor(rows: Sequence[dict[str, Any]], role: str | None = None) -> int:
    return sum(r["amount"] for r in rows if role is None or r["role"] == role)


# ---------------------------------------------------------------- the rules, pure

def brute_tier(program: RewardProgram, n: int) -> int:
    reached = [t.referrer_amount for t in program.tiers if t.from_count <= n]
    return reached[-1] if reached else program.referrer_amount


def a_program(base: int, tiers: list[Tier], cap: int | None = None, rate: float | None = None,
              referee: int = 0, verified_only: bool = False) -> RewardProgram:
    start = timeutil.now() - timedelta(days=1)
    return RewardProgram("rpg_x", "x", "pro_x", RewardTrigger.CONVERTED, base, referee, rate,
                         "GBP", tiers, cap, verified_only, start, None, None, start)


tier_lists = st.lists(st.tuples(st.integers(1, 30), st.integers(0, 10_000)), max_size=5).map(
    lambda pairs: [Tier(f, a) for f, a in sorted({f: a for f, a in pairs}.items())])


@settings(max_examples=60, deadline=None)
@given(base=st.integers(0, 10_000), tiers=tier_lists, n=st.integers(1, 40))
def test_the_highest_tier_reached_applies(base, tiers, n):
    p = a_program(base, tiers)
    assert rewards.referrer_base(p, n) == brute_tier(p, n)


@settings(max_examples=80, deadline=None)
@given(rate=st.sampled_from([0.01, 0.05, 0.1, 0.125, 0.2, 0.333, 0.5]),
       cents=st.integers(0, 10_000_000))
def test_commission_is_the_rate_of_the_value_rounded_half_even(rate, cents):
    value = cents / 100
    exact = Fraction(repr(rate)) * Fraction(repr(value)) * 100
    floor = exact.numerator // exact.denominator
    rest = exact - floor
    expected = floor + (1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2)
                        else 0)
    assert rewards.commission(a_program(0, [], rate=rate), value) == expected


@settings(max_examples=60, deadline=None)
@given(cap=st.one_of(st.none(), st.integers(1, 6)), base=st.integers(0, 500),
       referee=st.integers(0, 500), tiers=tier_lists,
       voids=st.lists(st.booleans(), min_size=1, max_size=15))
def test_a_sequence_of_earnings_follows_caps_and_tiers(cap, base, referee, tiers, voids):
    """Earning one referral after another (some rewards voided later) gives, at each step, what
    counting the earlier non-void rewards by hand says."""
    p = a_program(base, tiers, cap=cap, referee=referee)
    made: list[tuple[int, bool]] = []  # (referrer amount, voided), in order of slot
    slots = 0
    for i, void in enumerate(voids):
        live = sum(1 for _, v in made if not v)
        got = rewards.earned(p, Tally(slots, live, live), referral_id=f"ref_{i}",
                             referrer_id="cus_a", referee_id="cus_b", verified=True,
                             job_value=None, at=timeutil.now())
        if cap is not None and live >= cap:
            assert got == []
            continue
        amount = brute_tier(p, live + 1)
        assert [(e.role.value, e.amount) for e in got] == (
            ([("REFERRER", amount)] if amount else []) + ([("REFEREE", referee)] if referee
                                                          else []))
        if amount:
            slots += 1
            assert got[0].slot == f"rpg_x|cus_a|{slots}"
            made.append((amount, void))


def test_no_earning_outside_the_window_or_unverified():
    p = a_program(100, [], verified_only=True)
    kw: dict[str, Any] = {"referral_id": "ref_1", "referrer_id": "cus_a", "referee_id": "cus_b",
                          "job_value": None}
    assert rewards.earned(p, Tally(), verified=False, at=timeutil.now(), **kw) == []
    assert len(rewards.earned(p, Tally(), verified=True, at=timeutil.now(), **kw)) == 1
    before = p.starts_at - timedelta(seconds=1)
    assert rewards.earned(p, Tally(), verified=True, at=before, **kw) == []


def test_a_month_is_a_utc_calendar_month():
    from datetime import datetime, timezone
    late = datetime(2026, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert rewards.month_of(late) == "2026-02"


# ---------------------------------------------------------------- earning on the store

async def test_two_sided_program_earns_both_sides_once(store, make):
    pro = await make.professional()
    p = await program(store, pro, name="Two-sided", referrer_amount=25, referee_amount=10)
    referrer, referee = await make.customer(), await make.customer(name="Bea Jones")
    ref = await accepted(make, referrer, pro, referee)
    assert await stored(store, ref) == []  # the trigger is CONVERTED
    await convert(store, make, ref, pro, referee, 400)
    rows = await stored(store, ref)
    assert [(r["role"], r["recipient"], r["amount"], r["unit"], r["status"]) for r in rows] == [
        ("REFEREE", referee, 1000, "GBP", "PENDING"),
        ("REFERRER", referrer, 2500, "GBP", "PENDING"),
    ]
    assert all(r["program"] == p.id and r["history"] == ["PENDING"] for r in rows)
    # The same change again is refused, and earns nothing more.
    job = await make.job(referee, pro, completedAt="2026-02-02T10:00:00+00:00")
    with pytest.raises(InvalidTransition):
        await referrals.update_status(store, ref, ReferralStatus.CONVERTED, job)
    assert len(await stored(store, ref)) == 2


async def test_concurrent_identical_changes_earn_once(store, make):
    pro = await make.professional()
    await program(store, pro, trigger=RewardTrigger.ACCEPTED, referrer_amount=3,
                  referee_amount=1)
    referrer, referee = await make.customer(), await make.customer()
    ref = await make.referral(referrer, pro, referee)
    results = await asyncio.gather(
        *(referrals.update_status(store, ref, ReferralStatus.ACCEPTED) for _ in range(6)),
        return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert all(isinstance(r, InvalidTransition) for r in results if isinstance(r, Exception))
    assert sorted(r["amount"] for r in await stored(store, ref)) == [100, 300]


async def test_tiered_network_program_with_cap_under_concurrency(store, make):
    """Base 5, 8 from the 3rd reward, 12 from the 5th, at most 4 a month: 6 referrals accepted
    at once earn 5 + 5 + 8 + 8, the other two nothing."""
    net, a, b = await member_pair(make)
    p = await program(store, net, trigger=RewardTrigger.ACCEPTED, referrer_amount=5,
                      tiers=[NewTier(3, 8), NewTier(5, 12)], monthly_cap=4)
    refs = [await make.referral(a, b, await make.customer()) for _ in range(6)]
    results = await asyncio.gather(
        *(referrals.update_status(store, r, ReferralStatus.ACCEPTED) for r in refs))
    assert [r.status for r in results] == [ReferralStatus.ACCEPTED] * 6
    rows = await of_program(store, p.id)
    assert sorted(r["amount"] for r in rows) == [500, 500, 800, 800]
    assert {r["recipient"] for r in rows} == {a} and minor(rows) == 2600
    # A voided reward gives its place back: the next referral earns the 4th live reward.
    voided = next(r for r in rows if r["amount"] == 800)
    await rewards.change_status(store, await reward_id(store, voided["referral"]),
                                RewardStatus.VOID, "admin", "duplicate job")
    ref = await accepted(make, a, b)
    assert [r["amount"] for r in await stored(store, ref)] == [800]
    # The receiving member refers back: its own tally starts at the base.
    back = await accepted(make, b, a)
    assert [(r["recipient"], r["amount"]) for r in await stored(store, back)] == [(b, 500)]


async def reward_id(store: Any, referral: str) -> str:
    rows = await store.read("MATCH (w:Reward {referralId: $id}) RETURN w.id AS id", id=referral)
    assert len(rows) == 1
    return str(rows[0]["id"])


async def test_network_programs_need_two_active_members(store, make):
    net, a, b = await member_pair(make)
    p = await program(store, net, trigger=RewardTrigger.ACCEPTED, referrer_amount=5)
    outsider = await make.professional(name="Owen Price")
    customer = await make.customer()
    for referrer, pro in ((outsider, b), (a, outsider), (customer, b)):
        assert await stored(store, await accepted(make, referrer, pro)) == []
    await make.ok("remove_member", networkId=net, professionalId=b)
    assert await stored(store, await accepted(make, a, b)) == []
    assert await of_program(store, p.id) == []


async def test_commission_under_concurrency(store, make):
    """Base 5 plus 10% of each confirmed job's value, rounded half-even to the penny."""
    pro = await make.professional()
    p = await program(store, pro, referrer_amount=5, referrer_rate=0.1)
    referrer = await make.customer()
    values = [123.45, 0.25, 0.35, 99.99, 1000, 12.05, 7.77, 250.5]
    work = []
    for value in values:
        referee = await make.customer()
        ref = await accepted(make, referrer, pro, referee)
        work.append(convert(store, make, ref, pro, referee, value))
    await asyncio.gather(*work)
    rows = await of_program(store, p.id)
    # 12.345 -> 12.34, 0.025 -> 0.02, 0.035 -> 0.04, 9.999 -> 10.00, 100, 1.205 -> 1.20,
    # 0.777 -> 0.78, 25.05: each plus the base 5.
    expected = sorted(500 + c for c in (1234, 2, 4, 1000, 10000, 120, 78, 2505))
    assert sorted(r["amount"] for r in rows) == expected
    assert minor(rows) == sum(expected) == 18943


async def test_points_program_and_totals_per_recipient(store, make):
    pro = await make.professional()
    points = await program(store, pro, trigger=RewardTrigger.ACCEPTED, unit="POINTS",
                           referrer_amount=100, referee_amount=50)
    cash = await program(store, pro, trigger=RewardTrigger.ACCEPTED, referrer_amount=0.1)
    referrer = await make.customer()
    referees = [await make.customer() for _ in range(3)]
    for referee in referees:
        await accepted(make, referrer, pro, referee)
    assert sorted(r["amount"] for r in await of_program(store, points.id)) == [50] * 3 + [100] * 3
    totals = (await rewards.totals_of_recipients(store, [referrer]))[0]
    assert [(t.unit, t.status, t.rewards, t.amount, t.shown) for t in totals] == [
        ("GBP", RewardStatus.PENDING, 3, 30, 0.3),
        ("POINTS", RewardStatus.PENDING, 3, 300, 300.0),
    ]
    assert minor(await of_program(store, cash.id)) == 30


async def test_no_rewards_when_the_referral_does_not_qualify(store, make):
    pro = await make.professional()
    verified_only = await program(store, pro, trigger=RewardTrigger.ACCEPTED,
                                  referrer_amount=5, verified_only=True)
    ended = await program(store, pro, trigger=RewardTrigger.ACCEPTED, referrer_amount=5)
    from graph.programs import end_program
    await end_program(store, ended.id)
    later = await program(store, pro, trigger=RewardTrigger.ACCEPTED, referrer_amount=5,
                          starts_at=timeutil.now() + timedelta(days=30))
    unverified = await accepted(make, await make.customer(), pro)
    # A customer who hired the professional (a confirmed job) makes a verified referral.
    hired = await make.customer()
    await make.job(hired, pro)
    verified = await accepted(make, hired, pro)
    assert [r["program"] for r in await stored(store, unverified)] == []
    assert [r["program"] for r in await stored(store, verified)] == [verified_only.id]
    assert await of_program(store, later.id) == []


async def test_confirmed_fraud_earns_nothing_and_voids_what_it_earned(store, make):
    pro = await make.professional()
    accept = await program(store, pro, trigger=RewardTrigger.ACCEPTED, referrer_amount=5)
    await program(store, pro, referrer_amount=20)
    referrer, referee = await make.customer(), await make.customer()
    ref = await accepted(make, referrer, pro, referee)
    await review_referral(store, ref, ReviewDecision.CONFIRMED_FRAUD, "bought referral", ADMIN)
    rows = await stored(store, ref)
    assert [(r["program"], r["status"]) for r in rows] == [(accept.id, "VOID")]
    assert rows[0]["history"] == ["PENDING", "VOID"] and rows[0]["by"] == ["earning", "admin"]
    await convert(store, make, ref, pro, referee, 100)
    assert len(await stored(store, ref)) == 1  # the conversion of a fraud earns nothing


async def test_risky_referrals_are_held_until_cleared(store, make):
    pro = await make.professional()
    await program(store, pro, trigger=RewardTrigger.ACCEPTED, referrer_amount=5,
                  referee_amount=2)
    ref = await make.referral(await make.customer(), pro, await make.customer())
    await store.run_write(SET_RISK, id=ref, score=store.review_threshold)
    await referrals.update_status(store, ref, ReferralStatus.ACCEPTED)
    assert {r["status"] for r in await stored(store, ref)} == {"HELD"}
    with pytest.raises(InvalidTransition, match="cleared"):
        await rewards.change_status(store, await any_reward(store, ref), RewardStatus.APPROVED,
                                    "admin")
    await review_referral(store, ref, ReviewDecision.CLEARED, None, ADMIN)
    rows = await stored(store, ref)
    assert [r["history"] for r in rows] == [["HELD", "PENDING"]] * 2
    # A cleared referral is not held again by a later refresh, nor are its new rewards.
    await rewards.refresh_holds(store, store.review_threshold)
    assert {r["status"] for r in await stored(store, ref)} == {"PENDING"}


async def any_reward(store: Any, referral: str) -> str:
    rows = await store.read("MATCH (w:Reward {referralId: $id}) RETURN w.id AS id "
                            "ORDER BY w.id LIMIT 1", id=referral)
    return str(rows[0]["id"])


async def test_risk_refresh_holds_and_releases(store, make):
    pro = await make.professional()
    await program(store, pro, trigger=RewardTrigger.ACCEPTED, referrer_amount=5)
    refs = [await accepted(make, await make.customer(), pro) for _ in range(3)]
    approved, paid = [await reward_id(store, r) for r in refs[:2]]
    await rewards.change_status(store, approved, RewardStatus.APPROVED, "admin")
    await rewards.change_status(store, paid, RewardStatus.APPROVED, "admin")
    await rewards.change_status(store, paid, RewardStatus.PAID, "admin")
    for ref in refs:
        await store.run_write(SET_RISK, id=ref, score=0.8)
    await rewards.refresh_holds(store, 0.5)
    assert [(await stored(store, r))[0]["status"] for r in refs] == ["HELD", "PAID", "HELD"]
    await store.run_write(SET_RISK, id=refs[0], score=0.2)
    await store.run_write("MATCH (x:Referral {id: $id}) REMOVE x.riskScore", id=refs[2])
    await rewards.refresh_holds(store, 0.5)
    rows = [(await stored(store, r))[0] for r in refs]
    assert [r["status"] for r in rows] == ["PENDING", "PAID", "PENDING"]
    assert rows[0]["history"] == ["PENDING", "APPROVED", "HELD", "PENDING"]
    assert rows[0]["by"][-2:] == ["risk-refresh", "risk-refresh"]


async def test_fraud_after_payment_marks_a_clawback(store, make):
    pro = await make.professional()
    await program(store, pro, trigger=RewardTrigger.ACCEPTED, referrer_amount=5)
    ref = await accepted(make, await make.customer(), pro)
    rid = await reward_id(store, ref)
    for to in (RewardStatus.APPROVED, RewardStatus.PAID):
        await rewards.change_status(store, rid, to, "admin")
    await review_referral(store, ref, ReviewDecision.CONFIRMED_FRAUD, None, ADMIN)
    row = (await stored(store, ref))[0]
    assert (row["status"], row["clawback"]) == ("PAID", True)
    with pytest.raises(InvalidTransition):
        await rewards.change_status(store, rid, RewardStatus.VOID, "admin", "fraud")
    await review_referral(store, ref, ReviewDecision.CLEARED, "a real job after all", ADMIN)
    row = (await stored(store, ref))[0]
    assert (row["status"], row["clawback"]) == ("PAID", False)
    assert row["history"] == ["PENDING", "APPROVED", "PAID", "PAID", "PAID"]


async def test_one_lifecycle_step_wins_a_race(store, make):
    pro = await make.professional()
    await program(store, pro, trigger=RewardTrigger.ACCEPTED, referrer_amount=5)
    rid = await reward_id(store, await accepted(make, await make.customer(), pro))
    results = await asyncio.gather(
        *(rewards.change_status(store, rid, RewardStatus.APPROVED, "admin") for _ in range(4)),
        rewards.change_status(store, rid, RewardStatus.VOID, "admin", "mistake"),
        return_exceptions=True)
    # The changes serialise: at most one approval wins (the others find the reward changed),
    # and the void wins only first or after that approval (VOID follows APPROVED); each
    # winner adds one step to the history, every loser is refused and adds none.
    approvals, void = results[:4], results[4]
    won = [r for r in approvals if not isinstance(r, Exception)]
    voided = not isinstance(void, Exception)
    assert len(won) <= 1 and len(won) + voided >= 1
    assert all(isinstance(r, InvalidTransition) for r in results if isinstance(r, Exception))
    reward = (await rewards.rewards_by_ids(store, [rid]))[0]
    assert reward is not None
    assert reward.status == (RewardStatus.VOID if voided else RewardStatus.APPROVED)
    assert len(reward.history) == 1 + len(won) + voided

