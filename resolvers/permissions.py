"""Permission checks for resolvers, on top of the policy in ``graph.access``."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import GraphQLError

from graph import access
from graph.access import Principal
from graph.errors import Forbidden
from graph.ids import kind_of
from resolvers.context import Info

FORBIDDEN_MESSAGE = "not allowed"


def viewer(info: Info) -> Principal:
    """The principal of the request (AuthGate lets no anonymous request reach a resolver)."""
    principal = info.context.principal
    if principal is None:
        raise GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})
    return principal


def forbidden() -> GraphQLError:
    # The same words whether or not the object exists, so a refusal reveals nothing.
    return GraphQLError(FORBIDDEN_MESSAGE, extensions={"code": "FORBIDDEN"})


def require(allowed: bool) -> None:
    """For queries: refuse the field with a FORBIDDEN error."""
    if not allowed:
        raise forbidden()


def ensure(allowed: bool, field: Sequence[str]) -> None:
    """For mutations: refuse with a FORBIDDEN user error in the payload."""
    if not allowed:
        raise Forbidden(FORBIDDEN_MESSAGE, field)


async def hired(info: Info, customer_id: str) -> bool:
    """Whether the viewer is a professional that this customer hired."""
    principal = viewer(info)
    if principal.role is not access.Role.PROFESSIONAL or principal.sub is None:
        return False
    return await info.context.loaders.hired_by_pair.load((customer_id, principal.sub))


async def viewer_networks(info: Info) -> set[str]:
    """Networks the viewer belongs to as a professional."""
    principal = viewer(info)
    if principal.role is not access.Role.PROFESSIONAL or principal.sub is None:
        return set()
    found = await info.context.loaders.networks_by_professional.load(principal.sub)
    return {n.id for n in found}


async def can_read_network(info: Info, network_id: str) -> bool:
    principal = viewer(info)
    if principal.admin or principal.organises(network_id):
        return True
    return access.can_read_network(principal, network_id, network_id in await viewer_networks(info))


async def active_networks(info: Info, professional_id: str) -> list[str]:
    """The networks the professional is an active member of (batched per request)."""
    if kind_of(professional_id) != "Professional":
        return []
    found = await info.context.loaders.networks_by_professional.load(professional_id)
    return [n.id for n in found]


async def can_read_figures(info: Info, professional_id: str) -> bool:
    """A professional's own figures (reciprocity balance and trend, top referrers): the
    professional itself, admins, and organisers of a network it is an active member of."""
    principal = viewer(info)
    if access.can_read_party_private(principal, professional_id):
        return True
    return principal.role is access.Role.ORGANISER and any(
        principal.organises(n) for n in await active_networks(info, professional_id))


async def can_read_risk(info: Info, professional_id: str) -> bool:
    """Risk and reviews of the professional and of referrals naming it (graph.access)."""
    principal = viewer(info)
    if principal.admin or principal.role is not access.Role.ORGANISER:
        return principal.admin
    return access.can_read_risk(principal, await active_networks(info, professional_id))


async def can_review(info: Info, referrer_id: str, professional_id: str) -> bool:
    """Deciding on a referral between these two parties (graph.access)."""
    principal = viewer(info)
    if principal.admin or principal.role is not access.Role.ORGANISER:
        return principal.admin
    return access.can_review_referral(principal, await active_networks(info, referrer_id),
                                      await active_networks(info, professional_id))
