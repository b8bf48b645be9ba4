"""Resolvers of risk, reviews and the list of risky professionals."""

from __future__ import annotations

from graph import access, models, review, risk
from graph.ids import check_id, kind_of
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers.common import guarded, mutate, page_request, wants_total
from resolvers.context import Info
from resolvers.permissions import (
    can_read_risk,
    can_review,
    ensure,
    require,
    viewer,
)

# The schema's default of Query.riskyProfessionals(minScore:), for an explicit null.
MIN_SCORE_DEFAULT = 0.5
SCORE_KEY = 2  # the list's cursor: score, id


async def professional_risk(info: Info, professional_id: str) -> risk.Assessment:
    require(await can_read_risk(info, professional_id))
    return await info.context.loaders.risk_by_professional.load(professional_id)


async def referral_risk(info: Info, r: models.Referral) -> risk.Assessment:
    require(await can_read_risk(info, r.professional_id))
    return await info.context.loaders.risk_by_referral.load(r.id)


async def referral_review(info: Info, r: models.Referral) -> models.Review | None:
    """The decision, for those who may read the referral's risk; null for everyone else, which
    reads like a referral nobody reviewed."""
    if r.review is None or not await can_read_risk(info, r.professional_id):
        return None
    return r.review


async def involved(info: Info, ids: tuple[str, ...]) -> list[models.Customer | models.Professional]:
    """The parties a finding names that still exist; each shows what the viewer may read of it
    through its own fields (customers by display name)."""
    loaders = info.context.loaders
    customers = await loaders.customer_by_id.load_many(
        [i for i in ids if kind_of(i) == "Customer"])
    pros = await loaders.professional_by_id.load_many(
        [i for i in ids if kind_of(i) == "Professional"])
    found = {p.id: p for p in [*customers, *pros] if p is not None}
    return [found[i] for i in ids if i in found]


async def risky_professionals(
    info: Info, min_score: float | None, network_id: str | None, first: int | None,
    after: str | None,
) -> Page[models.Professional]:
    """Admins: all (or one network's active members); organisers: active members of their
    networks (of the one asked for, which must be theirs)."""
    principal = viewer(info)
    require(principal.admin or principal.role is access.Role.ORGANISER)
    if network_id is not None:
        require(access.can_manage_network(principal, network_id))
    networks = None if network_id is None and principal.admin else (
        {network_id} if network_id is not None else principal.networks)
    request = page_request(info, first, after, SCORE_KEY)
    return await guarded(risk.risky_professionals(
        info.context.store, request, MIN_SCORE_DEFAULT if min_score is None else min_score,
        networks, wants_total(info)))


async def review_referral(
    info: Info, referral_id: str, decision: models.ReviewDecision, note: str | None
) -> Outcome[models.Referral]:
    async def run() -> models.Referral:
        principal = viewer(info)
        check_id(referral_id, "Referral", ["input", "id"])
        if not principal.admin:
            # An unknown referral and one the caller may not review are refused alike.
            found = await info.context.loaders.referral_by_id.load(referral_id)
            ensure(found is not None
                   and await can_review(info, found.referrer_id, found.professional_id),
                   ["input", "id"])
        reviewer = review.Reviewer(access.reviewer_name(principal), principal.admin,
                                   principal.sub)
        return await review.review_referral(info.context.store, referral_id, decision, note,
                                            reviewer)

    return await mutate(run)
