"""Resolvers of rewards: who reads them, and the owner's lifecycle moves (approve, pay, void).

A reward is read by its recipient, by those who manage its program (the owning professional,
organisers of the owning network) and by admins (``graph.access.can_read_reward``); a party's
own lists and totals by the party itself and admins. Refusals read the same whether or not the
reward exists.
"""

from __future__ import annotations

from graph import access, models, rewards
from graph.errors import NotFound
from graph.ids import check_id
from graph.lists import ListKey
from graph.outcome import Outcome
from graph.pagination import Page
from graph.programs import RewardProgram
from graph.rewards import Reward, RewardStatus, RewardTotal
from resolvers import parties
from resolvers.common import TIME_KEY, mutate, page_request, wants_total
from resolvers.context import Info
from resolvers.permissions import ensure, forbidden, require, viewer


def _may_read(info: Info, found: Reward) -> bool:
    return access.can_read_reward(viewer(info), found.recipient_id, found.owner_id)


async def reward(info: Info, reward_id: str) -> Reward | None:
    """A reward by id, for node(id): an unknown id is refused like a foreign one (admins get
    null, as for any unknown id)."""
    found = await info.context.loaders.reward_by_id.load(reward_id)
    if found is None:
        if viewer(info).admin:
            return None
        raise forbidden()
    require(_may_read(info, found))
    return found


async def of_referral(info: Info, referral: models.Referral) -> list[Reward]:
    """Referral.rewards: those of the referral's rewards the viewer may read. Whoever reads the
    referral may see none of them (the professional named sees a network program's rewards
    only as their recipient), so the list is filtered, never refused."""
    found = await info.context.loaders.rewards_by_referral.load(referral.id)
    return [w for w in found if _may_read(info, w)]


def _key(info: Info, owner_id: str, status: RewardStatus | None, first: int | None,
         after: str | None) -> ListKey:
    return ListKey(owner_id, page_request(info, first, after, TIME_KEY),
                   None if status is None else RewardStatus(status).value,
                   total=wants_total(info))


async def of_party(info: Info, party_id: str, status: RewardStatus | None, first: int | None,
                   after: str | None) -> Page[Reward]:
    """Customer.rewards and Professional.rewards: what the party earned, newest first (the
    party itself and admins)."""
    require(access.can_read_party_private(viewer(info), party_id))
    key = _key(info, party_id, status, first, after)
    return await info.context.loaders.rewards_by_recipient.load(key)


async def totals(info: Info, party_id: str) -> list[RewardTotal]:
    """Customer.rewardTotals and Professional.rewardTotals (the party itself and admins)."""
    require(access.can_read_party_private(viewer(info), party_id))
    return await info.context.loaders.reward_totals_by_recipient.load(party_id)


async def of_program(info: Info, program: RewardProgram, status: RewardStatus | None,
                     first: int | None, after: str | None) -> Page[Reward]:
    """RewardProgram.rewards: for those who manage the program, and admins."""
    require(access.can_manage_program(viewer(info), program.owner_id))
    key = _key(info, program.id, status, first, after)
    return await info.context.loaders.rewards_by_program.load(key)


async def program_of(info: Info, found: Reward) -> RewardProgram:
    """The reward's program, from its owner's programs (one batched read for a page)."""
    owned = await info.context.loaders.programs_by_owner.load(found.owner_id)
    for program in owned:
        if program.id == found.program_id:
            return program
    raise AssertionError(f"{found.id} names a missing program")  # programs are never deleted


async def referral_of(info: Info, found: Reward) -> models.Referral:
    """The referral a reward was earned by: whoever reads the reward reaches it (its note, risk
    and review keep their own checks)."""
    referral = await info.context.loaders.referral_by_id.load(found.referral_id)
    assert referral is not None, found.referral_id  # referrals are never deleted
    return referral


async def recipient_of(info: Info, found: Reward) -> models.Customer | models.Professional:
    return await parties.party(info, found.recipient_id)


async def move(info: Info, reward_id: str, to: RewardStatus,
               reason: str | None = None) -> Outcome[Reward]:
    """approveReward, markRewardPaid, voidReward: by those who manage the reward's program, and
    admins. Anyone else gets FORBIDDEN on ["id"], the same for an unknown reward."""

    async def run() -> Reward:
        principal = viewer(info)
        # The id's shape and the reason are checked first: neither says anything of a reward.
        check_id(reward_id, "Reward", ["id"])
        rewards.clean_reason(reason)
        loader = info.context.loaders.reward_by_id
        found = await loader.load(reward_id)
        if not principal.admin:
            ensure(found is not None and access.can_manage_program(principal, found.owner_id),
                   ["id"])
        elif found is None:
            raise NotFound("no reward with this id", ["id"])
        changed = await rewards.change_status(info.context.store, reward_id, to,
                                              access.reviewer_name(principal), reason)
        loader.clear(reward_id)
        loader.prime(reward_id, changed)
        return changed

    return await mutate(run)
