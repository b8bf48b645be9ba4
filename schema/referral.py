"""Referral: type, status enum, inputs, payload, queries and mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import models, referrals
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers import parties
from resolvers import referral as resolve
from resolvers.context import Info
from schema.common import Connection, Node, UserError

if TYPE_CHECKING:
    from schema.customer import Customer
    from schema.integrity import Review, RiskAssessment
    from schema.job import Job
    from schema.professional import Professional
    from schema.rewards import Reward

strawberry.enum(models.ReferralStatus, name="ReferralStatus")
ReferralStatus = models.ReferralStatus
strawberry.enum(models.ReferralChannel, name="ReferralChannel")
ReferralChannel = models.ReferralChannel

Party = Annotated[
    Annotated["Customer", strawberry.lazy("schema.customer")]
    | Annotated["Professional", strawberry.lazy("schema.professional")],
    strawberry.union("Party"),
]


def party_of(m: models.Customer | models.Professional) -> Customer | Professional:
    """The schema type of a party: a customer or a professional."""
    from schema.customer import Customer
    from schema.professional import Professional

    if isinstance(m, models.Customer):
        return Customer.from_model(m)
    return Professional.from_model(m)


@strawberry.type
class ReferralStatusChange:
    status: ReferralStatus
    at: datetime



async def _party(info: Info, party_id: str) -> Customer | Professional:
    return party_of(await parties.party(info, party_id))

@strawberry.type(description="A referrer recommends a professional to a referee.")
class Referral(Node):
    id: strawberry.ID
    status: ReferralStatus
    verified: bool = strawberry.field(
        description="True when the referrer had a recorded job with the professional when the "
        "referral was made."
    )
    created_at: datetime
    updated_at: datetime
    history: list[ReferralStatusChange] = strawberry.field(
        description="Every status the referral has had, oldest first, starting with SENT."
    )
    model: strawberry.Private[models.Referral]

    @classmethod
    def from_model(cls, m: models.Referral) -> Referral:
        return cls(
            id=strawberry.ID(m.id), status=m.status, verified=m.verified,
            created_at=m.created_at, updated_at=m.updated_at,
            history=[ReferralStatusChange(status=h.status, at=h.at) for h in m.history],
            model=m,
        )

    @strawberry.field(description="The referrer's note; only the referral's own parties (and "
                      "admins) read it, not those who meet the referral in a chain.")
    async def note(self, info: Info) -> str | None:
        return resolve.note(info, self.model)

    @strawberry.field
    def referrer(self, info: Info) -> Party:
        # Not async: the party is usually in hand already (a page brought it along).
        found = parties.in_hand(info, self.model.referrer_id)
        if found is not None:
            return party_of(found)
        return _party(info, self.model.referrer_id)  # type: ignore[return-value]

    @strawberry.field
    def professional(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        from schema.professional import Professional

        return Professional.related_now(info, self.model.professional_id)  # type: ignore[return-value]

    @strawberry.field
    def referee(self, info: Info) -> Annotated[Customer, strawberry.lazy("schema.customer")]:
        from schema.customer import Customer

        return Customer.related_now(info, self.model.referee_id)  # type: ignore[return-value]

    @strawberry.field(description="The job it converted into (set when status is CONVERTED); "
                      "null for viewers who may not read the job.")
    async def job(self, info: Info) -> Annotated[Job, strawberry.lazy("schema.job")] | None:
        # For those who may read the job (its customer and professional, admins); null for
        # others, such as the referrer.
        from schema.job import Job

        found = await parties.readable_job(info, self.model.job_id)
        return None if found is None else Job.from_model(found)

    @strawberry.field(description="Who referred whom before this referral: the upstream "
                      "referrals to the same professional, nearest first.")
    async def chain(self, info: Info) -> list[Referral]:
        return [Referral.from_model(r) for r in await resolve.chain(info, self.model)]

    @strawberry.field(description="Admins, and organisers of networks its professional is an "
                      "active member of, only.")
    async def risk(
        self, info: Info
    ) -> Annotated[RiskAssessment, strawberry.lazy("schema.integrity")]:
        from resolvers import integrity
        from schema.integrity import RiskAssessment

        return RiskAssessment.of(await integrity.referral_risk(info, self.model))

    @strawberry.field(description="The current decision on it, for those who may read its risk "
                      "(null for everyone else, and before any decision).")
    async def review(
        self, info: Info
    ) -> Annotated[Review, strawberry.lazy("schema.integrity")] | None:
        from resolvers import integrity
        from schema.integrity import Review

        found = await integrity.referral_review(info, self.model)
        return None if found is None else Review.of(found)

    @strawberry.field(description="False once confirmed as fraud: it then counts nowhere "
                      "(trust, reputation, co-hiring through the job it converted into, "
                      "reciprocity, funnels, leaderboards, DUPLICATE checks); it stays listed, "
                      "with counts false, for parties who may read it. Its rewards become VOID, "
                      "except PAID ones, which stay PAID and are marked for clawback.")
    def counts(self) -> bool:
        return self.model.counts

    @strawberry.field(description="CODE when made by redeeming a referral code, else DIRECT.")
    def channel(self) -> ReferralChannel:
        return self.model.channel

    @strawberry.field(description="The rewards it earned that the viewer may read: its "
                      "recipients their own, the program's owner (the professional itself, "
                      "organisers of the owning network) and admins the program's.")
    async def rewards(
        self, info: Info
    ) -> list[Annotated[Reward, strawberry.lazy("schema.rewards")]]:
        from resolvers import rewards
        from schema.rewards import rewards_field

        return rewards_field(await rewards.of_referral(info, self.model))


@strawberry.type
class ReferralConnection(Connection[Referral]):
    @classmethod
    def wrap(cls, page: Page[models.Referral]) -> ReferralConnection:
        return cls.of(page, Referral.from_model)


@strawberry.input
class CreateReferralInput:
    id: strawberry.ID | None = None
    referrer_id: strawberry.ID = strawberry.field(description="A Customer or Professional id.")
    professional_id: strawberry.ID
    referee_id: strawberry.ID
    note: str | None = None

    def domain(self) -> referrals.NewReferral:
        return referrals.NewReferral(
            referrer_id=self.referrer_id, professional_id=self.professional_id,
            referee_id=self.referee_id, note=self.note, id=self.id,
        )


@strawberry.input
class UpdateReferralStatusInput:
    id: strawberry.ID
    status: ReferralStatus
    job_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Required for CONVERTED: a job of the referee with the professional.",
    )


@strawberry.type
class ReferralPayload:
    referral: Referral | None
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[models.Referral]) -> ReferralPayload:
        r = outcome.value
        return cls(referral=None if r is None else Referral.from_model(r),
                   errors=UserError.all(outcome))


@strawberry.type
class ReferralQuery:
    @strawberry.field
    async def referral(self, info: Info, id: strawberry.ID) -> Referral | None:
        found = await resolve.referral(info, id)
        return None if found is None else Referral.from_model(found)

    @strawberry.field
    async def referrals(
        self,
        info: Info,
        status: ReferralStatus | None = None,
        professional_id: strawberry.ID | None = None,
        referrer_id: strawberry.ID | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> ReferralConnection:
        return ReferralConnection.wrap(await resolve.list_referrals(
            info, status, professional_id, referrer_id, first, after
        ))


@strawberry.type
class ReferralMutation:
    @strawberry.mutation
    async def create_referral(self, info: Info, input: CreateReferralInput) -> ReferralPayload:
        return ReferralPayload.of(await resolve.create_referral(info, input.domain()))

    @strawberry.mutation
    async def update_referral_status(
        self, info: Info, input: UpdateReferralStatusInput
    ) -> ReferralPayload:
        return ReferralPayload.of(await resolve.update_referral_status(
            info, input.id, input.status, input.job_id))
