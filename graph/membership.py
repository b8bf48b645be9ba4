"""Membership statuses, and the one pattern by which every query recognises a member.

A membership is ``(:Professional)-[:MEMBER_OF {since, status}]->(:Network)``; only an ``ACTIVE``
one makes the professional a member anywhere (member lists, reciprocity, gaps, partners and
every access rule that rests on membership). Queries build their member patterns from
:data:`MEMBER` so that the rule is written once; this module imports nothing of the domain so
that any module can use it.
"""

from __future__ import annotations

from enum import StrEnum


class MembershipStatus(StrEnum):
    INVITED = "INVITED"
    ACTIVE = "ACTIVE"


ACTIVE = MembershipStatus.ACTIVE.value
INVITED = MembershipStatus.INVITED.value
# The relationship of an active membership, without a variable: `(p)-[:{MEMBER}]->(n)`.
MEMBER = f"MEMBER_OF {{status: '{ACTIVE}'}}"
# That of an invitation not yet accepted.
INVITATION = f"MEMBER_OF {{status: '{INVITED}'}}"
