"""Referral events: the kinds of change an event reports, the event, and the subscription
(over WebSocket, graphql-transport-ws: app.graphql_ws)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph.events import Event, EventKind
from resolvers import events as resolve
from resolvers.context import Info
from schema.referral import Referral

if TYPE_CHECKING:
    from schema.rewards import Reward

ReferralEventKind = strawberry.enum(EventKind, name="ReferralEventKind")
# The kinds are the domain's (graph.events); their descriptions are the schema's.
for _value in ReferralEventKind.__strawberry_definition__.values:  # type: ignore[attr-defined]
    if _value.name == EventKind.REMINDER.name:
        _value.description = ("A referral still SENT after RG_REMINDER_DAYS: a nudge to the "
                              "professional, once per referral.")


@strawberry.type
class ReferralEvent:
    id: strawberry.ID = strawberry.field(
        description="Unique per event; a receiver uses it to drop repeats.")
    kind: ReferralEventKind  # type: ignore[valid-type]
    at: datetime
    event: strawberry.Private[Event]

    @classmethod
    def of(cls, e: Event) -> ReferralEvent:
        return cls(id=strawberry.ID(e.id), kind=EventKind(e.kind), at=e.at, event=e)

    @strawberry.field
    async def referral(self, info: Info) -> Referral:
        return Referral.from_model(await resolve.referral_of(info, self.event))

    @strawberry.field
    async def reward(
        self, info: Info
    ) -> Annotated[Reward, strawberry.lazy("schema.rewards")] | None:
        from schema.rewards import Reward

        found = await resolve.reward_of(info, self.event)
        return None if found is None else Reward.from_model(found)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Events on referrals the subscriber may read: as a party to them, as an "
        "organiser of a network its professional is an active member of, or as an admin; "
        "optionally narrowed to one professional or network.")
    async def referral_events(
        self, info: Info, professional_id: strawberry.ID | None = None,
        network_id: strawberry.ID | None = None,
    ) -> AsyncIterator[ReferralEvent]:
        found = await resolve.referral_events(info, professional_id, network_id)
        return _wrapped(found)


async def _wrapped(found: AsyncIterator[Event]) -> AsyncIterator[ReferralEvent]:
    try:
        async for event in found:
            yield ReferralEvent.of(event)
    finally:
        await found.aclose()  # type: ignore[attr-defined]
