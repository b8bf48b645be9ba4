"""Who may see and change what: the access policy, as pure functions of a principal.

A principal comes from a verified token: a role, the party it speaks for (``sub``) and, for an
organiser, the networks it runs. Resolvers ask these functions before they read or write; a
refusal is ``FORBIDDEN`` and says nothing about whether the object exists.

>>> admin = Principal(Role.ADMIN)
>>> pro = Principal(Role.PROFESSIONAL, "pro_1")
>>> can_change_status(pro, "pro_1", "ACCEPTED"), can_change_status(pro, "pro_2", "ACCEPTED")
(True, False)
>>> can_change_status(pro, "pro_1", "EXPIRED"), can_change_status(admin, "pro_2", "EXPIRED")
(False, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ORGANISER = "organiser"
    PROFESSIONAL = "professional"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class Principal:
    role: Role
    sub: str | None = None
    networks: frozenset[str] = field(default_factory=frozenset)

    @property
    def admin(self) -> bool:
        return self.role is Role.ADMIN

    def is_(self, party_id: str | None) -> bool:
        """Whether this principal speaks for the party ``party_id``."""
        return party_id is not None and self.sub == party_id and self.role in (
            Role.CUSTOMER, Role.PROFESSIONAL
        )

    def organises(self, network_id: str) -> bool:
        return self.role is Role.ORGANISER and network_id in self.networks


# Statuses a professional may move a referral that names it to; EXPIRED is the system's (admin).
PROFESSIONAL_MOVES = frozenset({"ACCEPTED", "CONVERTED", "DECLINED"})


def can_read_party_private(p: Principal, party_id: str) -> bool:
    """A party's own lists (jobs, referrals): the party itself and admins."""
    return p.admin or p.is_(party_id)


def can_read_job(p: Principal, customer_id: str, professional_id: str) -> bool:
    return p.admin or p.is_(customer_id) or p.is_(professional_id)


def can_decide_job(p: Principal, customer_id: str) -> bool:
    """Confirming or rejecting a job: its customer and admins, never the professional that
    recorded it (the point is that someone else vouches for the job)."""
    return p.admin or (p.role is Role.CUSTOMER and p.is_(customer_id))


def can_read_referral(p: Principal, parties: Iterable[str]) -> bool:
    """Referrer, named professional and referee read a referral; admins read all."""
    return p.admin or any(p.is_(party) for party in parties)


def can_read_customer(p: Principal, customer_id: str, hired: bool) -> bool:
    """Reading a customer by id: itself, admins, and professionals it hired (``hired``: a job
    the customer confirmed, never one the professional merely recorded)."""
    return p.admin or p.is_(customer_id) or (p.role is Role.PROFESSIONAL and hired)


def can_see_customer_name(p: Principal, customer_id: str, hired: bool) -> bool:
    """Full name and area: the customer, admins and professionals it hired; others see the
    display name only."""
    return can_read_customer(p, customer_id, hired)


def can_read_network(p: Principal, network_id: str, member: bool) -> bool:
    return p.admin or p.organises(network_id) or (p.role is Role.PROFESSIONAL and member)


def can_manage_network(p: Principal, network_id: str) -> bool:
    """Membership, reciprocity and gaps of a network: its organisers and admins."""
    return p.admin or p.organises(network_id)


def can_record_job(p: Principal, professional_id: str) -> bool:
    return p.admin or p.is_(professional_id)


def can_refer_as(p: Principal, referrer_id: str) -> bool:
    return p.admin or p.is_(referrer_id)


def can_change_status(p: Principal, professional_id: str, status: str) -> bool:
    return p.admin or (p.is_(professional_id) and status in PROFESSIONAL_MOVES)


def can_read_risk(p: Principal, professional_networks: Iterable[str]) -> bool:
    """Risk of a professional, or of a referral naming it, and reviews: admins, and organisers
    of a network the professional is an active member of (``professional_networks``)."""
    return p.admin or (p.role is Role.ORGANISER
                       and any(n in p.networks for n in professional_networks))


def can_review_referral(
    p: Principal, referrer_networks: Iterable[str], professional_networks: Iterable[str]
) -> bool:
    """Deciding on a referral: admins, and organisers of a network both its referrer and its
    professional are active members of (a customer's referral: admins only).

    >>> org = Principal(Role.ORGANISER, networks=frozenset({"net_1"}))
    >>> can_review_referral(org, ["net_1"], ["net_1", "net_2"])
    True
    >>> can_review_referral(org, [], ["net_1"])
    False
    """
    if p.admin:
        return True
    if p.role is not Role.ORGANISER:
        return False
    return bool(p.networks & set(referrer_networks) & set(professional_networks))


