"""Network: type, inputs, payload, queries and membership mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import models, networks
from graph.networks import MembershipStatus as _MembershipStatus
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers import network as resolve
from resolvers.context import Info
from schema.common import Connection, Node, UserError
from schema.leaderboard import LeaderboardMetric

if TYPE_CHECKING:
    from schema.leaderboard import LeaderboardEntry
    from schema.measurement import NetworkMonth, ReciprocityCell, ReferralFunnel
    from schema.partners import NetworkGaps
    from schema.professional import ProfessionalConnection
    from schema.programs import RewardProgram
    from schema.reciprocity import NetworkReciprocity, PairImbalance


MembershipStatus = strawberry.enum(_MembershipStatus, name="MembershipStatus")


@strawberry.type
class Network(Node):
    id: strawberry.ID
    name: str
    created_at: datetime

    @classmethod
    def from_model(cls, m: models.Network) -> Network:
        return cls(id=strawberry.ID(m.id), name=m.name, created_at=m.created_at)

    @strawberry.field
    async def members(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> Annotated[ProfessionalConnection, strawberry.lazy("schema.professional")]:
        from schema.professional import ProfessionalConnection

        return ProfessionalConnection.wrap(await resolve.members(info, self.id, first, after))

    @strawberry.field(description="Its reward programs, ended ones included (its active "
                      "members, organisers and admins).")
    async def reward_programs(
        self, info: Info
    ) -> list[Annotated[RewardProgram, strawberry.lazy("schema.programs")]]:
        from resolvers import programs
        from schema.programs import programs_field

        return programs_field(await programs.programs_of(info, self.id))

    @strawberry.field(description="Professionals an organiser invited who have not accepted "
                      "yet (organisers of the network, admins). Until a professional accepts, "
                      "the network's organisers read nothing of it beyond its public profile.")
    async def invited(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> Annotated[ProfessionalConnection, strawberry.lazy("schema.professional")]:
        from schema.professional import ProfessionalConnection

        return ProfessionalConnection.wrap(await resolve.invited(info, self.id, first, after))

    @strawberry.field
    async def reciprocity(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> Annotated[NetworkReciprocity, strawberry.lazy("schema.reciprocity")]:
        from resolvers import reciprocity
        from schema.reciprocity import NetworkReciprocity

        return NetworkReciprocity.of(await reciprocity.network(info, self.id, since, until))

    @strawberry.field
    async def gaps(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> Annotated[NetworkGaps, strawberry.lazy("schema.partners")]:
        from resolvers import partners
        from schema.partners import NetworkGaps

        return NetworkGaps.of(await partners.gaps(info, self.id, since, until))

    @strawberry.field(description="Member pairs whose traffic differs by at least minGap "
                      "referrals, largest gap first.")
    async def imbalanced_pairs(
        self, info: Info, min_gap: int | None = 3
    ) -> list[Annotated[PairImbalance, strawberry.lazy("schema.reciprocity")]]:
        from resolvers import reciprocity
        from schema.reciprocity import PairImbalance

        return [PairImbalance.of(p)
                for p in await reciprocity.imbalanced_pairs(info, self.id, min_gap)]

    @strawberry.field(description="Members ranked by referrals they made to other members, in "
                      "[since, until).")
    async def leaderboard(
        self, info: Info, metric: LeaderboardMetric | None = LeaderboardMetric.CONVERSIONS,
        since: datetime | None = None, until: datetime | None = None, limit: int | None = 10,
    ) -> list[Annotated[LeaderboardEntry, strawberry.lazy("schema.leaderboard")]]:
        from schema.leaderboard import network_leaderboard

        return await network_leaderboard(info, self.id, metric, since, until, limit)

    @strawberry.field(description="Referrals between active members, created in [since, until) "
                      "(its organisers, admins).")
    async def referral_funnel(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> Annotated[ReferralFunnel, strawberry.lazy("schema.measurement")]:
        from schema.measurement import network_funnel

        return await network_funnel(info, self.id, since, until)

    @strawberry.field(description="Every ordered pair of active members with at least one "
                      "referral in [since, until), by giver then receiver id: the heat map of who "
                      "gives to whom (its organisers, admins).")
    async def reciprocity_matrix(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> list[Annotated[ReciprocityCell, strawberry.lazy("schema.measurement")]]:
        from schema.measurement import reciprocity_matrix

        return await reciprocity_matrix(info, self.id, since, until)

    @strawberry.field(description="The last `months` calendar months, oldest first (its "
                      "organisers, admins).")
    async def reciprocity_trend(
        self, info: Info, months: int | None = 12
    ) -> list[Annotated[NetworkMonth, strawberry.lazy("schema.measurement")]]:
        from schema.measurement import reciprocity_trend

        return await reciprocity_trend(info, self.id, months)


@strawberry.type
class NetworkConnection(Connection[Network]):
    @classmethod
    def wrap(cls, page: Page[models.Network]) -> NetworkConnection:
        return cls.of(page, Network.from_model)


@strawberry.input
class CreateNetworkInput:
    id: strawberry.ID | None = None
    name: str

    def domain(self) -> networks.NewNetwork:
        return networks.NewNetwork(name=self.name, id=self.id)


@strawberry.input
class NetworkMemberInput:
    network_id: strawberry.ID
    professional_id: strawberry.ID


@strawberry.type
class NetworkPayload:
    network: Network | None
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[models.Network]) -> NetworkPayload:
        n = outcome.value
        return cls(network=None if n is None else Network.from_model(n),
                   errors=UserError.all(outcome))


@strawberry.type
class NetworkQuery:
    @strawberry.field
    async def network(self, info: Info, id: strawberry.ID) -> Network | None:
        found = await resolve.network(info, id)
        return None if found is None else Network.from_model(found)

    @strawberry.field
    async def networks(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> NetworkConnection:
        return NetworkConnection.wrap(await resolve.list_networks(info, first, after))


@strawberry.type
class NetworkMutation:
    @strawberry.mutation
    async def create_network(self, info: Info, input: CreateNetworkInput) -> NetworkPayload:
        return NetworkPayload.of(await resolve.create_network(info, input.domain()))

    @strawberry.mutation
    async def add_network_member(self, info: Info, input: NetworkMemberInput) -> NetworkPayload:
        return NetworkPayload.of(
            await resolve.add_member(info, input.network_id, input.professional_id))

    @strawberry.mutation(description="The invited professional itself accepts an organiser's "
                         "invitation (addNetworkMember by an organiser invites; by an admin it "
                         "adds at once). A member may also leave with removeNetworkMember.")
    async def accept_network_invitation(
        self, info: Info, network_id: strawberry.ID
    ) -> NetworkPayload:
        return NetworkPayload.of(await resolve.accept_invitation(info, network_id))

    @strawberry.mutation
    async def remove_network_member(
        self, info: Info, input: NetworkMemberInput
    ) -> NetworkPayload:
        return NetworkPayload.of(
            await resolve.remove_member(info, input.network_id, input.professional_id))
