"""Resolvers of Professional and its queries and mutations."""

from __future__ import annotations

from graph import access, models, professionals, shapes
from graph.lists import ListKey
from graph.models import ReferralStatus
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

# The schema modules import these resolvers; their names are looked up at call time.
from schema import job as job_types
from schema import network as network_types
from schema import professional as types
from schema import referral as referral_types

# The schema's default of Professional.referralsReceived(first:); tests check it against the
# served schema.
RECEIVED_FIRST_DEFAULT = 20


async def professional(info: Info, id: str) -> types.Professional | None:
    """Professionals are public profiles: any signed-in party reads them."""
    loaders = info.context.loaders
    key = None
    if access.can_read_party_private(viewer(info), id):
        key = page_ahead(info, id, "referralsReceived", RECEIVED_FIRST_DEFAULT, with_status=True)
    if key is not None and cached(loaders.professional_by_id, id) is MISSING:
        # The profile with its newest received referrals: one statement instead of two trips.
        loaders.prime_professional_with_received(
            id, key, await shapes.professional_with_received(info.context.store, id, key))
    found = await loaders.professional_by_id.load(id)
    return None if found is None else types.Professional.from_model(found)


async def related(info: Info, professional_id: str) -> types.Professional:
    """A professional referenced by another object (a job, a referral, a balance)."""
    found = await info.context.loaders.professional_by_id.load(professional_id)
    assert found is not None, professional_id  # referenced by a relationship
    return types.Professional.from_model(found)


async def list_professionals(
    info: Info, trade: str | None, area: str | None, network_id: str | None,
    first: int | None, after: str | None,
) -> types.ProfessionalConnection:
    if network_id is not None:
        require(await permissions.can_read_network(info, network_id))
    page = page_request(info, first, after, ID_KEY)
    result = await guarded(professionals.list_professionals(
        info.context.store, page, trade=trade, area=area, network_id=network_id,
        total=wants_total(info),
    ))
    return types.ProfessionalConnection.of(result, types.Professional.from_model)


async def networks(info: Info, professional_id: str) -> list[network_types.Network]:
    """The professional's networks that the viewer may read."""
    found = await info.context.loaders.networks_by_professional.load(professional_id)
    principal = viewer(info)
    if not (principal.admin or principal.is_(professional_id)):
        found = [n for n in found if await permissions.can_read_network(info, n.id)]
    return [network_types.Network.from_model(n) for n in found]


async def jobs(
    info: Info, professional_id: str, first: int | None, after: str | None
) -> job_types.JobConnection:
    require(access.can_read_party_private(viewer(info), professional_id))
    key = ListKey(professional_id, page_request(info, first, after, TIME_KEY),
                  total=wants_total(info))
    page = await info.context.loaders.jobs_by_professional.load(key)
    return job_resolvers.connection(info, page)


async def referrals(
    info: Info, which: str, professional_id: str, status: ReferralStatus | None,
    first: int | None, after: str | None,
) -> referral_types.ReferralConnection:
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
    return referral_resolvers.connection(info, await loader.load(key))


async def create_professional(
    info: Info, data: types.CreateProfessionalInput
) -> types.ProfessionalPayload:
    new = professionals.NewProfessional(
        name=data.name, trades=data.trades, area=data.area, id=data.id
    )

    async def run() -> models.Professional:
        ensure(viewer(info).admin, ["input"])
        return await professionals.create_professional(info.context.store, new)

    return await mutate(
        run,
        lambda p, errors: types.ProfessionalPayload(
            professional=None if p is None else types.Professional.from_model(p), errors=errors
        ),
    )
