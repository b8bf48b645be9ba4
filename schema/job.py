"""Job: type, input, payload and mutation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import models
from resolvers import job as resolve
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
    rating: int | None = strawberry.field(description="1..5, or null when the customer gave none.")
    value: float | None = strawberry.field(description="Amount paid, 0 to 1e9.")
    customer_id: strawberry.Private[str]
    professional_id: strawberry.Private[str]
    referral_id: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, m: models.Job) -> Job:
        return cls(
            id=strawberry.ID(m.id), trade=m.trade, completed_at=m.completed_at, rating=m.rating,
            value=m.value, customer_id=m.customer_id, professional_id=m.professional_id,
            referral_id=m.referral_id,
        )

    @strawberry.field
    async def customer(self, info: Info) -> Annotated[Customer, strawberry.lazy("schema.customer")]:
        return await resolve.customer(info, self.customer_id)

    @strawberry.field
    async def professional(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        return await resolve.professional(info, self.professional_id)

    @strawberry.field(description="The referral that led to this job, if any.")
    async def referral(
        self, info: Info
    ) -> Annotated[Referral, strawberry.lazy("schema.referral")] | None:
        return await resolve.referral(info, self.referral_id)


@strawberry.type
class JobConnection(Connection[Job]):
    pass


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


@strawberry.type
class JobPayload:
    job: Job | None
    errors: list[UserError]


@strawberry.type
class JobMutation:
    @strawberry.mutation
    async def record_job(self, info: Info, input: RecordJobInput) -> JobPayload:
        return await resolve.record_job(info, input)
