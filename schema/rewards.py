"""Rewards: type, status and role enums, history, totals, connection, payload and mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graph import rewards
from graph.outcome import Outcome
from graph.pagination import Page
from graph.rewards import RewardRole, RewardStatus
from resolvers import rewards as resolve
from resolvers.context import Info
from schema.common import Connection, Node, UserError
from schema.programs import RewardProgram
from schema.referral import Party, Referral, party_of

strawberry.enum(RewardRole, name="RewardRole")
strawberry.enum(RewardStatus, name="RewardStatus",
                description="PENDING -> APPROVED -> PAID; HELD while the referral is under "
                "suspicion; VOID is final.")


@strawberry.type(description="One step of a reward's lifecycle.")
class RewardStatusChange:
    status: RewardStatus
    at: datetime
    by: str = strawberry.field(
        description='Who made it: the token subject (or role) of the owner or admin who moved it '
        'by hand or of the reviewer whose decision moved it; "earning" for its creation, '
        '"risk-refresh" for a hold or release by the risk refresh.')
    reason: str | None = strawberry.field(
        description="Why, when one was given (a void's reason, a hold's cause).")


@strawberry.type(description="Created once per (program, referral, role) in the same "
                 "transaction as the status change that triggers it.")
class Reward(Node):
    id: strawberry.ID
    role: RewardRole
    amount: float = strawberry.field(
        description="Exact to the unit's minor unit (cents); sums never drift.")
    unit: str
    status: RewardStatus
    clawback: bool = strawberry.field(
        description="True for a PAID reward whose referral was later confirmed as fraud: to be "
        "clawed back.")
    created_at: datetime
    updated_at: datetime
    history: list[RewardStatusChange] = strawberry.field(
        description="Every status the reward has had, oldest first, starting with the one it "
        "was created in (PENDING or HELD).")
    _model: strawberry.Private[rewards.Reward]

    @classmethod
    def from_model(cls, m: rewards.Reward) -> Reward:
        return cls(
            id=strawberry.ID(m.id), role=m.role, amount=m.shown, unit=m.unit, status=m.status,
            clawback=m.clawback, created_at=m.created_at, updated_at=m.updated_at,
            history=[RewardStatusChange(status=h.status, at=h.at, by=h.by, reason=h.reason)
                     for h in m.history],
            _model=m,
        )

    @strawberry.field
    async def program(self, info: Info) -> RewardProgram:
        return RewardProgram.from_model(await resolve.program_of(info, self._model))

    @strawberry.field
    async def referral(self, info: Info) -> Referral:
        return Referral.from_model(await resolve.referral_of(info, self._model))

    @strawberry.field
    async def recipient(self, info: Info) -> Party:
        return party_of(await resolve.recipient_of(info, self._model))  # type: ignore[return-value]


@strawberry.type
class RewardConnection(Connection[Reward]):
    @classmethod
    def wrap(cls, page: Page[rewards.Reward]) -> RewardConnection:
        return cls.of(page, Reward.from_model)


def rewards_field(found: list[rewards.Reward]) -> list[Reward]:
    return [Reward.from_model(w) for w in found]


@strawberry.type(description="A recipient's rewards of one unit and status, summed exactly.")
class RewardTotal:
    unit: str
    status: RewardStatus
    count: int = strawberry.field(description="How many rewards.")
    amount: float = strawberry.field(
        description="Their sum, exact to the unit's minor unit (summed as integers).")

    @classmethod
    def of(cls, m: rewards.RewardTotal) -> RewardTotal:
        return cls(unit=m.unit, status=m.status, count=m.rewards, amount=m.shown)


def totals_field(found: list[rewards.RewardTotal]) -> list[RewardTotal]:
    return [RewardTotal.of(t) for t in found]


@strawberry.type
class RewardPayload:
    reward: Reward | None
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[rewards.Reward]) -> RewardPayload:
        w = outcome.value
        return cls(reward=None if w is None else Reward.from_model(w),
                   errors=UserError.all(outcome))


@strawberry.type
class RewardMutation:
    @strawberry.mutation(description="PENDING -> APPROVED, by the program's owner or an admin; "
                         "a HELD reward needs its referral cleared first.")
    async def approve_reward(self, info: Info, id: strawberry.ID) -> RewardPayload:
        return RewardPayload.of(await resolve.move(info, id, RewardStatus.APPROVED))

    @strawberry.mutation(description="APPROVED -> PAID, by the program's owner or an admin.")
    async def mark_reward_paid(self, info: Info, id: strawberry.ID) -> RewardPayload:
        return RewardPayload.of(await resolve.move(info, id, RewardStatus.PAID))

    @strawberry.mutation(description="Any status but PAID -> VOID, by the program's owner or an "
                         "admin.")
    async def void_reward(self, info: Info, id: strawberry.ID, reason: str) -> RewardPayload:
        return RewardPayload.of(await resolve.move(info, id, RewardStatus.VOID, reason))
