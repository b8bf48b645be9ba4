"""Resolve any object by its global id: the id's prefix names the loader."""

from __future__ import annotations

from graph import models
from graph.ids import kind_of
from graph.programs import RewardProgram
from graph.rewards import Reward
from graph.webhooks import Webhook
from resolvers import (
    customer,
    job,
    network,
    professional,
    programs,
    referral,
    rewards,
    webhooks,
)
from resolvers.context import Info

AnyNode = (models.Professional | models.Customer | models.Job | models.Referral
           | models.Network | RewardProgram | Reward | Webhook)


async def node(info: Info, id: str) -> AnyNode | None:
    match kind_of(id):
        case "Professional":
            return await professional.professional(info, id)
        case "Customer":
            return await customer.customer(info, id)
        case "Job":
            return await job.job(info, id)
        case "Referral":
            return await referral.referral(info, id)
        case "Network":
            return await network.network(info, id)
        case "RewardProgram":
            return await programs.program(info, id)
        case "Reward":
            return await rewards.reward(info, id)
        case "Webhook":
            return await webhooks.webhook(info, id)
    return None
