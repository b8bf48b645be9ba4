"""Reward programs: type, tiers, owner union, inputs, payload and mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import models, programs
from graph.outcome import Outcome
from graph.programs import RewardTrigger
from resolvers import programs as resolve
from resolvers.context import Info
from schema.common import Node, UserError
from schema.network import Network
from schema.professional import Professional

if TYPE_CHECKING:
    from schema.rewards import RewardConnection, RewardStatus

strawberry.enum(RewardTrigger, name="RewardTrigger")

ProgramOwner = Annotated[Professional | Network, strawberry.union("ProgramOwner")]


@strawberry.type
class RewardTier:
    from_count: int = strawberry.field(description="The tier applies to a referrer's n-th "
                                       "reward in the program and later ones, n >= fromCount.")
    referrer_amount: float


@strawberry.type(description="A referral incentive. A professional's programs reward referrals "
                 "naming it; a network's programs reward referrals between two of its active "
                 "members.")
class RewardProgram(Node):
    id: strawberry.ID
    name: str
    trigger: RewardTrigger
    referrer_amount: float = strawberry.field(
        description="What the referrer earns per triggered referral, before tiers.")
    referee_amount: float = strawberry.field(
        description="What the referee earns; 0 for a one-sided program.")
    referrer_rate: float | None = strawberry.field(
        description="Affiliate commission: the referrer also earns this share (0 < rate <= 0.5) "
        "of the value of the job the referral converted into, rounded half-even to the unit's "
        "minor unit. Only with trigger CONVERTED and a currency unit; null means none.")
    unit: str = strawberry.field(description='An ISO 4217 currency code such as "GBP", or '
                                 '"POINTS".')
    tiers: list[RewardTier] = strawberry.field(
        description="Ascending by fromCount; the highest tier reached applies.")
    monthly_cap_per_referrer: int | None = strawberry.field(
        description="The most rewards one referrer earns per calendar month (UTC); null means "
        "no cap.")
    verified_only: bool = strawberry.field(description="Only verified referrals earn.")
    starts_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None = strawberry.field(
        description="When endRewardProgram stopped it; null while it was never ended.")
    active: bool = strawberry.field(
        description="Not ended, and now lies in [startsAt, endsAt).")
    _model: strawberry.Private[programs.RewardProgram]

    @classmethod
    def from_model(cls, m: programs.RewardProgram) -> RewardProgram:
        return cls(
            id=strawberry.ID(m.id), name=m.name, trigger=m.trigger,
            referrer_amount=m.shown(m.referrer_amount), referee_amount=m.shown(m.referee_amount),
            referrer_rate=m.referrer_rate, unit=m.unit,
            tiers=[RewardTier(from_count=t.from_count, referrer_amount=m.shown(t.referrer_amount))
                   for t in m.tiers],
            monthly_cap_per_referrer=m.monthly_cap, verified_only=m.verified_only,
            starts_at=m.starts_at, ends_at=m.ends_at, ended_at=m.ended_at,
            active=m.is_active(), _model=m,
        )

    @strawberry.field
    async def owner(self, info: Info) -> ProgramOwner:
        found = await resolve.owner(info, self._model)
        if isinstance(found, models.Network):
            return Network.from_model(found)
        if found is None:  # pragma: no cover - the program is written with its owner
            raise ValueError(f"{self.id} has no owner")
        return Professional.from_model(found)

    @strawberry.field(description="The rewards it gave, newest first: for the owning "
                      "professional, organisers of the owning network and admins.")
    async def rewards(
        self,
        info: Info,
        status: Annotated[RewardStatus, strawberry.lazy("schema.rewards")] | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Annotated[RewardConnection, strawberry.lazy("schema.rewards")]:
        from resolvers import rewards
        from schema.rewards import RewardConnection

        return RewardConnection.wrap(
            await rewards.of_program(info, self._model, status, first, after))


def programs_field(found: list[programs.RewardProgram]) -> list[RewardProgram]:
    return [RewardProgram.from_model(p) for p in found]


@strawberry.input
class RewardTierInput:
    from_count: int
    referrer_amount: float


@strawberry.input
class CreateRewardProgramInput:
    id: strawberry.ID | None = None
    owner_id: strawberry.ID = strawberry.field(
        description="A professional (its own programs) or a network (its organisers).")
    name: str
    trigger: RewardTrigger
    referrer_amount: float
    referee_amount: float | None = 0
    referrer_rate: float | None = None
    unit: str
    tiers: list[RewardTierInput] | None = strawberry.field(default_factory=list)
    monthly_cap_per_referrer: int | None = None
    verified_only: bool | None = False
    starts_at: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    ends_at: datetime | None = None

    def domain(self) -> programs.NewProgram:
        return programs.NewProgram(
            id=self.id, owner_id=self.owner_id, name=self.name,
            trigger=RewardTrigger(self.trigger), referrer_amount=self.referrer_amount,
            referee_amount=self.referee_amount or 0.0, referrer_rate=self.referrer_rate,
            unit=self.unit,
            tiers=[programs.NewTier(t.from_count, t.referrer_amount) for t in self.tiers or []],
            monthly_cap=self.monthly_cap_per_referrer, verified_only=bool(self.verified_only),
            starts_at=self.starts_at, ends_at=self.ends_at,
        )


@strawberry.type
class RewardProgramPayload:
    program: RewardProgram | None
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[programs.RewardProgram]) -> RewardProgramPayload:
        p = outcome.value
        return cls(program=None if p is None else RewardProgram.from_model(p),
                   errors=UserError.all(outcome))


@strawberry.type
class ProgramMutation:
    @strawberry.mutation(description="By the owning professional, an organiser of the owning "
                         "network, or an admin.")
    async def create_reward_program(
        self, info: Info, input: CreateRewardProgramInput
    ) -> RewardProgramPayload:
        return RewardProgramPayload.of(await resolve.create_program(info, input.domain()))

    @strawberry.mutation(description="Stops a program from earning more; rewards already "
                         "earned stay.")
    async def end_reward_program(self, info: Info, id: strawberry.ID) -> RewardProgramPayload:
        return RewardProgramPayload.of(await resolve.end_program(info, id))
