"""Webhooks: type, deliveries, connections, input, payload, query and mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graph import webhooks
from graph.events import EventKind
from graph.outcome import Outcome
from graph.pagination import Page
from graph.webhooks import Created, DeliveryStatus
from resolvers import webhooks as resolve
from resolvers.context import Info
from schema.common import Connection, DeletePayload, Node, UserError
from schema.events import ReferralEventKind

strawberry.enum(DeliveryStatus, name="DeliveryStatus")
# ReferralEventKind is graph.events.EventKind registered with the schema: fields name the class.


@strawberry.type(description="One event's delivery to one webhook.")
class WebhookDelivery:
    event_id: strawberry.ID
    kind: EventKind
    status: DeliveryStatus = strawberry.field(
        description="PENDING until a 2xx answer (DELIVERED) or RG_WEBHOOK_MAX_ATTEMPTS failed "
        "attempts (FAILED).")
    attempts: int = strawberry.field(description="Attempts that finished (answered or timed "
                                     "out).")
    last_response_code: int | None = strawberry.field(
        description="The HTTP status of the last attempt; null when it got none (a timeout, a "
        "refused address, no connection). Response bodies are never kept.")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due; null once DELIVERED or FAILED.")

    @classmethod
    def from_model(cls, m: webhooks.Delivery) -> WebhookDelivery:
        return cls(event_id=strawberry.ID(m.event_id), kind=ReferralEventKind(m.kind),
                   status=m.status, attempts=m.attempts,
                   last_response_code=m.last_response_code, last_attempt_at=m.last_attempt_at,
                   next_attempt_at=m.next_attempt_at)


@strawberry.type
class WebhookDeliveryConnection(Connection[WebhookDelivery]):
    @classmethod
    def wrap(cls, page: Page[webhooks.Delivery]) -> WebhookDeliveryConnection:
        return cls.of(page, WebhookDelivery.from_model)


@strawberry.type(description="An HTTPS (or, where configured, HTTP) endpoint that receives "
                 "signed POSTs of referral events.")
class Webhook(Node):
    id: strawberry.ID
    url: str
    events: list[EventKind]
    owner_id: strawberry.ID | None = strawberry.field(
        description="The professional or network whose referrals' events it receives; null for "
        "platform-wide (admins only).")
    active: bool
    created_at: datetime
    _model: strawberry.Private[webhooks.Webhook]

    @classmethod
    def from_model(cls, m: webhooks.Webhook) -> Webhook:
        return cls(id=strawberry.ID(m.id), url=m.url,
                   events=[ReferralEventKind(k) for k in m.events],
                   owner_id=None if m.owner_id is None else strawberry.ID(m.owner_id),
                   active=m.active, created_at=m.created_at, _model=m)

    @strawberry.field(description="Its deliveries, newest event first.")
    async def deliveries(self, info: Info, status: DeliveryStatus | None = None,
                         first: int | None = 20,
                         after: str | None = None) -> WebhookDeliveryConnection:
        return WebhookDeliveryConnection.wrap(
            await resolve.deliveries(info, self._model, status, first, after))


@strawberry.type
class WebhookConnection(Connection[Webhook]):
    @classmethod
    def wrap(cls, page: Page[webhooks.Webhook]) -> WebhookConnection:
        return cls.of(page, Webhook.from_model)


@strawberry.input
class CreateWebhookInput:
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="A professional (its own referrals), a network (its "
        "organisers), or null for platform-wide (admins).")
    url: str = strawberry.field(description="https; its host must resolve to public addresses "
                                "only, unless RG_WEBHOOKS_ALLOW_PRIVATE is set.")
    events: list[EventKind]

    def domain(self) -> webhooks.NewWebhook:
        return webhooks.NewWebhook(url=self.url, events=[EventKind(k).value for k in self.events],
                                   owner_id=self.owner_id)


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None
    secret: str | None = strawberry.field(description="The signing secret, shown once, at "
                                          "creation.")
    errors: list[UserError]

    @classmethod
    def of(cls, outcome: Outcome[Created]) -> WebhookPayload:
        made = outcome.value
        return cls(webhook=None if made is None else Webhook.from_model(made.webhook),
                   secret=None if made is None else made.secret,
                   errors=UserError.all(outcome))


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Webhooks of one owner (a professional, a network); without "
                      "ownerId the viewer's own: a professional's, an organiser's networks', "
                      "an admin's platform-wide ones. Oldest first.")
    async def webhooks(self, info: Info, owner_id: strawberry.ID | None = None,
                       first: int | None = 20, after: str | None = None) -> WebhookConnection:
        return WebhookConnection.wrap(await resolve.listed(info, owner_id, first, after))


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="By a professional for its own referrals, an organiser "
                         "for a network it organises, an admin for any owner or platform-wide. "
                         "The payload carries the signing secret, this once.")
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> WebhookPayload:
        return WebhookPayload.of(await resolve.create(info, input.domain()))

    @strawberry.mutation(description="Stops its deliveries and removes it with its delivery "
                         "history.")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return DeletePayload.of(await resolve.delete(info, id))
