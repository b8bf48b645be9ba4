"""Rewards: what a referral earns under the programs that apply to it, and their lifecycle.

Earning happens inside the transaction that moves a referral to a program's trigger status
(``graph.referrals.update_status`` reads :func:`earnings` and creates them), so a status change
never commits without its rewards, nor rewards without it. A reward is a ``(:Reward)`` node that
names its program, referral and recipient by id (no relationships: a busy referral or professional
gains no edges that concurrent changes would contend for). Three unique keys make it exact:

- ``key`` = program|referral|role: one reward per (program, referral, role), whatever retries
  or concurrent changes do.
- ``slot`` = program|referrer|n on a referrer's reward, n the referrer's rewards in the program
  so far (void ones included, so n only grows) plus one. Two concurrent earnings for one
  referrer in one program read the same n and claim the same slot: the store lets one commit
  and the other is retried (``update_status``) and reads the first one's reward. That is what
  keeps tiers and monthly caps exact under concurrency on both stores.
- every lifecycle step claims ``<reward>|step|<n>`` (a ``Claim``), as referral steps do, so of two
  concurrent changes from one state only one commits.

Rules (the contract's incentives section): a professional's programs reward referrals naming it,
a network's programs referrals between two of its active members; a program earns when the
referral reaches its trigger while the program is active; not when the referral does not count
(confirmed fraud), not when the program is verified-only and the referral unverified, and
neither side's reward when the referrer already has ``monthlyCap`` non-void rewards in the
program triggered in the same calendar month (UTC). The referrer's amount is the highest tier
reached by its count of non-void rewards in the program including this one (the base amount
below the first tier), plus the commission: ``referrerRate`` times the confirmed job's value,
rounded half-even to the unit's minor unit. A referee reward is made when the referee amount is
positive, a referrer reward when its amount is.

Amounts are integer minor units (see ``graph.programs``); totals are integer sums in Cypher.

Lifecycle: PENDING -> APPROVED -> PAID by the program's owner or an admin; VOID from anything but
PAID. HELD while the referral's risk score is at or above the review threshold and no reviewer
has cleared it; back to PENDING when cleared or scored below; VOID when confirmed as fraud, and a
PAID reward is then marked ``clawback``. Every change is appended to the reward's history.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from graph import events, timeutil
from graph.errors import InvalidTransition, NotFound, ValidationError
from graph.ids import check_id, new_id
from graph.lists import ListKey, fetch_pages, newest_first
from graph.membership import MEMBER
from graph.models import Row
from graph.pagination import Page
from graph.programs import PROGRAM_MAP, UNIT_DECIMALS, RewardProgram, RewardTrigger
from graph.store import ConstraintError, Store, Tx

# Who a change was made by when no principal made it.
BY_EARNING = "earning"
BY_RISK = "risk-refresh"
# Rows per write of the risk refresh.
BATCH = 2000
# Tries of a batch step that meets a concurrent change of the same reward.
BATCH_ATTEMPTS = 5


class RewardRole(StrEnum):
    REFERRER = "REFERRER"
    REFEREE = "REFEREE"


class RewardStatus(StrEnum):
    PENDING = "PENDING"
    HELD = "HELD"
    APPROVED = "APPROVED"
    PAID = "PAID"
    VOID = "VOID"


PENDING, HELD, APPROVED, PAID, VOID = (s.value for s in RewardStatus)

def _reward_map(var: str) -> str:
    return f"""{var} {{.id, .programId, .ownerId, .referralId, .recipientId, .role, .amount, .unit,
  .status, .clawback, .createdAt, .updatedAt, .statusHistory, .statusTimes, .statusBy,
  .statusReasons}}"""


REWARD_MAP = _reward_map("w")

REWARD_BY_ID = f"MATCH (w:Reward {{id: $id}}) RETURN {REWARD_MAP} AS row"

REWARDS_BY_IDS = f"""
UNWIND $ids AS id
MATCH (w:Reward {{id: id}})
RETURN {REWARD_MAP} AS row
"""

REWARDS_OF_REFERRALS = f"""
UNWIND $ids AS referralId
MATCH (w:Reward {{referralId: referralId}})
RETURN referralId, {REWARD_MAP} AS row
ORDER BY row.id
"""

# The programs that may apply to a referral reaching $trigger: the professional's own, and those
# of each network both the referrer and the professional are active members of (a customer's
# referral matches no membership); whether each is active now is decided in Python. With each,
# the referrer's rewards in it so far: all of them (the next slot), the non-void ones (the
# tier) and the non-void ones of this month (the cap), counted in one aggregation so that the
# three agree; and the referral's risk score. One round trip, so that a change that earns costs
# little more than one that does not.
PROGRAMS_FOR_REFERRAL = f"""
MATCH (x:Referral {{id: $id}})
OPTIONAL MATCH (:Professional {{id: $referrerId}})-[:{MEMBER}]->(n:Network)
               <-[:{MEMBER}]-(:Professional {{id: $professionalId}})
