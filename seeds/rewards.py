"""Reward programs of a data set and the rewards they earned, replayed as the live path earns them.

A seeded reward is never written by hand: :func:`replay` walks the data set's referrals in time
order (each ACCEPTED and CONVERTED entry of a referral's history, at its time) and asks
:func:`graph.rewards.earned` what each program gives, with the referrer's running tally per
program and month, exactly as ``graph.referrals.update_status`` does inside a status change:

- a professional's programs for referrals naming it, a network's programs for referrals between
  two of its members (a professional referrer; loaded memberships are active), each program
  while active at the trigger's time and for its trigger status only;
- no reward for a referral confirmed as fraud (``fraud``: before it reached its trigger; a
  later confirmation voids what it earned, see ``graph.rewards.on_review``);
- the rows carry the properties and keys of ``graph.rewards.CREATE_REWARDS`` (``key``, ``slot``,
  ``tally``, ``month``), so a live earning after the load continues the same slots and tallies.

A reward starts HELD when its referral's risk score is at or above the threshold (``risk``),
PENDING otherwise. With ``now`` given, rewards are then settled as an owner would have settled
them by that time (:func:`settle`): old ones approved and paid, some voided by hand, recent
ones pending; HELD ones stay held. A void counts from its time on: later triggers' tallies leave
it out, as the live tallies do.

>>> from graph.bulk import Dataset
>>> program = {"id": "rpg_x", "name": "Thanks", "ownerId": "pro_b", "trigger": "ACCEPTED",
...     "referrerAmount": 500, "refereeAmount": 0, "referrerRate": None, "unit": "GBP",
...     "tiers": "[[2,800]]", "monthlyCap": 2, "verifiedOnly": False,
...     "startsAt": "2026-01-01T00:00:00.000000Z", "endsAt": None,
...     "createdAt": "2026-01-01T00:00:00.000000Z"}
>>> def ref(i, day):
...     t = f"2026-03-{day:02d}T10:00:00.000000Z"
...     return {"id": f"ref_{i}", "referrerId": "cus_a", "professionalId": "pro_b",
...             "refereeId": f"cus_{i}", "verified": False, "statusHistory": ["SENT", "ACCEPTED"],
...             "statusTimes": ["2026-03-01T09:00:00.000000Z", t], "jobId": None}
>>> ds = Dataset(referrals=[ref(1, 2), ref(2, 3), ref(3, 4)], reward_programs=[program])
>>> [(w["referralId"], w["amount"], w["slot"]) for w in replay(ds, ids="rwd_t{:d}".format)]
[('ref_1', 500, 'rpg_x|cus_a|1'), ('ref_2', 800, 'rpg_x|cus_a|2')]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from graph import rewards, timeutil
from graph.bulk import Dataset, Row
from graph.models import ReferralStatus
from graph.programs import RewardProgram, RewardTrigger
from graph.rewards import APPROVED, HELD, PAID, PENDING, VOID, RewardRole, Tally

TRIGGERS = frozenset(t.value for t in RewardTrigger)
HELD_REASON = "risk score at or above the review threshold"
# How an owner settles: approval some days after the trigger, payment some weeks after.
APPROVE_AFTER = timedelta(days=5)
PAY_AFTER = timedelta(days=21)
VOID_AFTER = timedelta(days=2)
# One triggered referral in VOID_EVERY, old enough to have been looked at, is voided by hand.
VOID_EVERY = 8
VOID_REASON = "the referee was already a customer"


@dataclass(frozen=True)
class Event:
    """A referral reaching a trigger status at a time."""

    at: datetime
    referral: Row
    status: str


def events(referrals: Sequence[Row]) -> list[Event]:
    """Each referral's ACCEPTED and CONVERTED entries, oldest first (then by referral id).

    >>> r = {"id": "ref_1", "statusHistory": ["SENT", "ACCEPTED", "CONVERTED"],
    ...      "statusTimes": ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z",
    ...                      "2026-01-09T00:00:00Z"]}
    >>> [(e.status, e.at.day) for e in events([r])]
    [('ACCEPTED', 2), ('CONVERTED', 9)]
    """
    out = [
        Event(timeutil.from_store(t), r, s)
        for r in referrals
        for s, t in zip(r["statusHistory"], r["statusTimes"], strict=True)
        if s in TRIGGERS
    ]
    out.sort(key=lambda e: (e.at, e.referral["id"], e.status))
    return out


def _manager(program: RewardProgram) -> str:
    """Who settles a program's rewards by hand: its owning professional, else an admin."""
    return program.owner_id if program.owner_kind == "Professional" else "admin"


