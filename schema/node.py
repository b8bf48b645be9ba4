"""The Relay ``node(id)`` query: any object by its global id."""

from __future__ import annotations

import strawberry

from graph import models, programs, rewards, webhooks
from resolvers import node as resolve
from resolvers.context import Info
from schema.common import Node
from schema.customer import Customer
from schema.job import Job
from schema.network import Network
from schema.professional import Professional
from schema.programs import RewardProgram
from schema.referral import Referral
from schema.rewards import Reward
from schema.webhooks import Webhook


def node_of(m: resolve.AnyNode) -> Node:
    """The schema type of a domain object."""
    if isinstance(m, models.Professional):
        return Professional.from_model(m)
    if isinstance(m, models.Customer):
        return Customer.from_model(m)
    if isinstance(m, models.Job):
        return Job.from_model(m)
    if isinstance(m, models.Referral):
        return Referral.from_model(m)
    if isinstance(m, programs.RewardProgram):
        return RewardProgram.from_model(m)
    if isinstance(m, rewards.Reward):
        return Reward.from_model(m)
    if isinstance(m, webhooks.Webhook):
        return Webhook.from_model(m)
    return Network.from_model(m)


@strawberry.type
class NodeQuery:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        found = await resolve.node(info, id)
        return None if found is None else node_of(found)
