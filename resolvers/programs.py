"""Resolvers of reward programs: creating, ending and reading them."""

from __future__ import annotations

from graph import access, programs
from graph.errors import Forbidden, NotFound
from graph.ids import kind_of
from graph.models import Network, Professional
from graph.outcome import Outcome
from graph.programs import NewProgram, RewardProgram
from resolvers import permissions
from resolvers.common import mutate
from resolvers.context import Info
from resolvers.permissions import FORBIDDEN_MESSAGE, ensure, forbidden, require, viewer


async def _may_read(info: Info, owner_id: str) -> bool:
    principal = viewer(info)
    kind = kind_of(owner_id) or ""
    member = kind == "Network" and owner_id in await permissions.viewer_networks(info)
    return access.can_read_programs(principal, owner_id, kind, member)


async def create_program(info: Info, new: NewProgram) -> Outcome[RewardProgram]:
    async def run() -> RewardProgram:
        principal = viewer(info)
        # The id's shape alone says whether it can own a program: refusing it reveals nothing.
        programs.owner_kind(new.owner_id, ["input", "ownerId"])
        ensure(access.can_manage_program(principal, new.owner_id), ["input", "ownerId"])
        try:
            return await programs.create_program(
                info.context.store, new,
                lambda owner: access.can_manage_program(principal, owner))
        except NotFound:
            # An organiser's token may name a network that does not exist: the same refusal
            # as for a network it does not organise.
            if principal.admin:
                raise
            raise Forbidden(FORBIDDEN_MESSAGE, ["input", "ownerId"]) from None

    return await mutate(run)


async def end_program(info: Info, program_id: str) -> Outcome[RewardProgram]:
    async def run() -> RewardProgram:
        principal = viewer(info)
        found = await programs.program(info.context.store, program_id)
        if not principal.admin:
            ensure(found is not None and access.can_manage_program(principal, found.owner_id),
                   ["id"])
        return await programs.end_program(info.context.store, program_id)

    return await mutate(run)


async def program(info: Info, program_id: str) -> RewardProgram | None:
    """A program by id, for node(id): who may read its owner's programs reads it."""
    found = await programs.program(info.context.store, program_id)
    if found is None:
        if viewer(info).admin:
            return None
        raise forbidden()
    require(await _may_read(info, found.owner_id))
    return found


async def programs_of(info: Info, owner_id: str) -> list[RewardProgram]:
    """Professional.rewardPrograms and Network.rewardPrograms."""
    require(await _may_read(info, owner_id))
    return await info.context.loaders.programs_by_owner.load(owner_id)


async def owner(info: Info, found: RewardProgram) -> Professional | Network | None:
    loaders = info.context.loaders
    if found.owner_kind == "Network":
        return await loaders.network_by_id.load(found.owner_id)
    return await loaders.professional_by_id.load(found.owner_id)
