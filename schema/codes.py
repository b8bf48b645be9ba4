"""Referral codes: type, inputs, payload, the lookup and the two mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph import models
from graph.outcome import Outcome
from resolvers import codes as resolve
from resolvers import parties
from resolvers.context import Info
from schema.common import UserError
from schema.referral import Party, ReferralPayload, party_of

if TYPE_CHECKING:
    from schema.professional import Professional


@strawberry.type(description="A shareable code that stands for (referrer, professional).")
class ReferralCode:
    code: str = strawberry.field(
        description="At least 8 characters, unguessable, case-insensitive."
    )
    uses: int = strawberry.field(description="Referrals created from it.")
    created_at: datetime
    model: strawberry.Private[models.ReferralCode]

    @classmethod
    def from_model(cls, m: models.ReferralCode) -> ReferralCode:
        return cls(code=m.code, uses=m.uses, created_at=m.created_at, model=m)

    @strawberry.field
    async def referrer(self, info: Info) -> Party:
        # As anyone who meets the referrer sees it: a customer by display name.
        return party_of(await parties.party(info, self.model.referrer_id))

    @strawberry.field
    def professional(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        from schema.professional import Professional

        return Professional.related_now(info, self.model.professional_id)  # type: ignore[return-value]


@strawberry.input
class CreateReferralCodeInput:
    referrer_id: strawberry.ID
    professional_id: strawberry.ID


@strawberry.input
class RedeemReferralCodeInput:
    code: str
    referee_id: strawberry.ID = strawberry.field(
        description="The customer being introduced; a customer redeems for itself."
    )
    note: str | None = None


@strawberry.type
class ReferralCodePayload:
    referral_code: ReferralCode | None
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[models.ReferralCode]) -> ReferralCodePayload:
        c = outcome.value
        return cls(referral_code=None if c is None else ReferralCode.from_model(c),
                   errors=UserError.all(outcome))


@strawberry.type
class CodeQuery:
    @strawberry.field(description="What a code leads to, for a landing page (any signed-in "
                      "party).")
    async def referral_code(self, info: Info, code: str) -> ReferralCode | None:
        found = await resolve.referral_code(info, code)
        return None if found is None else ReferralCode.from_model(found)


@strawberry.type
class CodeMutation:
    @strawberry.mutation(description="The referrer (or an admin) gets its code for a "
                         "professional; asking again returns the same code.")
    async def create_referral_code(
        self, info: Info, input: CreateReferralCodeInput
    ) -> ReferralCodePayload:
        return ReferralCodePayload.of(await resolve.create_referral_code(
            info, input.referrer_id, input.professional_id))

    @strawberry.mutation(description="Creates the referral from the code's referrer to the "
                         "referee, with every referral rule; channel CODE.")
    async def redeem_referral_code(
        self, info: Info, input: RedeemReferralCodeInput
    ) -> ReferralPayload:
        return ReferralPayload.of(await resolve.redeem_referral_code(
            info, input.code, input.referee_id, input.note))
