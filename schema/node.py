"""The Relay ``node(id)`` query: any object by its global id."""

from __future__ import annotations

import strawberry

from resolvers import node as resolve
from resolvers.context import Info
from schema.common import Node


@strawberry.type
class NodeQuery:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve.node(info, id)
