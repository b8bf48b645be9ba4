"""Reward programs: the incentives a professional or a network offers to referrers.

A program is ``(:RewardProgram)-[:OFFERED_BY]->(owner)``, the owner a Professional (its
programs reward referrals naming it) or a Network (referrals between two of its active
members). Amounts are kept as integer minor units of the program's unit (pence for GBP, whole
points for POINTS), so that no sum over rewards ever drifts; the API shows them as decimals.
Tiers are kept as JSON text ``[[fromCount, minorAmount], ...]``: a list of pairs is no
property type on either store, and one text value compares exactly on an idempotent repeat.

A program is active while it has not been ended and now lies in [startsAt, endsAt). Ending it
stops earning and keeps every reward already earned.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from graph import rules, timeutil
from graph.errors import NotFound, ValidationError
from graph.idempotent import create_once
from graph.ids import check_id, client_or_new_id, kind_of
from graph.models import Row
from graph.store import Store, Tx


class RewardTrigger(StrEnum):
    ACCEPTED = "ACCEPTED"
    CONVERTED = "CONVERTED"


# Known units and their decimals (ISO 4217 minor units). A unit outside this table is refused:
# an amount in an unknown unit could not be rounded to its minor unit, nor summed exactly.
UNIT_DECIMALS: dict[str, int] = {
    "AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2,
    "HKD": 2, "INR": 2, "MXN": 2, "NOK": 2, "NZD": 2, "PLN": 2, "SEK": 2, "SGD": 2, "USD": 2,
    "ZAR": 2, "ISK": 0, "JPY": 0, "KRW": 0, "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3,
    "POINTS": 0,
}
POINTS = "POINTS"
# The largest amount per reward, in units (as for job values): sums stay exact integers.
AMOUNT_MAX = rules.VALUE_MAX
RATE_MAX = 0.5
TIERS_MAX = 20

PROGRAM_MAP = """p {.id, .name, .ownerId, .trigger, .referrerAmount, .refereeAmount,
  .referrerRate, .unit, .tiers, .monthlyCap, .verifiedOnly, .startsAt, .endsAt, .endedAt,
  .createdAt}"""

PROGRAM_BY_ID = f"MATCH (p:RewardProgram {{id: $id}}) RETURN {PROGRAM_MAP} AS row"

# The owner by its label; null when it does not exist.
OWNER_EXISTS = {
    "Professional": "MATCH (o:Professional {id: $id}) RETURN o.id AS id",
    "Network": "MATCH (o:Network {id: $id}) RETURN o.id AS id",
}

CREATE_PROGRAM = {
    label: f"""
MATCH (o:{label} {{id: $ownerId}})
CREATE (p:RewardProgram {{id: $id, name: $name, ownerId: $ownerId, trigger: $trigger,
  referrerAmount: $referrerAmount, refereeAmount: $refereeAmount, referrerRate: $referrerRate,
  unit: $unit, tiers: $tiers, monthlyCap: $monthlyCap, verifiedOnly: $verifiedOnly,
  startsAt: $startsAt, endsAt: $endsAt, createdAt: $now}})-[:OFFERED_BY]->(o)
