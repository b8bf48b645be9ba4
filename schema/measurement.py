"""Measurement: referral funnels, statistics grouped by dimensions, and a network's matrix and
monthly trend of who gives to whom."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from graph import measurement as graph_measurement
from resolvers import measurement as resolve
from resolvers.context import Info
from schema.professional import Professional


@strawberry.type
class ReferralFunnel:
    referrals: int
    accepted: int = strawberry.field(description="Referrals that reached ACCEPTED (including "
                                     "those that went on to CONVERTED or DECLINED after it).")
    converted: int
    declined: int
    expired: int
    open: int = strawberry.field(description="Still SENT or ACCEPTED.")
    conversion_rate: float = strawberry.field(
        description="converted / referrals; 0 when there are none.")
    median_days_to_convert: float | None = strawberry.field(
        description="Median days from SENT to CONVERTED over converted referrals; null when none.")
    value: float = strawberry.field(description="Sum of the job value of converted referrals.")

    @classmethod
    def of(cls, f: graph_measurement.Funnel) -> ReferralFunnel:
        return cls(referrals=f.referrals, accepted=f.accepted, converted=f.converted,
                   declined=f.declined, expired=f.expired, open=f.open,
                   conversion_rate=f.conversion_rate,
                   median_days_to_convert=f.median_days_to_convert, value=f.value)


@strawberry.enum
class StatsDimension(Enum):
    MONTH = strawberry.enum_value("MONTH", description="Calendar month (UTC) of createdAt, "
                                  "YYYY-MM.")
    TRADE = strawberry.enum_value("TRADE", description="The named professional's first trade.")
    AREA = strawberry.enum_value("AREA", description='The named professional\'s area ("" when '
                                 "none).")
    STATUS = "STATUS"
    CHANNEL = "CHANNEL"
    REFERRER_KIND = strawberry.enum_value("REFERRER_KIND", description="CUSTOMER or PROFESSIONAL.")


@strawberry.type
class StatsRow:
    key: list[str] = strawberry.field(
        description="One value per groupBy dimension, in the same order.")
    funnel: ReferralFunnel

    @classmethod
    def of(cls, row: graph_measurement.StatsRow) -> StatsRow:
        return cls(key=list(row.key), funnel=ReferralFunnel.of(row.funnel))


@strawberry.type(description="Referrals from one member to another.")
class ReciprocityCell:
    referrals: int
    converted: int
    value: float
    giver_id: strawberry.Private[str]
    receiver_id: strawberry.Private[str]

    @classmethod
    def of(cls, c: graph_measurement.Cell) -> ReciprocityCell:
        return cls(referrals=c.referrals, converted=c.converted, value=c.value,
                   giver_id=c.giver, receiver_id=c.receiver)

    @strawberry.field
    async def giver(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        return await Professional.related(info, self.giver_id)

    @strawberry.field
    async def receiver(
        self, info: Info
    ) -> Annotated[Professional, strawberry.lazy("schema.professional")]:
        return await Professional.related(info, self.receiver_id)


@strawberry.type(description="One calendar month of referrals between members.")
class NetworkMonth:
    month: str = strawberry.field(description="YYYY-MM")
    referrals: int
    converted: int

    @classmethod
    def of(cls, m: graph_measurement.Month) -> NetworkMonth:
        return cls(month=m.month, referrals=m.referrals, converted=m.converted)


async def professional_funnel(
    info: Info, professional_id: str, since: datetime | None, until: datetime | None
) -> ReferralFunnel:
    return ReferralFunnel.of(await resolve.professional_funnel(info, professional_id, since,
                                                               until))


async def network_funnel(
    info: Info, network_id: str, since: datetime | None, until: datetime | None
) -> ReferralFunnel:
    return ReferralFunnel.of(await resolve.network_funnel(info, network_id, since, until))


async def reciprocity_matrix(
    info: Info, network_id: str, since: datetime | None, until: datetime | None
) -> list[ReciprocityCell]:
    return [ReciprocityCell.of(c) for c in await resolve.matrix(info, network_id, since, until)]


async def reciprocity_trend(info: Info, network_id: str, months: int | None) -> list[NetworkMonth]:
    return [NetworkMonth.of(m) for m in await resolve.trend(info, network_id, months)]


@strawberry.type
class MeasurementQuery:
    @strawberry.field(description="Referral counts grouped by the dimensions, rows sorted by key. "
                      "Admins see all; an organiser must pass a networkId of its own (referrals "
                      "between its active members); a professional must pass its own "
                      "professionalId (referrals naming it). Confirmed fraud is left out.")
    async def referral_stats(
        self, info: Info, group_by: list[StatsDimension], since: datetime | None = None,
        until: datetime | None = None, network_id: strawberry.ID | None = None,
        professional_id: strawberry.ID | None = None,
    ) -> list[StatsRow]:
        dimensions = [graph_measurement.Dimension(d.value) for d in group_by]
        rows = await resolve.referral_stats(info, dimensions, since, until, network_id,
                                            professional_id)
        return [StatsRow.of(r) for r in rows]