def reviewer_name(p: Principal) -> str:
    """Who a decision is recorded as having been made by: the token's subject, else its role."""
    return p.sub if p.sub is not None else p.role.value


def can_erase_customer(p: Principal, customer_id: str) -> bool:
    return p.admin or p.is_(customer_id)


def can_trace_from(p: Principal, party_id: str) -> bool:
    """Trust paths start at the asking party (or anywhere, for admins)."""
    return p.admin or p.is_(party_id)


def display_name(name: str) -> str:
    """First name and the initial of the last name.

    >>> display_name("Alice Walker"), display_name("  cher "), display_name("Jean-Luc de Vries")
    ('Alice W.', 'cher', 'Jean-Luc V.')
    """
    parts = name.split()
    if len(parts) < 2:
        return " ".join(parts)
    return f"{parts[0]} {parts[-1][0].upper()}."


def can_manage_program(p: Principal, owner_id: str) -> bool:
    """Creating and ending a reward program: the owning professional itself, organisers of the
    owning network, admins."""
    return p.admin or (p.role is Role.PROFESSIONAL and p.is_(owner_id)) or p.organises(owner_id)


def can_read_programs(p: Principal, owner_id: str, owner_kind: str, member: bool) -> bool:
    """A professional's programs are an offer to anyone who may refer to it: every signed-in
    party reads them. A network's programs are for its members: its active members
    (``member``), its organisers and admins, as the network itself."""
    if owner_kind == "Professional":
        return True
    return can_read_network(p, owner_id, member)


def can_read_reward(p: Principal, recipient_id: str, owner_id: str) -> bool:
    """A reward: its recipient (the referrer, or the referee for a referee's reward), those who
    manage its program (the owning professional, organisers of the owning network) and admins.

    >>> org = Principal(Role.ORGANISER, "org_1", frozenset({"net_1"}))
    >>> cus = Principal(Role.CUSTOMER, "cus_1")
    >>> can_read_reward(cus, "cus_1", "pro_1"), can_read_reward(cus, "cus_2", "pro_1")
    (True, False)
    >>> can_read_reward(org, "cus_1", "net_1"), can_read_reward(org, "cus_1", "net_2")
    (True, False)
    """
    return p.is_(recipient_id) or can_manage_program(p, owner_id)


def can_manage_webhooks(p: Principal, owner_id: str | None) -> bool:
    """Making, reading and deleting webhooks: a professional's own (the referrals naming it or
    made by it), a network's by its organisers, platform-wide ones (``owner_id`` None) and any
    other by admins.

    >>> pro = Principal(Role.PROFESSIONAL, "pro_1")
    >>> can_manage_webhooks(pro, "pro_1"), can_manage_webhooks(pro, "pro_2")
    (True, False)
    >>> can_manage_webhooks(pro, None), can_manage_webhooks(Principal(Role.ADMIN), None)
    (False, True)
    """
    if p.admin:
        return True
    if owner_id is None:
        return False
    return (p.role is Role.PROFESSIONAL and p.is_(owner_id)) or p.organises(owner_id)
def can_narrow_events(p: Principal, professional_id: str | None,
                      professional_networks: Iterable[str], network_id: str | None,
                      member: bool) -> bool:
    """Narrowing a subscription to referral events: to a professional, by the professional
    itself, organisers of a network it is an active member of (``professional_networks``) and
    admins; to a network, by its organisers, its active members (``member``: the viewer, a
    professional) and admins. Customers subscribe to their own events unnarrowed.

    >>> org = Principal(Role.ORGANISER, "o", frozenset({"net_1"}))
    >>> pro = Principal(Role.PROFESSIONAL, "pro_1")
    >>> can_narrow_events(org, "pro_1", ["net_1"], None, False)
    True
    >>> can_narrow_events(pro, "pro_2", [], None, False)
    False
    >>> can_narrow_events(pro, None, [], "net_1", True)
    True
    """
    if p.admin:
        return True
    if professional_id is not None and not (
        (p.role is Role.PROFESSIONAL and p.is_(professional_id))
        or (p.role is Role.ORGANISER and any(n in p.networks for n in professional_networks))
    ):
        return False
    return network_id is None or p.organises(network_id) or (
        p.role is Role.PROFESSIONAL and member)