"""
    for label in OWNER_EXISTS
}

# Ending twice keeps the first end.
END_PROGRAM = """
MATCH (p:RewardProgram {id: $id})
SET p.endedAt = coalesce(p.endedAt, $now)
"""

# The programs of each owner, for Professional/Network.rewardPrograms: one round trip per batch.
PROGRAMS_OF_OWNERS = f"""
UNWIND $ids AS ownerId
MATCH (p:RewardProgram {{ownerId: ownerId}})
RETURN ownerId, {PROGRAM_MAP} AS row
ORDER BY row.id
"""


@dataclass(frozen=True)
class Tier:
    from_count: int
    referrer_amount: int  # minor units


@dataclass(frozen=True)
class RewardProgram:
    id: str
    name: str
    owner_id: str
    trigger: RewardTrigger
    referrer_amount: int  # minor units
    referee_amount: int  # minor units
    referrer_rate: float | None
    unit: str
    tiers: list[Tier]
    monthly_cap: int | None
    verified_only: bool
    starts_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> RewardProgram:
        ends = row.get("endsAt")
        ended = row.get("endedAt")
        return cls(
            id=row["id"], name=row["name"], owner_id=row["ownerId"],
            trigger=RewardTrigger(row["trigger"]),
            referrer_amount=int(row["referrerAmount"]), referee_amount=int(row["refereeAmount"]),
            referrer_rate=None if row.get("referrerRate") is None else float(row["referrerRate"]),
            unit=row["unit"],
            tiers=[Tier(int(f), int(a)) for f, a in json.loads(row.get("tiers") or "[]")],
            monthly_cap=None if row.get("monthlyCap") is None else int(row["monthlyCap"]),
            verified_only=bool(row.get("verifiedOnly")),
            starts_at=timeutil.from_store(row["startsAt"]),
            ends_at=None if ends is None else timeutil.from_store(ends),
            ended_at=None if ended is None else timeutil.from_store(ended),
            created_at=timeutil.from_store(row["createdAt"]),
        )

    @property
    def owner_kind(self) -> str:
        return kind_of(self.owner_id) or "Professional"

    def is_active(self, at: datetime | None = None) -> bool:
        at = at or timeutil.now()
        return (self.ended_at is None and self.starts_at <= at
                and (self.ends_at is None or at < self.ends_at))

    def shown(self, minor: int) -> float:
        """A minor-unit amount in units, for the API."""
        return float(Decimal(minor).scaleb(-UNIT_DECIMALS.get(self.unit, 0)))


@dataclass(frozen=True)
class NewTier:
    from_count: int
    referrer_amount: float


@dataclass(frozen=True)
class NewProgram:
    owner_id: str
    name: str
    trigger: RewardTrigger
    referrer_amount: float
    unit: str
    referee_amount: float = 0.0
    referrer_rate: float | None = None
    tiers: Sequence[NewTier] = ()
    monthly_cap: int | None = None
    verified_only: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    id: str | None = None


def owner_kind(owner_id: str, field: Sequence[str]) -> str:
    """The owner's label by its id: a professional or a network, nothing else."""
    kind = kind_of(owner_id)
    if kind not in OWNER_EXISTS:
        raise ValidationError("an owner is a professional (pro_...) or a network (net_...)",
                              field)
    return kind


def clean_unit(value: str, field: Sequence[str]) -> str:
    unit = value.strip().upper()
    if unit not in UNIT_DECIMALS:
        raise ValidationError(
            "unknown unit: an ISO 4217 currency code such as GBP, EUR, USD or JPY, or POINTS",
            field,
        )
    return unit


def to_minor(value: float, decimals: int, field: Sequence[str]) -> int:
    """``value`` in integer minor units, refused when negative, too large, or finer than the
    unit's minor unit (0.005 GBP, 1.5 POINTS).

    >>> to_minor(12.34, 2, ["a"]), to_minor(0.1, 2, ["a"]), to_minor(7.0, 0, ["a"])
    (1234, 10, 7)
    """
    if not (math.isfinite(value) and 0 <= value <= AMOUNT_MAX):
        raise ValidationError(f"an amount is a finite number from 0 to {AMOUNT_MAX:.0f}", field)
    try:
        # repr is the shortest text that reads back as the same float: what the client wrote.
        exact = Decimal(repr(float(value)))
    except InvalidOperation:  # pragma: no cover - finite floats always convert
        raise ValidationError("not an amount", field) from None
    minor = exact.scaleb(decimals)
    if minor != minor.to_integral_value():
        raise ValidationError(f"at most {decimals} decimals in this unit", field)
    return int(minor)


def _check_tiers(tiers: Sequence[NewTier], decimals: int) -> list[list[int]]:
    if len(tiers) > TIERS_MAX:
        raise ValidationError(f"at most {TIERS_MAX} tiers", ["input", "tiers"])
    cleaned: list[list[int]] = []
    previous = 0
    for i, tier in enumerate(tiers):
        field = ["input", "tiers", str(i)]
        if tier.from_count < 1:
            raise ValidationError("fromCount is at least 1", [*field, "fromCount"])
        if tier.from_count <= previous:
            raise ValidationError("tiers must be strictly ascending by fromCount",
                                  [*field, "fromCount"])
        previous = tier.from_count
        cleaned.append([tier.from_count,
                        to_minor(tier.referrer_amount, decimals, [*field, "referrerAmount"])])
    return cleaned


