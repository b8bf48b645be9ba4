"""Plain records of the graph, as the layers above ``graph/`` see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from graph.timeutil import from_store

Row = dict[str, Any]


class ReferralStatus(StrEnum):
    SENT = "SENT"
    ACCEPTED = "ACCEPTED"
    CONVERTED = "CONVERTED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"


class ReferralChannel(StrEnum):
    DIRECT = "DIRECT"
    CODE = "CODE"


@dataclass(frozen=True)
class ReferralCode:
    """A shareable code standing for (referrer, professional); ``uses`` counts the referrals
    made from it that count (confirmed fraud left out)."""

    code: str
    referrer_id: str
    professional_id: str
    uses: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> ReferralCode:
        return cls(code=row["code"], referrer_id=row["referrerId"],
                   professional_id=row["professionalId"], uses=int(row["uses"]),
                   created_at=from_store(row["createdAt"]))


OPEN_STATUSES = frozenset({ReferralStatus.SENT, ReferralStatus.ACCEPTED})

# The referral lifecycle: which status may follow which. Final statuses have no successor.
TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.SENT: frozenset(
        {ReferralStatus.ACCEPTED, ReferralStatus.DECLINED, ReferralStatus.EXPIRED}
    ),
    ReferralStatus.ACCEPTED: frozenset(
        {ReferralStatus.CONVERTED, ReferralStatus.DECLINED, ReferralStatus.EXPIRED}
    ),
    ReferralStatus.CONVERTED: frozenset(),
    ReferralStatus.DECLINED: frozenset(),
    ReferralStatus.EXPIRED: frozenset(),
}


@dataclass(frozen=True)
class Professional:
    id: str
    name: str
    trades: list[str]
    area: str | None
    created_at: datetime
    reputation: float = 0.0  # stored by the analytics batch; 0 until it has run

    @classmethod
    def from_row(cls, row: Row) -> Professional:
        return cls(
            id=row["id"],
            name=row["name"],
            trades=list(row["trades"]),
            area=row.get("area"),
            created_at=from_store(row["createdAt"]),
            reputation=float(row.get("reputation") or 0.0),
        )


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    area: str | None
    created_at: datetime
    erased: bool = False

    @classmethod
    def from_row(cls, row: Row) -> Customer:
        return cls(
            id=row["id"],
            name=row["name"],
            area=row.get("area"),
            created_at=from_store(row["createdAt"]),
            erased=bool(row.get("erased")),
        )


@dataclass(frozen=True)
class Job:
    id: str
    customer_id: str
    professional_id: str
    trade: str
    completed_at: datetime
    rating: int | None
    value: float | None
    referral_id: str | None
    confirmed: bool = False
    confirmed_at: datetime | None = None
    rejected: bool = False
    # The customer and the professional, when the query that read the job brought them along.
    parties: tuple[Customer | Professional, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def from_row(cls, row: Row) -> Job:
        confirmed_at = row.get("confirmedAt")
        return cls(
            id=row["id"],
            customer_id=row["customerId"],
            professional_id=row["professionalId"],
            trade=row["trade"],
            completed_at=from_store(row["completedAt"]),
            rating=row.get("rating"),
            value=row.get("value"),
            referral_id=row.get("referralId"),
            confirmed=bool(row.get("confirmed")),
            confirmed_at=None if confirmed_at is None else from_store(confirmed_at),
            rejected=bool(row.get("rejected")),
            parties=parties_from_rows(row.get("parties")),
        )


@dataclass(frozen=True)
class StatusChange:
    status: ReferralStatus
    at: datetime


class ReviewDecision(StrEnum):
    CLEARED = "CLEARED"
    CONFIRMED_FRAUD = "CONFIRMED_FRAUD"


@dataclass(frozen=True)
class Review:
    """A reviewer's current decision on a referral (see ``graph.review``)."""

    decision: ReviewDecision
    note: str | None
    at: datetime
    by: str

    @classmethod
    def from_row(cls, row: Row) -> Review | None:
        if row.get("reviewDecision") is None:
            return None
        return cls(ReviewDecision(row["reviewDecision"]), row.get("reviewNote"),
                   from_store(row["reviewAt"]), str(row["reviewBy"]))


@dataclass(frozen=True)
class Referral:
    id: str
    referrer_id: str
    professional_id: str
    referee_id: str
    status: ReferralStatus
    verified: bool
    note: str | None
    created_at: datetime
    updated_at: datetime
    history: list[StatusChange]
    job_id: str | None
    # Referrer, professional and referee, when the query that read it brought them along.
    parties: tuple[Customer | Professional, ...] = field(default=(), compare=False, repr=False)
    review: Review | None = None
    # False once confirmed as fraud: the referral then counts nowhere.
    counts: bool = True
    # How it was made; referrals from before codes existed were all DIRECT.
    channel: ReferralChannel = ReferralChannel.DIRECT

    @classmethod
    def from_row(cls, row: Row) -> Referral:
        return cls(
            id=row["id"],
            referrer_id=row["referrerId"],
            professional_id=row["professionalId"],
            referee_id=row["refereeId"],
            status=ReferralStatus(row["status"]),
            verified=bool(row["verified"]),
            note=row.get("note"),
            created_at=from_store(row["createdAt"]),
            updated_at=from_store(row["updatedAt"]),
            history=[
                StatusChange(ReferralStatus(s), from_store(t))
                for s, t in zip(row["statusHistory"], row["statusTimes"], strict=True)
            ],
            job_id=row.get("jobId"),
            parties=parties_from_rows(row.get("parties")),
            review=Review.from_row(row),
            counts=row.get("fraud") is None,
            channel=ReferralChannel(row.get("channel") or "DIRECT"),
        )


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Network:
        return cls(id=row["id"], name=row["name"], created_at=from_store(row["createdAt"]))


def parties_from_rows(rows: list[Row | None] | None) -> tuple[Customer | Professional, ...]:
    """Customers and professionals from party maps (see ``graph.lists.PARTY_MAP``)."""
    out: list[Customer | Professional] = []
    for row in rows or ():
        if row is not None:
            kind = Professional if row["id"].startswith("pro_") else Customer
            out.append(kind.from_row(row))
    return tuple(out)
