"""Resolvers of Network and its queries and membership mutations."""

from __future__ import annotations

from graph import access, networks
from graph.access import Role
from graph.lists import ListKey
from graph.models import Network, Professional
from graph.outcome import Outcome
from graph.pagination import Page
from resolvers import permissions
from resolvers.common import ID_KEY, mutate, page_request, wants_total
from resolvers.context import Info
from resolvers.permissions import ensure, forbidden, require, viewer


async def network(info: Info, id: str) -> Network | None:
    """A network: admins, its organisers and its members read it."""
    principal = viewer(info)
    found = await info.context.loaders.network_by_id.load(id)
    if found is None:
        if principal.admin:
            return None
        raise forbidden()
    require(await permissions.can_read_network(info, id))
    return found


async def list_networks(
    info: Info, first: int | None, after: str | None
) -> Page[Network]:
    """Admins list all networks, organisers theirs, professionals those they belong to."""
    principal = viewer(info)
    ids: set[str] | None = None
    if principal.role is Role.ORGANISER:
        ids = set(principal.networks)
    elif principal.role is Role.PROFESSIONAL:
        ids = await permissions.viewer_networks(info)
    else:
        require(principal.admin)
    request = page_request(info, first, after, ID_KEY)
    return await networks.list_networks(info.context.store, request, ids, wants_total(info))


async def members(
    info: Info, network_id: str, first: int | None, after: str | None
) -> Page[Professional]:
    require(await permissions.can_read_network(info, network_id))
    key = ListKey(network_id, page_request(info, first, after, ID_KEY), total=wants_total(info))
    return await info.context.loaders.members_by_network.load(key)


async def create_network(info: Info, new: networks.NewNetwork) -> Outcome[Network]:
    async def run() -> Network:
        ensure(viewer(info).admin, ["input"])
        return await networks.create_network(info.context.store, new)

    return await mutate(run)


async def add_member(info: Info, network_id: str, professional_id: str) -> Outcome[Network]:
    """An admin adds at once; an organiser invites, and the professional accepts."""
    async def run() -> Network:
        principal = viewer(info)
        ensure(access.can_manage_network(principal, network_id), ["input", "networkId"])
        return await networks.add_member(info.context.store, network_id,
                                         professional_id, invite=not principal.admin)

    return await mutate(run)


async def remove_member(info: Info, network_id: str, professional_id: str) -> Outcome[Network]:
    """Organisers and admins remove members and withdraw invitations; a professional leaves
    (or declines an invitation) itself."""
    async def run() -> Network:
        principal = viewer(info)
        leaving = principal.is_(professional_id)
        ensure(leaving or access.can_manage_network(principal, network_id),
               ["input", "networkId"])
        return await networks.remove_member(
            info.context.store, network_id, professional_id, leaving=leaving
        )

    return await mutate(run)


async def accept_invitation(info: Info, network_id: str) -> Outcome[Network]:
    """The invited professional itself, nobody else (an admin adds at once instead)."""
    async def run() -> Network:
        principal = viewer(info)
        ensure(principal.role is Role.PROFESSIONAL and principal.sub is not None, ["networkId"])
        assert principal.sub is not None
        return await networks.accept_invitation(info.context.store, network_id, principal.sub)

    return await mutate(run)


async def invited(
    info: Info, network_id: str, first: int | None, after: str | None
) -> Page[Professional]:
    require(access.can_manage_network(viewer(info), network_id))
    key = ListKey(network_id, page_request(info, first, after, ID_KEY), total=wants_total(info))
    return await info.context.loaders.invited_by_network.load(key)