async def create_program(
    store: Store, data: NewProgram, manages: Callable[[str], bool]
) -> RewardProgram:
    """Checks every rule before writing. ``manages(owner_id)`` says whether the caller manages
    the owner of an existing program holding the id (only then does a CONFLICT name the
    differing fields). The caller has checked that it manages ``data.owner_id``."""
    node_id = client_or_new_id(data.id, "RewardProgram", ["input", "id"])
    kind = owner_kind(data.owner_id, ["input", "ownerId"])
    name = rules.clean_name(data.name, ["input", "name"])
    unit = clean_unit(data.unit, ["input", "unit"])
    decimals = UNIT_DECIMALS[unit]
    referrer = to_minor(data.referrer_amount, decimals, ["input", "referrerAmount"])
    referee = to_minor(data.referee_amount, decimals, ["input", "refereeAmount"])
    rate = data.referrer_rate
    if rate is not None:
        field = ["input", "referrerRate"]
        if not (math.isfinite(rate) and 0 < rate <= RATE_MAX):
            raise ValidationError(f"a commission rate is above 0 and at most {RATE_MAX}", field)
        if data.trigger is not RewardTrigger.CONVERTED:
            raise ValidationError("a commission needs trigger CONVERTED: only a converted "
                                  "referral has a job value", field)
        if unit == POINTS:
            raise ValidationError("a commission needs a currency unit, not POINTS", field)
    tiers = json.dumps(_check_tiers(data.tiers, decimals), separators=(",", ":"))
    if data.monthly_cap is not None and data.monthly_cap < 1:
        raise ValidationError("a monthly cap is at least 1, or null for none",
                              ["input", "monthlyCapPerReferrer"])
    starts = (rules.check_aware(data.starts_at, ["input", "startsAt"])
              if data.starts_at is not None else timeutil.now())
    ends = None
    if data.ends_at is not None:
        ends = rules.check_aware(data.ends_at, ["input", "endsAt"])
        if ends <= starts:
            raise ValidationError("endsAt must be after startsAt", ["input", "endsAt"])
    params = {
        "id": node_id, "name": name, "ownerId": data.owner_id, "trigger": data.trigger.value,
        "referrerAmount": referrer, "refereeAmount": referee, "referrerRate": rate,
        "unit": unit, "tiers": tiers, "monthlyCap": data.monthly_cap,
        "verifiedOnly": bool(data.verified_only), "startsAt": timeutil.to_store(starts),
        "endsAt": None if ends is None else timeutil.to_store(ends),
    }

    async def create(tx: Tx) -> None:
        # The owner is checked in the writing transaction, so a program never points nowhere.
        if await tx.one(OWNER_EXISTS[kind], id=data.owner_id) is None:
            raise NotFound(f"no {kind.lower()} {data.owner_id}", ["input", "ownerId"])
        await tx.run(CREATE_PROGRAM[kind], **params, now=timeutil.to_store(timeutil.now()))

    same = {k: v for k, v in params.items() if k != "id"}
    if data.starts_at is None:
        # A defaulted start is the time of the first create; a repeat cannot match it.
        del same["startsAt"]
    return await create_once(
        store, label="RewardProgram", node_id=node_id, read=PROGRAM_BY_ID, create=create,
        same=same, convert=RewardProgram.from_row, readable=lambda row: manages(row["ownerId"]),
        field_names={"monthlyCap": "monthlyCapPerReferrer"},
    )


async def program(store: Store, program_id: str) -> RewardProgram | None:
    if kind_of(program_id) != "RewardProgram":
        return None
    rows = await store.read(PROGRAM_BY_ID, id=program_id)
    return RewardProgram.from_row(rows[0]["row"]) if rows else None


async def end_program(store: Store, program_id: str) -> RewardProgram:
    check_id(program_id, "RewardProgram", ["id"])

    async def work(tx: Tx) -> RewardProgram:
        await tx.run(END_PROGRAM, id=program_id, now=timeutil.to_store(timeutil.now()))
        row = await tx.one(PROGRAM_BY_ID, id=program_id)
        if row is None:
            raise NotFound(f"no reward program {program_id}", ["id"])
        return RewardProgram.from_row(row["row"])

    return await store.write(work)


async def programs_of_owners(store: Store, ids: Sequence[str]) -> list[list[RewardProgram]]:
    """Each owner's programs, oldest first (ids sort by creation time)."""
    rows = await store.read(PROGRAMS_OF_OWNERS, ids=list(ids))
    grouped: dict[str, list[RewardProgram]] = {i: [] for i in ids}
    for r in rows:
        grouped[r["ownerId"]].append(RewardProgram.from_row(r["row"]))
    return [grouped[i] for i in ids]