WITH x, [$professionalId] + collect(n.id) AS owners
UNWIND owners AS owner
MATCH (p:RewardProgram {{ownerId: owner}})
WHERE p.trigger = $trigger AND p.endedAt IS NULL
CALL (p) {{
  OPTIONAL MATCH (w:Reward {{tally: p.id + '|' + $referrerId}})
  RETURN count(w) AS total,
         sum(CASE WHEN w.status <> 'VOID' THEN 1 ELSE 0 END) AS live,
         sum(CASE WHEN w.status <> 'VOID' AND w.month = $month THEN 1 ELSE 0 END) AS month
}}
RETURN x.riskScore AS risk, {PROGRAM_MAP} AS row, total, live, month
ORDER BY row.id
"""

CREATE_REWARDS = """
UNWIND $rows AS r
CREATE (:Reward {id: r.id, key: r.key, slot: r.slot, tally: r.tally, programId: r.programId,
  ownerId: r.ownerId, referralId: $referralId, recipientId: r.recipientId, role: r.role,
  amount: r.amount, unit: r.unit, status: r.status, clawback: false, month: $month,
  createdAt: $now, updatedAt: $now, statusHistory: [r.status], statusTimes: [$now],
  statusBy: [$by], statusReasons: [r.reason]})
"""

# One lifecycle step of many rewards: each applies only if its reward is still in the status it
# was read in, and claims its step (see the module's notes).
STEP = """
UNWIND $rows AS r
MATCH (w:Reward {id: r.id})
WHERE w.status = r.from AND size(w.statusHistory) = r.steps
CREATE (:Claim {key: r.id + '|step|' + toString(r.steps), at: $now})
SET w.status = r.to, w.clawback = r.clawback, w.updatedAt = $now,
    w.statusHistory = w.statusHistory + [r.to], w.statusTimes = w.statusTimes + [$now],
    w.statusBy = w.statusBy + [$by], w.statusReasons = w.statusReasons + [r.reason]
RETURN w.id AS id, w.referralId AS referralId, w.status AS status, w.amount AS amount,
       w.unit AS unit, w.recipientId AS recipientId, w.ownerId AS ownerId, r.from AS from
"""

# For the risk refresh: rewards to hold (their referral scores at or above the threshold, nobody
# cleared it) and rewards to release (held, and their referral no longer scores so).
TO_HOLD = """
MATCH (x:Referral)
WHERE x.riskScore >= $threshold AND x.fraud IS NULL
  AND coalesce(x.reviewDecision, '') <> 'CLEARED'
MATCH (w:Reward {referralId: x.id})
WHERE w.status IN ['PENDING', 'APPROVED']
RETURN w.id AS id, w.status AS status, size(w.statusHistory) AS steps, w.clawback AS clawback
"""
TO_RELEASE = """
MATCH (w:Reward {status: 'HELD'})
MATCH (x:Referral {id: w.referralId})
WHERE x.fraud IS NULL
  AND (x.riskScore IS NULL OR x.riskScore < $threshold OR x.reviewDecision = 'CLEARED')
