"""Integrity: risk assessments, reviews of referrals, and the list of risky professionals."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import models, risk
from resolvers import integrity as resolve
from resolvers.context import Info

if TYPE_CHECKING:
    from schema.professional import ProfessionalConnection
    from schema.referral import Party, ReferralPayload


@strawberry.enum(description="Patterns of fake or collusive referral activity, found from the "
                 "graph's structure and timing.")
class RiskSignal(Enum):
    RING = strawberry.enum_value("RING", description=(
        "Professionals referring each other around a closed loop of three or more, with little "
        "business outside it."))
    RECIPROCAL_ONLY = strawberry.enum_value("RECIPROCAL_ONLY", description=(
        "Two professionals who refer almost only each other, in volume."))
    HOLLOW_REFEREES = strawberry.enum_value("HOLLOW_REFEREES", description=(
        "Referees with no life of their own: no confirmed job, no other referral, created just "
        "before."))
    BURST = strawberry.enum_value("BURST", description=(
        "Many referrals in a short time, far above the referrer's own history and its peers'."))
    NO_OUTCOMES = strawberry.enum_value("NO_OUTCOMES", description=(
        "Referrals that almost never lead to a confirmed job, far below what is usual for the "
        "professional's trades."))


strawberry.enum(models.ReviewDecision, name="ReviewDecision")
ReviewDecision = models.ReviewDecision


@strawberry.type
class RiskFinding:
    signal: RiskSignal
    strength: float = strawberry.field(description="In (0, 1]: how strongly the signal is "
                                       "present.")
    explanation: str = strawberry.field(description="A sentence a reviewer can check, with "
                                        "counts and time spans.")
    model: strawberry.Private[risk.Finding]

    @classmethod
    def of(cls, f: risk.Finding) -> RiskFinding:
        return cls(signal=RiskSignal(f.signal), strength=f.strength, explanation=f.explanation,
                   model=f)

    @strawberry.field(description="Other parties involved (ring members, hollow referees), at "
                      "most 20.")
    async def involved(
        self, info: Info
    ) -> list[Annotated[Party, strawberry.lazy("schema.referral")]]:
        from schema.referral import party_of

        return [party_of(p) for p in await resolve.involved(info, self.model.involved)]


@strawberry.type
class RiskAssessment:
    score: float = strawberry.field(description="In [0, 1]; 0 means nothing suspicious was "
                                    "found.")
    findings: list[RiskFinding]
    assessed_at: datetime | None = strawberry.field(description=(
        "When the batch that produced it ran (risk is computed with the analytics refresh); "
        "null before the first run."))

    @classmethod
    def of(cls, a: risk.Assessment) -> RiskAssessment:
        return cls(score=a.score, findings=[RiskFinding.of(f) for f in a.findings],
                   assessed_at=a.assessed_at)


@strawberry.type
class Review:
    decision: ReviewDecision
    note: str | None
    at: datetime
    by: str = strawberry.field(description="The reviewer's principal (the token's subject or "
                               "role), for the audit trail.")

    @classmethod
    def of(cls, r: models.Review) -> Review:
        return cls(decision=r.decision, note=r.note, at=r.at, by=r.by)


@strawberry.input
class ReviewReferralInput:
    id: strawberry.ID
    decision: ReviewDecision
    note: str | None = strawberry.field(default=None, description=(
        "Up to 2000 characters; blank means none."))


@strawberry.type
class IntegrityQuery:
    @strawberry.field(description="Professionals with risk score >= minScore, highest first "
                      "(admins; organisers: active members of their networks only).")
    async def risky_professionals(
        self, info: Info, min_score: float | None = 0.5, network_id: strawberry.ID | None = None,
        first: int | None = 20, after: str | None = None,
    ) -> Annotated[ProfessionalConnection, strawberry.lazy("schema.professional")]:
        from schema.professional import ProfessionalConnection

        return ProfessionalConnection.wrap(await resolve.risky_professionals(
            info, min_score, network_id, first, after))


@strawberry.type
class IntegrityMutation:
    @strawberry.mutation(description="A reviewer's decision on a referral (admins; organisers "
                         "for referrals between active members of their networks).")
    async def review_referral(
        self, info: Info, input: ReviewReferralInput
    ) -> Annotated[ReferralPayload, strawberry.lazy("schema.referral")]:
        from schema.referral import ReferralPayload

        return ReferralPayload.of(await resolve.review_referral(
            info, input.id, input.decision, input.note))
