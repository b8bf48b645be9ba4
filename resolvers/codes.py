"""Resolvers of referral codes: create one, look one up, redeem one.

Lookups and redemptions spend from a per-principal bucket of their own (the service puts a
``spend`` callable under ``CODE_LOOKUPS`` in the context's extras), far smaller than the general
request rate, so that nobody can walk the space of codes even slowly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from graphql import GraphQLError

from graph import access, codes, models
from graph.outcome import Outcome
from resolvers.common import guarded, mutate
from resolvers.context import Info
from resolvers.permissions import ensure, viewer

CODE_LOOKUPS = "code_lookups"


def _spend(info: Info) -> None:
    spend: Callable[[], float] | None = info.context.extras.get(CODE_LOOKUPS)
    wait = 0.0 if spend is None else spend()
    if wait > 0:
        raise GraphQLError(
            "too many referral code lookups; slow down",
            extensions={"code": "RATE_LIMITED", "retryAfter": max(1, math.ceil(wait))},
        )


async def create_referral_code(
    info: Info, referrer_id: str, professional_id: str
) -> Outcome[models.ReferralCode]:
    async def run() -> models.ReferralCode:
        # The referrer itself (or an admin): asked before anything is read, so a refusal says
        # nothing about the parties.
        ensure(access.can_refer_as(viewer(info), referrer_id), ["input", "referrerId"])
        return await codes.create_code(info.context.store, referrer_id, professional_id)

    return await mutate(run)


async def referral_code(info: Info, code: str) -> models.ReferralCode | None:
    """Any signed-in party; an unknown code is null."""
    viewer(info)
    _spend(info)
    return await guarded(codes.lookup(info.context.store, code))


async def redeem_referral_code(
    info: Info, code: str, referee_id: str, note: str | None
) -> Outcome[models.Referral]:
    principal = viewer(info)
    # The referee customer itself (or an admin), checked before the code is looked up: a
    # refused caller learns nothing about the code.
    allowed = principal.admin or (
        principal.role is access.Role.CUSTOMER and principal.is_(referee_id)
    )

    async def run() -> models.Referral:
        ensure(allowed, ["input", "refereeId"])
        return await codes.redeem(info.context.store, code, referee_id, note, principal)

    if allowed:
        _spend(info)
    return await mutate(run)
