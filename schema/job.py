"""Job: type, input, payload and mutation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import jobs, models
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers import job as resolve
from resolvers import referral as referral_resolvers
from resolvers.context import Info
from schema.common import Connection, Node, UserError

if TYPE_CHECKING:
    from schema.customer import Customer
    from schema.professional import Professional
    from schema.referral import Referral


@strawberry.type(description="A completed piece of work: the verified service experience "
                 "behind trust.")
class Job(Node):
    id: strawberry.ID
    trade: str
    completed_at: datetime
    rating: int | None = strawberry.field(description=(
        "1..5, or null when the customer gave none. Until the customer confirms a job a "
        "professional recorded, the professional's rating; then the customer's."))
    value: float | None = strawberry.field(description="Amount paid, 0 to 1e9.")
    confirmed: bool = strawberry.field(description=(
        "True once the customer confirmed the job, or when an admin recorded it (imports, "
        "seeds). Only confirmed jobs are verified experiences: they alone make HIRED trust "
        "hops, count in reputation and co-hiring, make a referral `verified`, and let the "
        "professional see the customer's full name."))
    confirmed_at: datetime | None
    rejected: bool = strawberry.field(description="True once the customer rejected it.")
    customer_id: strawberry.Private[str]
    professional_id: strawberry.Private[str]
    referral_id: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, m: models.Job) -> Job:
        return cls(
            id=strawberry.ID(m.id), trade=m.trade, completed_at=m.completed_at, rating=m.rating,
            value=m.value, confirmed=m.confirmed, confirmed_at=m.confirmed_at,
            rejected=m.rejected, customer_id=m.customer_id, professional_id=m.professional_id,
            referral_id=m.referral_id,
        )

    @strawberry.field
    def customer(self, info: Info) -> Annotated[Customer, strawberry.lazy("schema.customer")]:
        # Not async: the party is usually in hand already (a page brought it along).
        from schema.customer import Customer

        return Customer.related_now(info, self.customer_id)  # type: ignore[return-value]

    @strawberry.field
    def professional(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        from schema.professional import Professional

        return Professional.related_now(info, self.professional_id)  # type: ignore[return-value]

    @strawberry.field(description="The referral that led to this job, if any.")
    async def referral(
        self, info: Info
    ) -> Annotated[Referral, strawberry.lazy("schema.referral")] | None:
        from schema.referral import Referral

        found = await referral_resolvers.referral(info, self.referral_id)
        return None if found is None else Referral.from_model(found)


@strawberry.type
class JobConnection(Connection[Job]):
    @classmethod
    def wrap(cls, page: Page[models.Job]) -> JobConnection:
        return cls.of(page, Job.from_model)


@strawberry.input
class RecordJobInput:
    id: strawberry.ID | None = None
    customer_id: strawberry.ID
    professional_id: strawberry.ID
    trade: str | None = strawberry.field(
        default=None,
        description="Must be one of the professional's trades; defaults to their first.",
    )
    completed_at: datetime
    rating: int | None = None
    value: float | None = None

    def domain(self) -> jobs.NewJob:
        return jobs.NewJob(
            customer_id=self.customer_id, professional_id=self.professional_id,
            completed_at=self.completed_at, trade=self.trade, rating=self.rating,
            value=self.value, id=self.id,
        )


@strawberry.type
class JobPayload:
    job: Job | None
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[models.Job]) -> JobPayload:
        j = outcome.value
        return cls(job=None if j is None else Job.from_model(j), errors=UserError.all(outcome))


@strawberry.type
class JobMutation:
    @strawberry.mutation
    async def record_job(self, info: Info, input: RecordJobInput) -> JobPayload:
        return JobPayload.of(await resolve.record_job(info, input.domain()))

    @strawberry.mutation(description=(
        "The job's customer (or an admin) confirms a job that a professional recorded, with "
        "the customer's own rating (1..5, optional); the customer's rating replaces the one "
        "the professional recorded, and only confirmed jobs' ratings count anywhere."))
    async def confirm_job(
        self, info: Info, id: strawberry.ID, rating: int | None = None
    ) -> JobPayload:
        return JobPayload.of(await resolve.confirm_job(info, id, rating))

    @strawberry.mutation(description=(
        "The job's customer (or an admin) says it did not happen: the job is kept as rejected, "
        "can never be confirmed, and counts nowhere; a referral cannot convert into it."))
    async def reject_job(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> JobPayload:
        return JobPayload.of(await resolve.reject_job(info, id, reason))
