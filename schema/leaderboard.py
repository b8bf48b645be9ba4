"""Leaderboards: ranked entries of a network's members or a professional's referrers."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry

from graph import leaderboard as graph_leaderboard
from resolvers import leaderboard as resolve
from resolvers import parties
from resolvers.context import Info
from schema.referral import Party, party_of

if TYPE_CHECKING:
    from schema.customer import Customer
    from schema.professional import Professional


@strawberry.enum
class LeaderboardMetric(Enum):
    REFERRALS = "REFERRALS"
    CONVERSIONS = "CONVERSIONS"
    VALUE = strawberry.enum_value(
        "VALUE", description="Sum of the job value of converted referrals.")


@strawberry.type
class LeaderboardEntry:
    rank: int = strawberry.field(description="1-based; equal values share a rank (1, 2, 2, 4).")
    value: float
    party_id: strawberry.Private[str]

    @classmethod
    def of(cls, e: graph_leaderboard.Entry) -> LeaderboardEntry:
        return cls(rank=e.rank, value=e.value, party_id=e.party_id)

    @strawberry.field(description="Customers appear by display name unless the viewer may see "
                      "more.")
    async def party(self, info: Info) -> Party:
        found: Customer | Professional = party_of(await parties.party(info, self.party_id))
        return found


def _metric(metric: LeaderboardMetric | None) -> graph_leaderboard.LeaderboardMetric:
    """``metric: null`` means the declared default, as ``limit: null`` does."""
    chosen = LeaderboardMetric.CONVERSIONS if metric is None else metric
    return graph_leaderboard.LeaderboardMetric(chosen.value)


async def network_leaderboard(
    info: Info, network_id: str, metric: LeaderboardMetric | None, since: datetime | None,
    until: datetime | None, limit: int | None,
) -> list[LeaderboardEntry]:
    return [LeaderboardEntry.of(e) for e in await resolve.network(
        info, network_id, _metric(metric), since, until, limit)]


async def top_referrers(
    info: Info, professional_id: str, metric: LeaderboardMetric | None, since: datetime | None,
    until: datetime | None, limit: int | None,
) -> list[LeaderboardEntry]:
    return [LeaderboardEntry.of(e) for e in await resolve.top_referrers(
        info, professional_id, _metric(metric), since, until, limit)]
