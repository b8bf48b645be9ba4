"""Customer: type, inputs, payload, queries and mutations."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import customers, models
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers import customer as resolve
from resolvers import parties
from resolvers.context import Info
from schema.common import Connection, DeletePayload, Node, UserError

if TYPE_CHECKING:
    from schema.job import JobConnection
    from schema.referral import ReferralConnection
    from schema.rewards import RewardConnection, RewardStatus, RewardTotal
    from schema.trust import TrustedProfessional


@strawberry.type
class Customer(Node):
    id: strawberry.ID
    created_at: datetime
    model: strawberry.Private[models.Customer]

    @classmethod
    def from_model(cls, m: models.Customer) -> Customer:
        return cls(id=strawberry.ID(m.id), created_at=m.created_at, model=m)

    @classmethod
    async def related(cls, info: Info, customer_id: str) -> Customer:
        """The customer another object names (a job, a referral)."""
        return cls.from_model(await parties.customer(info, customer_id))

    @classmethod
    def related_now(cls, info: Info, customer_id: str) -> Customer | Awaitable[Customer]:
        """Like ``related``, at once when the request already holds the customer (GraphQL awaits
        what a field returns only when it is awaitable)."""
        found = parties.in_hand(info, customer_id)
        if isinstance(found, models.Customer):
            return cls.from_model(found)
        return cls.related(info, customer_id)

    @strawberry.field(
        description="The full name for the customer itself, admins and professionals it hired; "
        "the display name for everyone else."
    )
    async def name(self, info: Info) -> str:
        return await resolve.name(info, self.model)

    @strawberry.field(description="Only for the customer itself, admins and professionals it "
                      "hired; null for everyone else.")
    async def area(self, info: Info) -> str | None:
        return await resolve.area(info, self.model)

    @strawberry.field(
        description='First name and the initial of the last name, e.g. "Alice W.": what parties '
        "other than the customer, admins and professionals it hired see."
    )
    def display_name(self) -> str:
        return resolve.display_name(self.model)

    @strawberry.field
    async def jobs(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Annotated[JobConnection, strawberry.lazy("schema.job")]:
        from schema.job import JobConnection

        return JobConnection.wrap(await resolve.jobs(info, self.id, first, after))

    @strawberry.field(description="Referrals this customer made.")
    async def referrals_made(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Annotated[ReferralConnection, strawberry.lazy("schema.referral")]:
        from schema.referral import ReferralConnection

        return ReferralConnection.wrap(await resolve.referrals(info, "made", self.id, first,
                                                               after))

    @strawberry.field(
        description="Referrals in which this customer is the referee (the person introduced)."
    )
    async def referrals_received(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Annotated[ReferralConnection, strawberry.lazy("schema.referral")]:
        from schema.referral import ReferralConnection

        return ReferralConnection.wrap(await resolve.referrals(info, "introduced", self.id,
                                                               first, after))

    @strawberry.field(
        description="Professionals this customer can reach through trust paths, most trusted first."
    )
    async def trusted_professionals(
        self, info: Info, trade: str | None = None, limit: int | None = 10,
        max_hops: int | None = 4,
    ) -> list[Annotated[TrustedProfessional, strawberry.lazy("schema.trust")]]:
        from resolvers import trust as trust_resolvers
        from schema.trust import TrustedProfessional

        found = await trust_resolvers.trusted_professionals(info, self.id, trade, limit,
                                                            max_hops)
        return [TrustedProfessional.of(pro, path, own) for pro, path, own in found]

    @strawberry.field(description="Rewards it earned, as a referrer or as a referee (the "
                      "customer itself and admins), newest first.")
    async def rewards(
        self,
        info: Info,
        status: Annotated[RewardStatus, strawberry.lazy("schema.rewards")] | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Annotated[RewardConnection, strawberry.lazy("schema.rewards")]:
        from resolvers import rewards
        from schema.rewards import RewardConnection

        return RewardConnection.wrap(await rewards.of_party(info, self.id, status, first, after))

    @strawberry.field(description="Its rewards summed exactly per unit and status (the "
                      "customer itself and admins).")
    async def reward_totals(
        self, info: Info
    ) -> list[Annotated[RewardTotal, strawberry.lazy("schema.rewards")]]:
        from resolvers import rewards
        from schema.rewards import totals_field

        return totals_field(await rewards.totals(info, self.id))


@strawberry.type
class CustomerConnection(Connection[Customer]):
    @classmethod
    def wrap(cls, page: Page[models.Customer]) -> CustomerConnection:
        return cls.of(page, Customer.from_model)


@strawberry.input
class CreateCustomerInput:
    id: strawberry.ID | None = None
    name: str
    area: str | None = None

    def domain(self) -> customers.NewCustomer:
        return customers.NewCustomer(name=self.name, area=self.area, id=self.id)


@strawberry.type
class CustomerPayload:
    customer: Customer | None
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[models.Customer]) -> CustomerPayload:
        c = outcome.value
        return cls(customer=None if c is None else Customer.from_model(c),
                   errors=UserError.all(outcome))


@strawberry.type
class CustomerQuery:
    @strawberry.field
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        found = await resolve.customer(info, id)
        return None if found is None else Customer.from_model(found)

    @strawberry.field
    async def customers(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> CustomerConnection:
        return CustomerConnection.wrap(await resolve.list_customers(info, first, after))


@strawberry.type
class CustomerMutation:
    @strawberry.mutation
    async def create_customer(self, info: Info, input: CreateCustomerInput) -> CustomerPayload:
        return CustomerPayload.of(await resolve.create_customer(info, input.domain()))

    @strawberry.mutation(
        description="Erases the customer's personal data (admin or the customer itself); counts "
        "stay correct."
    )
    async def delete_customer(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return DeletePayload.of(await resolve.delete_customer(info, id))
