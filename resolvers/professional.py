"""Resolvers of Professional and its queries and mutations."""

from __future__ import annotations

from graph import access, models, professionals, shapes
from graph.lists import ListKey
from graph.models import ReferralStatus
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers import job as job_resolvers
from resolvers import permissions
from resolvers import referral as referral_resolvers
from resolvers.common import (
    ID_KEY,
    TIME_KEY,
    guarded,
    mutate,
    page_ahead,
    page_request,
    wants_total,
)
from resolvers.context import Info
from resolvers.loaders import MISSING, cached
from resolvers.permissions import ensure, require, viewer

# The schema's default of Professional.referralsReceived(first:); tests check it against the
# served schema.
RECEIVED_FIRST_DEFAULT = 20


async def professional(info: Info, id: str) -> models.Professional | None:
    """Professionals are public profiles: any signed-in party reads them."""
    loaders = info.context.loaders
    key = None
    if access.can_read_party_private(viewer(info), id):
        key = page_ahead(info, id, "referralsReceived", RECEIVED_FIRST_DEFAULT, with_status=True)
    if key is not None and cached(loaders.professional_by_id, id) is MISSING:
        # The profile with its newest received referrals: one statement instead of two trips.
        loaders.prime_professional_with_received(
            id, key, await shapes.professional_with_received(info.context.store, id, key))
    return await loaders.professional_by_id.load(id)


async def list_professionals(
    info: Info, trade: str | None, area: str | None, network_id: str | None,
    first: int | None, after: str | None,
) -> Page[models.Professional]:
    if network_id is not None:
        require(await permissions.can_read_network(info, network_id))
    request = page_request(info, first, after, ID_KEY)
    return await guarded(professionals.list_professionals(
        info.context.store, request, trade=trade, area=area, network_id=network_id,
        total=wants_total(info),
    ))


async def networks(info: Info, professional_id: str) -> list[models.Network]:
    """The professional's networks that the viewer may read."""
    found = await info.context.loaders.networks_by_professional.load(professional_id)
    principal = viewer(info)
    if not (principal.admin or principal.is_(professional_id)):
        found = [n for n in found if await permissions.can_read_network(info, n.id)]
    return list(found)


async def jobs(
    info: Info, professional_id: str, first: int | None, after: str | None
) -> Page[models.Job]:
    require(access.can_read_party_private(viewer(info), professional_id))
    key = ListKey(professional_id, page_request(info, first, after, TIME_KEY),
                  total=wants_total(info))
    return job_resolvers.page(info, await info.context.loaders.jobs_by_professional.load(key))


async def referrals(
    info: Info, which: str, professional_id: str, status: ReferralStatus | None,
    first: int | None, after: str | None,
) -> Page[models.Referral]:
    require(access.can_read_party_private(viewer(info), professional_id))
    key = ListKey(
        professional_id,
        page_request(info, first, after, TIME_KEY),
        None if status is None else ReferralStatus(status).value,
        total=wants_total(info),
    )
    loaders = info.context.loaders
    loader = (
        loaders.referrals_received_by_professional if which == "received"
        else loaders.referrals_given_by_professional
    )
    return referral_resolvers.page(info, await loader.load(key))


async def create_professional(
    info: Info, new: professionals.NewProfessional
) -> Outcome[models.Professional]:
    async def run() -> models.Professional:
        ensure(viewer(info).admin, ["input"])
        return await professionals.create_professional(info.context.store, new)

    return await mutate(run)
