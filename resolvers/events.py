"""Resolvers of referral events: the subscription, and the referral and reward of an event.

A subscriber receives the events on referrals it may read (``graph.events.visible_to``: a
party to them, an organiser of a network their professional is an active member of, an admin),
from this process's pump, which reads the outbox that every process writes: an event made
through any service process reaches subscribers of every other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError

from graph import access, events, models
from graph.errors import DomainError
from graph.events import Event
from graph.ids import check_id
from graph.rewards import Reward
from resolvers.common import query_error
from resolvers.context import Info
from resolvers.permissions import active_networks, require, viewer, viewer_networks

# Key of context.extras: a callable that returns this process's events.Pump.
EVENT_PUMP = "event_pump"
OVERFLOW = "UNAVAILABLE"


async def referral_events(info: Info, professional_id: str | None,
                          network_id: str | None) -> AsyncIterator[Event]:
    """The events the viewer may read, narrowed to a professional (named by the referral or its
    referrer) or a network (its professional an active member), from now on. Narrowing
    further than the viewer may (``graph.access.can_narrow_events``) is FORBIDDEN, before the
    subscription starts; so is a malformed id (VALIDATION)."""
    principal = viewer(info)
    try:
        for value, label, name in ((professional_id, "Professional", "professionalId"),
                                   (network_id, "Network", "networkId")):
            if value is not None:
                check_id(value, label, [name])
    except DomainError as exc:
        raise query_error(exc) from None
    info.context.refresh()  # memberships as they are now, not as when the connection opened
    organiser = principal.role is access.Role.ORGANISER
    networks = await active_networks(info, professional_id) if professional_id and organiser \
        else []
    member = network_id is not None and network_id in await viewer_networks(info)
    require(access.can_narrow_events(principal, professional_id, networks, network_id, member))
    pump: events.Pump = info.context.extras[EVENT_PUMP]()
    feed = events.Feed(pump, events.event_filter(principal, professional_id, network_id),
                       info.context.settings.subscription_backlog)
    return _delivered(info, feed)


async def _delivered(info: Info, feed: events.Feed) -> AsyncIterator[Event]:
    try:
        async for event in feed:
            info.context.refresh()
            yield event
    except events.Overflow as exc:
        raise GraphQLError(f"{exc}: this subscription ended; subscribe again",
                           extensions={"code": OVERFLOW}) from None
    finally:
        feed.close()


async def referral_of(info: Info, event: Event) -> models.Referral:
    """The event's referral. The event passed ``visible_to``, so whoever receives it reads the
    referral (an organiser too); its fields keep their own rules (the note, names)."""
    found = await info.context.loaders.referral_by_id.load(event.referral_id)
    assert found is not None, event.referral_id  # referrals are never deleted
    return found


async def reward_of(info: Info, event: Event) -> Reward | None:
    """The event's reward, for those who may read it (its recipient, its program's managers,
    admins); null for everyone else and for events without one."""
    if event.reward_id is None:
        return None
    found = await info.context.loaders.reward_by_id.load(event.reward_id)
    if found is None or not access.can_read_reward(viewer(info), found.recipient_id,
                                                   found.owner_id):
        return None
    return found
