"""Trust paths: relations, hops, paths and trusted professionals."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import models
from graph import trust as graph_trust
from graph.timeutil import from_store
from resolvers import parties
from resolvers import trust as resolve
from resolvers.context import Info
from schema.referral import Party, party_of

if TYPE_CHECKING:
    from schema.job import Job
    from schema.professional import Professional
    from schema.referral import Referral


@strawberry.enum
class TrustRelation(Enum):
    HIRED = strawberry.enum_value(
        "HIRED", description="from (a customer) hired to (a professional): a verified job.")
    REFERRED = strawberry.enum_value(
        "REFERRED", description="from recommended to (a professional) in a referral.")
    REFERRED_BY = strawberry.enum_value(
        "REFERRED_BY",
        description="from was the referee of a referral made by to: from trusts to's judgement.")


@strawberry.type
class TrustHop:
    relation: TrustRelation
    trust: float = strawberry.field(description="In (0, 1].")
    at: datetime | None = strawberry.field(
        description="When the underlying job or referral happened.")
    hop: strawberry.Private[graph_trust.Hop]

    @classmethod
    def of(cls, hop: graph_trust.Hop) -> TrustHop:
        return cls(relation=TrustRelation(hop.relation), trust=hop.trust, at=from_store(hop.at),
                   hop=hop)

    @strawberry.field(name="from")
    async def from_(self, info: Info) -> Party:
        return party_of(await parties.party(info, self.hop.source))

    @strawberry.field
    async def to(self, info: Info) -> Party:
        return party_of(await parties.party(info, self.hop.target))

    @strawberry.field(description="The job behind a HIRED hop, when the viewer may read it.")
    async def job(self, info: Info) -> Annotated[Job, strawberry.lazy("schema.job")] | None:
        from schema.job import Job

        found = await parties.readable_job(info, self.hop.job_id)
        return None if found is None else Job.from_model(found)

    @strawberry.field(description="The referral behind a REFERRED or REFERRED_BY hop, when the "
                      "viewer may read it.")
    async def referral(
        self, info: Info
    ) -> Annotated[Referral, strawberry.lazy("schema.referral")] | None:
        from schema.referral import Referral

        found = await parties.readable_referral(info, self.hop.referral_id)
        return None if found is None else Referral.from_model(found)


@strawberry.type
class TrustPath:
    trust: float = strawberry.field(description="Product of the hops' trust values.")
    hops: list[TrustHop]

    @classmethod
    def of(cls, path: graph_trust.Path) -> TrustPath:
        return cls(trust=path.trust, hops=[TrustHop.of(h) for h in path.hops])


@strawberry.type
class TrustedProfessional:
    professional: Annotated[Professional, strawberry.lazy("schema.professional")]
    trust: float = strawberry.field(description="Trust of the best path.")
    path: TrustPath
    own_hire: TrustPath | None = strawberry.field(
        description="The customer's own confirmed hire of this professional as a one-hop path "
        "(the latest), null when there is none; shown even when an indirect path is stronger.")

    @classmethod
    def of(cls, pro: models.Professional, path: graph_trust.Path,
           own_hire: graph_trust.Path | None = None) -> TrustedProfessional:
        from schema.professional import Professional

        return cls(professional=Professional.from_model(pro), trust=path.trust,
                   path=TrustPath.of(path),
                   own_hire=None if own_hire is None else TrustPath.of(own_hire))


@strawberry.type
class TrustQuery:
    @strawberry.field(
        description="The most trusted simple paths from one party to another, most trusted first."
    )
    async def trust_paths(
        self,
        info: Info,
        from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
        to: strawberry.ID,
        limit: int | None = 3,
        max_hops: int | None = 5,
    ) -> list[TrustPath]:
        return [TrustPath.of(p) for p in await resolve.trust_paths(info, from_, to, limit,
                                                                    max_hops)]
