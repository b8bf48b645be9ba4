"""Resolvers of Network and its queries and membership mutations."""

from __future__ import annotations

from graph import networks
from graph.lists import ListKey
from graph.models import Network
from resolvers.common import ID_KEY, mutate, page_request
from resolvers.context import Info

# The schema modules import these resolvers; their names are looked up at call time.
from schema import network as types
from schema import professional as professional_types


async def network(info: Info, id: str) -> types.Network | None:
    found = await info.context.loaders.network_by_id.load(id)
    return None if found is None else types.Network.from_model(found)


async def list_networks(info: Info, first: int | None, after: str | None) -> types.NetworkConnection:
    page = page_request(info, first, after, ID_KEY)
    result = await networks.list_networks(info.context.store, page)
    return types.NetworkConnection.of(result, types.Network.from_model)


async def members(
    info: Info, network_id: str, first: int | None, after: str | None
) -> professional_types.ProfessionalConnection:
    key = ListKey(network_id, page_request(info, first, after, ID_KEY))
    page = await info.context.loaders.members_by_network.load(key)
    return professional_types.ProfessionalConnection.of(
        page, professional_types.Professional.from_model
    )


def _payload(n: Network | None, errors: list) -> types.NetworkPayload:
    return types.NetworkPayload(
        network=None if n is None else types.Network.from_model(n), errors=errors
    )


async def create_network(info: Info, data: types.CreateNetworkInput) -> types.NetworkPayload:
    new = networks.NewNetwork(name=data.name, id=data.id)
    return await mutate(lambda: networks.create_network(info.context.store, new), _payload)


async def add_member(info: Info, data: types.NetworkMemberInput) -> types.NetworkPayload:
    return await mutate(
        lambda: networks.add_member(info.context.store, data.network_id, data.professional_id),
        _payload,
    )


async def remove_member(info: Info, data: types.NetworkMemberInput) -> types.NetworkPayload:
    return await mutate(
        lambda: networks.remove_member(info.context.store, data.network_id, data.professional_id),
        _payload,
    )