@dataclass
class _Kept:
    """A referrer's reward as its tallies see it: its month, and when it was voided."""

    month: str
    void_at: datetime | None = None

    def live(self, at: datetime) -> bool:
        return self.void_at is None or self.void_at > at


def replay(
    data: Dataset,
    *,
    ids: Callable[[int], str],
    fraud: Collection[str] = frozenset(),
    risk: Mapping[str, float] | None = None,
    cleared: Collection[str] = frozenset(),
    threshold: float = 0.5,
    now: datetime | None = None,
    manager: Callable[[RewardProgram], str] = _manager,
) -> list[Row]:
    """The reward rows ``data.reward_programs`` earned on ``data.referrals``, in creation
    order, ids from ``ids(n)`` (1-based); settled by ``now`` when it is given (see the module)."""
    programs = sorted((RewardProgram.from_row(p) for p in data.reward_programs),
                      key=lambda p: p.id)
    by_owner: dict[str, list[RewardProgram]] = defaultdict(list)
    for p in programs:
        by_owner[p.owner_id].append(p)
    networks_of: dict[str, set[str]] = defaultdict(set)
    for m in data.memberships:
        networks_of[m["professionalId"]].add(m["networkId"])
    job_value = {j["id"]: j.get("value") for j in data.jobs}
    risk = risk or {}
    kept: dict[str, list[_Kept]] = defaultdict(list)  # tally key -> the referrer's rewards
    triggered: dict[str, int] = defaultdict(int)  # program -> referrals that earned in it
    out: list[Row] = []
    for event in events(data.referrals):
        r = event.referral
        if r["id"] in fraud:
            continue
        referrer, professional = r["referrerId"], r["professionalId"]
        shared = sorted(networks_of[referrer] & networks_of[professional])
        applicable = [p for owner in [professional, *shared] for p in by_owner.get(owner, ())
                      if p.trigger.value == event.status]
        applicable.sort(key=lambda p: p.id)
        month = rewards.month_of(event.at)
        value = job_value.get(r.get("jobId")) if event.status == ReferralStatus.CONVERTED else None
        held = rewards.held(risk.get(r["id"]), r["id"] in cleared, threshold)
        for program in applicable:
            key = rewards.tally_key(program.id, referrer)
            mine = kept[key]
            tally = Tally(total=len(mine), live=sum(k.live(event.at) for k in mine),
                          month=sum(k.live(event.at) and k.month == month for k in mine))
            earned = rewards.earned(
                program, tally, referral_id=r["id"], referrer_id=referrer,
                referee_id=r["refereeId"], verified=bool(r["verified"]),
                job_value=None if value is None else float(value), at=event.at)
            if not earned:
                continue
            triggered[program.id] += 1
            steps = _settlement(program, triggered[program.id], event.at, held, now, manager)
            void_at = next((at for status, at, _, _ in steps if status == VOID), None)
            for reward in earned:
                if reward.role is RewardRole.REFERRER:
                    mine.append(_Kept(month, void_at))
                out.append(_row(ids(len(out) + 1), program, r["id"], reward, key, month, steps))
    return out


Step = tuple[str, datetime, str, str]  # (status, at, by, reason)


def _settlement(program: RewardProgram, n: int, at: datetime, held: bool,
                now: datetime | None, manager: Callable[[RewardProgram], str]) -> list[Step]:
    """The history of the rewards of a program's ``n``-th triggered referral, from ``at``."""
    if held:
        return [(HELD, at, rewards.BY_EARNING, HELD_REASON)]
    steps: list[Step] = [(PENDING, at, rewards.BY_EARNING, "")]
    if now is None:
        return steps
    by = manager(program)
    if n % VOID_EVERY == VOID_EVERY // 2 and at + VOID_AFTER <= now - timedelta(days=30):
        return [*steps, (VOID, at + VOID_AFTER, by, VOID_REASON)]
    if at + APPROVE_AFTER <= now:
        steps.append((APPROVED, at + APPROVE_AFTER, by, ""))
        if at + PAY_AFTER <= now:
            steps.append((PAID, at + PAY_AFTER, by, ""))
    return steps


def _row(node_id: str, program: RewardProgram, referral_id: str, reward: rewards.Earned,
         tally: str, month: str, steps: list[Step]) -> Row:
    """A reward as ``CREATE_REWARDS`` writes it, then moved along ``steps`` as ``STEP`` does."""
    times = [timeutil.to_store(at) for _, at, _, _ in steps]
    return {
        "id": node_id, "key": rewards.reward_key(program.id, referral_id, reward.role),
        "slot": reward.slot,
        "tally": tally if reward.role is RewardRole.REFERRER else reward.slot,
        "programId": program.id, "ownerId": program.owner_id, "referralId": referral_id,
        "recipientId": reward.recipient_id, "role": reward.role.value, "amount": reward.amount,
        "unit": program.unit, "status": steps[-1][0], "clawback": False, "month": month,
        "createdAt": times[0], "updatedAt": times[-1],
        "statusHistory": [s for s, _, _, _ in steps], "statusTimes": times,
        "statusBy": [b for _, _, b, _ in steps], "statusReasons": [x for _, _, _, x in steps],
    }


