"""Connections: first in 1..100, opaque cursors, and pages that stay correct under inserts."""

from __future__ import annotations

import pytest

RECEIVED = """
query($pro: ID!, $first: Int, $after: String) {
  professional(id: $pro) { referralsReceived(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }
}
"""


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_first_out_of_range_fails_the_query(gql, make, first):
    pro = await make.professional()
    body = await gql.post(RECEIVED, {"pro": pro, "first": first})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert "first" in body["errors"][0]["message"]
    top = await gql.post("query($f: Int) { professionals(first: $f) { totalCount } }",
                         {"f": first})
    assert "first" in top["errors"][0]["message"]


@pytest.mark.parametrize("after", ["garbage", "W10", "WyJhIl0"])
async def test_foreign_cursors_are_rejected(gql, make, after):
    pro = await make.professional()
    body = await gql.post(RECEIVED, {"pro": pro, "first": 5, "after": after})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"


async def test_pages_stay_correct_while_rows_are_inserted(gql, make):
    pro = await make.professional()
    referees = [await make.customer() for _ in range(5)]
    referrer = await make.customer()
    before = [await make.referral(referrer, pro, r) for r in referees]

    page1 = (await gql.data(RECEIVED, {"pro": pro, "first": 2}))["professional"]
    page1 = page1["referralsReceived"]
    assert page1["totalCount"] == 5 and page1["pageInfo"]["hasNextPage"]
    # Newer referrals arrive between two page reads: offset paging would repeat rows now.
    newcomer = await make.customer()
    inserted = await make.referral(referrer, pro, newcomer)

    seen = [e["node"]["id"] for e in page1["edges"]]
    after = page1["pageInfo"]["endCursor"]
    while after:
        page = (await gql.data(RECEIVED, {"pro": pro, "first": 2, "after": after}))
        page = page["professional"]["referralsReceived"]
        seen += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == list(reversed(before))
    assert inserted not in seen
    assert page["totalCount"] == 6
    assert page1["edges"][-1]["cursor"] == page1["pageInfo"]["endCursor"]


async def test_total_count_is_counted_when_asked_even_through_fragments(gql, make):
    pro = await make.professional()
    referrer = await make.customer()
    for _ in range(3):
        await make.referral(referrer, pro, await make.customer())
    query = """query($pro: ID!) { professional(id: $pro) {
      plain: referralsReceived(first: 1) { totalCount }
      viaFragment: referralsReceived(first: 1) { ...Count }
      inline: referralsReceived(first: 1) { ... on ReferralConnection { totalCount } }
      nodesOnly: referralsReceived(first: 5) { nodes { id } } } }
      fragment Count on ReferralConnection { totalCount }"""
    data = (await gql.data(query, {"pro": pro}))["professional"]
    assert data["plain"] == data["viaFragment"] == data["inline"] == {"totalCount": 3}
    assert len(data["nodesOnly"]["nodes"]) == 3