RETURN w.id AS id, w.status AS status, size(w.statusHistory) AS steps, w.clawback AS clawback
"""

# Rewards of one referral, for a review decision.
OF_REFERRAL = """
MATCH (w:Reward {referralId: $id})
RETURN w.id AS id, w.status AS status, size(w.statusHistory) AS steps, w.clawback AS clawback
"""

_STATUS_FILTER = "k.status IS NULL OR x.status = k.status"
REWARDS_OF_RECIPIENTS = newest_first(
    "(x:Reward {recipientId: k.owner})", "createdAt", _reward_map("x"), _STATUS_FILTER)
REWARDS_OF_PROGRAMS = newest_first(
    "(x:Reward {programId: k.owner})", "createdAt", _reward_map("x"), _STATUS_FILTER)

# Exact totals: integer sums of minor units, per unit and status.
TOTALS_OF_RECIPIENTS = """
UNWIND $ids AS recipientId
MATCH (w:Reward {recipientId: recipientId})
RETURN recipientId, w.unit AS unit, w.status AS status, count(w) AS rewards,
       sum(w.amount) AS amount
ORDER BY unit, status
"""


@dataclass(frozen=True)
class RewardChange:
    status: RewardStatus
    at: datetime
    by: str
    reason: str | None


@dataclass(frozen=True)
class Reward:
    id: str
    program_id: str
    owner_id: str
    referral_id: str
    recipient_id: str
    role: RewardRole
    amount: int  # minor units
    unit: str
    status: RewardStatus
    clawback: bool
    created_at: datetime
    updated_at: datetime
    history: list[RewardChange]

    @classmethod
    def from_row(cls, row: Row) -> Reward:
        return cls(
            id=row["id"], program_id=row["programId"], owner_id=row["ownerId"],
            referral_id=row["referralId"], recipient_id=row["recipientId"],
            role=RewardRole(row["role"]), amount=int(row["amount"]), unit=row["unit"],
            status=RewardStatus(row["status"]), clawback=bool(row.get("clawback")),
            created_at=timeutil.from_store(row["createdAt"]),
            updated_at=timeutil.from_store(row["updatedAt"]),
            history=[
                RewardChange(RewardStatus(s), timeutil.from_store(t), b, r or None)
                for s, t, b, r in zip(row["statusHistory"], row["statusTimes"],
                                      row["statusBy"], row["statusReasons"], strict=True)
            ],
        )

    @property
    def shown(self) -> float:
        return shown(self.amount, self.unit)


@dataclass(frozen=True)
class RewardTotal:
    unit: str
    status: RewardStatus
    rewards: int
    amount: int  # minor units

    @property
    def shown(self) -> float:
        return shown(self.amount, self.unit)


def shown(minor: int, unit: str) -> float:
    """A minor-unit amount in units, for the API (exact to the unit's minor unit).

    >>> shown(1234, "GBP"), shown(7, "POINTS"), shown(1005, "KWD")
    (12.34, 7.0, 1.005)
    """
    return float(Decimal(minor).scaleb(-UNIT_DECIMALS.get(unit, 0)))


# ---------------------------------------------------------------- the rules, as pure functions

def month_of(at: datetime) -> str:
    """The calendar month (UTC) a trigger falls in, the cap's period."""
    return timeutil.to_store(at)[:7]


def referrer_base(program: RewardProgram, n: int) -> int:
    """The referrer's amount for its ``n``-th non-void reward in the program: the highest tier
    with fromCount <= n, else the base amount.

    >>> from graph.programs import Tier
    >>> p = RewardProgram("rpg_1", "x", "pro_1", RewardTrigger.ACCEPTED, 500, 0, None, "GBP",
    ...                   [Tier(3, 700), Tier(5, 1000)], None, False, timeutil.now(), None,
    ...                   None, timeutil.now())
    >>> [referrer_base(p, n) for n in range(1, 7)]
    [500, 500, 700, 700, 1000, 1000]
    """
    amount = program.referrer_amount
    for tier in program.tiers:
        if tier.from_count <= n:
            amount = tier.referrer_amount
    return amount


def commission(program: RewardProgram, job_value: float | None) -> int:
    """``referrerRate`` of the job's value in minor units, rounded half-even; 0 without a rate
    or a value. Decimal from the shortest text of each float: what the client wrote.

    >>> from graph.programs import Tier
    >>> p = RewardProgram("rpg_1", "x", "pro_1", RewardTrigger.CONVERTED, 0, 0, 0.1, "GBP",
    ...                   [], None, False, timeutil.now(), None, None, timeutil.now())
    >>> commission(p, 123.45), commission(p, 0.25), commission(p, 0.35), commission(p, None)
    (1234, 2, 4, 0)
    """
    if program.referrer_rate is None or job_value is None:
        return 0
    decimals = UNIT_DECIMALS[program.unit]
    exact = Decimal(repr(float(program.referrer_rate))) * Decimal(repr(float(job_value)))
    return int(exact.scaleb(decimals).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class Tally:
    """A referrer's rewards in one program so far (see ``PROGRAMS_FOR_REFERRAL``)."""

    total: int = 0
    live: int = 0
    month: int = 0


@dataclass(frozen=True)
class Earned:
    """A reward to create."""

    program: RewardProgram
    role: RewardRole
    recipient_id: str
    amount: int
    slot: str


def tally_key(program_id: str, referrer_id: str) -> str:
    return f"{program_id}|{referrer_id}"


def reward_key(program_id: str, referral_id: str, role: RewardRole) -> str:
    return f"{program_id}|{referral_id}|{role.value}"


def earned(
    program: RewardProgram, tally: Tally, *, referral_id: str, referrer_id: str,
    referee_id: str, verified: bool, job_value: float | None, at: datetime,
) -> list[Earned]:
    """The rewards one program gives one referral that reaches its trigger at ``at``, given the
    referrer's tally in the program: the whole rule but the referral's counting (the caller
    leaves out confirmed fraud)."""
    if not program.is_active(at):
        return []
    if program.verified_only and not verified:
        return []
    if program.monthly_cap is not None and tally.month >= program.monthly_cap:
        return []
    out = []
    amount = referrer_base(program, tally.live + 1) + commission(program, job_value)
    if amount > 0:
        out.append(Earned(program, RewardRole.REFERRER, referrer_id, amount,
                          f"{tally_key(program.id, referrer_id)}|{tally.total + 1}"))
    if program.referee_amount > 0:
        out.append(Earned(program, RewardRole.REFEREE, referee_id, program.referee_amount,
                          reward_key(program.id, referral_id, RewardRole.REFEREE)))
    return out


def held(risk: float | None, cleared: bool, threshold: float) -> bool:
    """Whether a new reward starts HELD: its referral scores at or above the threshold and no
    reviewer has cleared it."""
    return risk is not None and risk >= threshold and not cleared


# ---------------------------------------------------------------- earning

@dataclass(frozen=True)
class Trigger:
    """A referral reaching a status, as :func:`earnings` needs it."""

    referral_id: str
    referrer_id: str
    professional_id: str
    referee_id: str
    status: str
    verified: bool
    counts: bool
    cleared: bool
    job_value: float | None
    at: datetime


def create_then(read: str) -> str:
    """CREATE_REWARDS followed by ``read`` (a query of ``$id`` returning ``row``) in one
    statement: a status change that earns then costs the round trips of one that does not."""
    return f"{CREATE_REWARDS}WITH count(*) AS made\n{read}"


async def earnings(tx: Tx, trigger: Trigger, threshold: float) -> list[Row]:
    """The rewards the referral earns, read inside the status change's transaction ``tx``, as
    parameters ``rows`` of CREATE_REWARDS (see :func:`params`; empty when it earns none). A
    concurrent earning for the same referrer in the same program makes the slot's unique key
    refuse the transaction that creates them (ConstraintError): the caller retries it."""
    if trigger.status not in (t.value for t in RewardTrigger) or not trigger.counts:
        return []
    rows = await tx.run(PROGRAMS_FOR_REFERRAL, id=trigger.referral_id,
                        referrerId=trigger.referrer_id, professionalId=trigger.professional_id,
                        trigger=trigger.status, month=month_of(trigger.at))
    found = [(RewardProgram.from_row(r["row"]),
              Tally(int(r["total"]), int(r["live"]), int(r["month"]))) for r in rows]
    found = [(p, t) for p, t in found if p.is_active(trigger.at)]
    if not found:
        return []
    status = HELD if held(rows[0]["risk"], trigger.cleared, threshold) else PENDING
    reason = "risk score at or above the review threshold" if status == HELD else ""
    new = []
    for program, tally in found:
        key = tally_key(program.id, trigger.referrer_id)
        for reward in earned(program, tally, referral_id=trigger.referral_id,
                             referrer_id=trigger.referrer_id, referee_id=trigger.referee_id,
                             verified=trigger.verified, job_value=trigger.job_value,
                             at=trigger.at):
            new.append({
                "id": new_id("rwd"), "key": reward_key(program.id, trigger.referral_id,
                                                       reward.role),
                "slot": reward.slot,
                # Only a referrer's rewards are tallied; a referee's carries its own key.
                "tally": key if reward.role is RewardRole.REFERRER else reward.slot,
                "programId": program.id, "ownerId": program.owner_id,
                "recipientId": reward.recipient_id, "role": reward.role.value,
                "amount": reward.amount, "unit": program.unit, "status": status,
                "reason": reason,
            })
    return new


def params(trigger: Trigger, rows: list[Row]) -> dict[str, object]:
    """The parameters of CREATE_REWARDS (and of :func:`create_then`) for ``rows``."""
    return {"rows": rows, "referralId": trigger.referral_id, "month": month_of(trigger.at),
            "now": timeutil.to_store(trigger.at), "by": BY_EARNING}


# ---------------------------------------------------------------- lifecycle

# The moves an owner (or admin) makes, by target: the statuses it may come from.
MANUAL_FROM: dict[RewardStatus, frozenset[str]] = {
    RewardStatus.APPROVED: frozenset({PENDING}),
    RewardStatus.PAID: frozenset({APPROVED}),
    RewardStatus.VOID: frozenset({PENDING, HELD, APPROVED}),
}
REASON_MAX = 500


def _refusal(reward: Reward, to: RewardStatus) -> InvalidTransition:
    field = ["id"]
    if reward.status is RewardStatus.HELD and to is RewardStatus.APPROVED:
        return InvalidTransition("the reward is HELD: its referral must be cleared by a "
                                 "reviewer before it can be approved", field)
    allowed = sorted(s.value for s, sources in MANUAL_FROM.items()
                     if reward.status.value in sources)
    return InvalidTransition(
        f"a {reward.status.value} reward cannot become {to.value} "
        f"(allowed: {', '.join(allowed) or 'none'})", field)


def clean_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    text = reason.strip()
    if not text:
        raise ValidationError("a reason must not be empty", ["reason"])
    if len(text) > REASON_MAX:
        raise ValidationError(f"a reason has at most {REASON_MAX} characters", ["reason"])
    return text


async def change_status(
    store: Store, reward_id: str, to: RewardStatus, by: str, reason: str | None = None
) -> Reward:
    """Move a reward by hand (approve, pay, void): a typed error when the move is not allowed
    from its status, or when another change got there first."""
    check_id(reward_id, "Reward", ["id"])
    cleaned = clean_reason(reason)

    async def work(tx: Tx) -> Reward:
        row = await tx.one(REWARD_BY_ID, id=reward_id)
        if row is None:
            raise NotFound("no reward with this id", ["id"])
        reward = Reward.from_row(row["row"])
        if reward.status.value not in MANUAL_FROM[to]:
            raise _refusal(reward, to)
        step = {"id": reward.id, "from": reward.status.value, "to": to.value,
                "steps": len(reward.history), "clawback": reward.clawback,
                "reason": cleaned or ""}
        done = await _step(tx, [step], by)
        if done != 1:
            raise InvalidTransition("the reward changed meanwhile; read it again", ["id"])
        after = await tx.one(REWARD_BY_ID, id=reward_id)
        assert after is not None
        return Reward.from_row(after["row"])

    try:
        return await store.write(work)
    except ConstraintError:
        raise InvalidTransition("the reward changed meanwhile; read it again", ["id"]) from None


def _steps(rows: Sequence[Row], to: str | None, reason: str,
           clawback: bool | None = None) -> list[Row]:
    """STEP rows moving ``rows`` (id, status, steps, clawback) to ``to`` (None: status kept)."""
    return [{"id": r["id"], "from": r["status"], "to": r["status"] if to is None else to,
             "steps": r["steps"],
             "clawback": bool(r["clawback"]) if clawback is None else clawback,
             "reason": reason} for r in rows]


async def on_review(tx: Tx, referral_id: str, fraud: bool, by: str) -> None:
    """Inside a review decision's transaction: confirmed fraud voids the referral's rewards that
    are not PAID and marks PAID ones ``clawback``; a clearing releases HELD ones to PENDING and
    takes back a clawback mark."""
    rows = await tx.run(OF_REFERRAL, id=referral_id)
    if fraud:
        reason = "referral confirmed as fraud"
        steps = (_steps([r for r in rows if r["status"] in (PENDING, HELD, APPROVED)], VOID,
                        reason)
                 + _steps([r for r in rows if r["status"] == PAID and not r["clawback"]], None,
                          f"{reason}: clawback", clawback=True))
    else:
        reason = "referral cleared by a reviewer"
        steps = (_steps([r for r in rows if r["status"] == HELD], PENDING, reason)
                 + _steps([r for r in rows if r["status"] == PAID and r["clawback"]], None,
                          f"{reason}: no clawback", clawback=False))
    if steps:
        await _step(tx, steps, by)


async def _step(tx: Tx, steps: list[Row], by: str) -> int:
    """Run STEP in ``tx`` with an event for each reward whose status moved; how many moved
    or were marked."""
    at = timeutil.now()
    done = await tx.run(STEP, rows=steps, now=timeutil.to_store(at), by=by)
    await events.emit(tx, [events.reward_event(events.REWARD_STATUS_CHANGED, row, at, row["from"])
                           for row in done if row["from"] != row["status"]])
    return len(done)


async def refresh_holds(store: Store, threshold: float) -> tuple[int, int]:
    """After a risk refresh: hold PENDING and APPROVED rewards whose referral now scores at or
    above ``threshold`` (and is not cleared), release HELD ones whose referral no longer does;
    (held, released). A reward changed meanwhile by hand keeps that change: its step is left
    out of the batch and read again on the next try."""
    held_n = released = 0
    for query, to, reason in (
        (TO_HOLD, HELD, "risk score at or above the review threshold"),
        (TO_RELEASE, PENDING, "risk score below the review threshold, or cleared"),
    ):
        for attempt in range(BATCH_ATTEMPTS):
            rows = await store.read(query, threshold=threshold)
            try:
                changed = 0
                for start in range(0, len(rows), BATCH):
                    steps = _steps(rows[start : start + BATCH], to, reason)

                    async def work(tx: Tx, steps: list[Row] = steps) -> int:
                        return await _step(tx, steps, BY_RISK)

                    changed += await store.write(work)
                break
            except ConstraintError:
                if attempt == BATCH_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(random.uniform(0.05, 0.2))
        if to == HELD:
            held_n += changed
        else:
            released += changed
    return held_n, released


# ---------------------------------------------------------------- reads

async def rewards_by_ids(store: Store, ids: Sequence[str]) -> list[Reward | None]:
    rows = await store.read(REWARDS_BY_IDS, ids=list(ids))
    found = {r["row"]["id"]: Reward.from_row(r["row"]) for r in rows}
    return [found.get(i) for i in ids]


async def rewards_of_referrals(store: Store, ids: Sequence[str]) -> list[list[Reward]]:
    rows = await store.read(REWARDS_OF_REFERRALS, ids=list(ids))
    grouped: dict[str, list[Reward]] = {i: [] for i in ids}
    for r in rows:
        grouped[r["referralId"]].append(Reward.from_row(r["row"]))
    return [grouped[i] for i in ids]


def _cursor(reward: Reward) -> tuple[str, str]:
    return (timeutil.to_store(reward.created_at), reward.id)


async def reward_pages(store: Store, of: str, keys: Sequence[ListKey]) -> list[Page[Reward]]:
    """Pages of rewards newest first, of recipients (``of="recipient"``) or of programs
    (``of="program"``), one round trip for all keys; ``ListKey.status`` filters by status."""
    query = REWARDS_OF_RECIPIENTS if of == "recipient" else REWARDS_OF_PROGRAMS
    return await fetch_pages(store, query, keys, Reward.from_row, _cursor)


async def totals_of_recipients(store: Store, ids: Sequence[str]) -> list[list[RewardTotal]]:
    """Each recipient's rewards summed per unit and status, exactly (integer minor units)."""
    rows = await store.read(TOTALS_OF_RECIPIENTS, ids=list(ids))
    grouped: dict[str, list[RewardTotal]] = {i: [] for i in ids}
    for r in rows:
        grouped[r["recipientId"]].append(RewardTotal(r["unit"], RewardStatus(r["status"]),
                                                     int(r["rewards"]), int(r["amount"])))
    return [grouped[i] for i in ids]