# ---------------------------------------------------------------- programs for the synthetic set

def program_row(
    program_id: str, name: str, owner_id: str, trigger: str, referrer: int, *,
    unit: str = "GBP", referee: int = 0, rate: float | None = None,
    tiers: Sequence[tuple[int, int]] = (), cap: int | None = None, verified_only: bool = False,
    starts: datetime, ends: datetime | None = None,
) -> Row:
    """A program as ``graph.programs.CREATE_PROGRAM`` writes it (amounts in minor units)."""
    text = "[" + ",".join(f"[{f},{a}]" for f, a in tiers) + "]"
    started = timeutil.to_store(starts)
    return {
        "id": program_id, "name": name, "ownerId": owner_id, "trigger": trigger,
        "referrerAmount": referrer, "refereeAmount": referee, "referrerRate": rate,
        "unit": unit, "tiers": text, "monthlyCap": cap, "verifiedOnly": verified_only,
        "startsAt": started, "endsAt": None if ends is None else timeutil.to_store(ends),
        "createdAt": started,
    }


def _busiest(counts: Mapping[str, int]) -> Iterator[str]:
    yield from sorted(counts, key=lambda k: (-counts[k], k))


def synthetic_programs(data: Dataset, count: int, seed: int, now: datetime) -> list[Row]:
    """``count`` programs over a synthetic data set, cycling through the kinds the rules know:
    two-sided, a tiered network program with a monthly cap, a commission, points, a
    verified-only one, a campaign with a window, and a network program with everything (tiers,
    a commission and a cap). Owners are the professionals that receive the most referrals and
    the networks with the most referrals between their members, so the programs earn."""
    received: dict[str, int] = defaultdict(int)
    for r in data.referrals:
        received[r["professionalId"]] += 1
    networks_of: dict[str, set[str]] = defaultdict(set)
    for m in data.memberships:
        networks_of[m["professionalId"]].add(m["networkId"])
    inside: dict[str, int] = dict.fromkeys(sorted({m["networkId"] for m in data.memberships}), 0)
    for r in data.referrals:
        for n in networks_of.get(r["referrerId"], set()) & networks_of[r["professionalId"]]:
            inside[n] += 1
    pros, nets = _busiest(received), _busiest(inside)
    year = timedelta(days=365)
    rows: list[Row] = []
    for i in range(count):
        kind = i % 7
        pid = f"rpg_s{seed}_{i + 1:05d}"
        owner = next(nets, None) if kind in (1, 6) else None
        owner = owner or next(pros, None)
        if owner is None:
            break
        starts = now - 2 * year
        if kind == 0:
            row = program_row(pid, "Two-sided thanks", owner, "CONVERTED", 2500, referee=1000,
                              starts=starts)
        elif kind == 1:
            row = program_row(pid, "Network tiers", owner, "ACCEPTED", 500,
                              tiers=((3, 800), (6, 1200)), cap=4, starts=starts)
        elif kind == 2:
            row = program_row(pid, "Affiliate commission", owner, "CONVERTED", 0, rate=0.05,
                              starts=starts)
        elif kind == 3:
            row = program_row(pid, "Loyalty points", owner, "ACCEPTED", 100, unit="POINTS",
                              referee=50, starts=starts)
        elif kind == 4:
            row = program_row(pid, "Verified customers only", owner, "CONVERTED", 1500,
                              verified_only=True, starts=starts)
        elif kind == 5:
            row = program_row(pid, "Spring campaign", owner, "ACCEPTED", 1000,
                              starts=now - year, ends=now - year + timedelta(days=90))
        else:
            row = program_row(pid, "Network partners", owner, "CONVERTED", 1000, rate=0.02,
                              tiers=((5, 1500), (10, 2000)), cap=6, starts=starts)
        rows.append(row)
    return rows


def with_programs(data: Dataset, count: int, seed: int, now: datetime) -> Dataset:
    """``data`` with ``count`` synthetic programs and their replayed, settled rewards (no risk
    is known before the first analytics refresh: that refresh holds what it finds risky)."""
    if count <= 0:
        return data
    data.reward_programs = synthetic_programs(data, count, seed, now)
    data.rewards = replay(data, ids=f"rwd_s{seed}_{{:07d}}".format, now=now)
    return data

