"""Resolvers of webhooks: making, listing, reading and deleting them, and their deliveries.

A professional manages its own webhooks, an organiser its networks', an admin any and the
platform-wide ones (``graph.access.can_manage_webhooks``). Every refusal is FORBIDDEN and reads
the same whether or not the webhook or the owner exists.
"""

from __future__ import annotations

from graph import access, webhooks
from graph.errors import Forbidden, NotFound
from graph.ids import check_id
from graph.lists import ListKey
from graph.outcome import Outcome
from graph.pagination import Page
from graph.webhooks import Created, Delivery, DeliveryStatus, NewWebhook, Webhook
from resolvers.common import ID_KEY, mutate, page_request, wants_total
from resolvers.context import Info
from resolvers.permissions import FORBIDDEN_MESSAGE, ensure, forbidden, require, viewer


def _config(info: Info) -> webhooks.Config:
    config = info.context.webhooks
    if config is None:  # pragma: no cover - the app always makes one
        raise RuntimeError("webhooks are not configured")
    return config


async def create(info: Info, new: NewWebhook) -> Outcome[Created]:
    async def run() -> Created:
        principal = viewer(info)
        # The id's shape alone says whether it can own a webhook: refusing it reveals nothing.
        webhooks.owner_kind(new.owner_id, ["input", "ownerId"])
        ensure(access.can_manage_webhooks(principal, new.owner_id), ["input", "ownerId"])
        try:
            return await webhooks.create_webhook(info.context.store, new, _config(info))
        except NotFound:
            # A token may name a party or network that does not exist: the same refusal as
            # for one the caller does not manage.
            if principal.admin:
                raise
            raise Forbidden(FORBIDDEN_MESSAGE, ["input", "ownerId"]) from None

    return await mutate(run)


async def delete(info: Info, webhook_id: str) -> Outcome[str]:
    async def run() -> str:
        principal = viewer(info)
        check_id(webhook_id, "Webhook", ["id"])
        found = await info.context.loaders.webhook_by_id.load(webhook_id)
        if not principal.admin:
            ensure(found is not None and access.can_manage_webhooks(principal, found.owner_id),
                   ["id"])
        return await webhooks.delete_webhook(info.context.store, webhook_id)

    return await mutate(run)


async def webhook(info: Info, webhook_id: str) -> Webhook | None:
    """A webhook by id, for node(id): an unknown id is refused like a foreign one (admins get
    null, as for any unknown id)."""
    found = await info.context.loaders.webhook_by_id.load(webhook_id)
    if found is None:
        if viewer(info).admin:
            return None
        raise forbidden()
    require(access.can_manage_webhooks(viewer(info), found.owner_id))
    return found


async def listed(info: Info, owner_id: str | None, first: int | None,
                 after: str | None) -> Page[Webhook]:
    """Query.webhooks: those of ``owner_id``, or without it the viewer's own."""
    principal = viewer(info)
    page = page_request(info, first, after, ID_KEY)
    if owner_id is None:
        owners = webhooks.own_owners(principal)
        require(owners is not None)
        assert owners is not None
    else:
        require(access.can_manage_webhooks(principal, owner_id))
        owners = [owner_id]
    return await webhooks.webhooks_of_owners(info.context.store, owners, page,
                                             total=wants_total(info))


async def deliveries(info: Info, found: Webhook, status: DeliveryStatus | None,
                     first: int | None, after: str | None) -> Page[Delivery]:
    """Webhook.deliveries, newest event first."""
    require(access.can_manage_webhooks(viewer(info), found.owner_id))
    key = ListKey(found.id, page_request(info, first, after, ID_KEY),
                  None if status is None else DeliveryStatus(status).value,
                  total=wants_total(info))
    return await info.context.loaders.deliveries_by_webhook.load(key)
