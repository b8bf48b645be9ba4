"""Connections: first in 1..100, opaque cursors, and pages that stay correct under inserts."""

from __future__ import annotations

import pytest

from graph.pagination import encode_cursor

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


ALL = """
query($first: Int, $after: String, $status: ReferralStatus) {
  referrals(first: $first, after: $after, status: $status) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id } } }
"""

# Spread over hours, days, months, years and decades (the last beyond the widest window), with
# ties, so that pages cross the boundaries of the windows the global list is read in.
SPREAD = [
    "2000-06-01T12:00:00.000000+00:00",
    "2000-06-01T12:00:00.000000+00:00",
    "2000-06-01T12:00:00.000000+00:00",
    "2000-06-01T11:30:00.000000+00:00",
    "2000-06-01T09:00:00.000000+00:00",
    "2000-05-28T08:00:00.000000+00:00",
    "2000-03-01T00:00:00.000000+00:00",
    "1998-01-01T00:00:00.000000+00:00",
    "1990-01-01T00:00:00.000000+00:00",
    "1990-01-01T00:00:00.000000+00:00",
    "1965-01-01T00:00:00.000000+00:00",
]
SET_CREATED = "MATCH (x:Referral {id: $id}) SET x.createdAt = $at"
NEWEST = """
MATCH (x:Referral) WHERE $status IS NULL OR x.status = $status
RETURN x.id AS id ORDER BY x.createdAt DESC, x.id DESC LIMIT $limit
"""


async def _spread(store, make) -> list[str]:
    """Referrals created at the SPREAD times, newest first as the list orders them."""
    pro, referrer = await make.professional(), await make.customer()
    made = []
    for at in SPREAD:
        referral = await make.referral(referrer, pro, await make.customer())
        await store.run_write(SET_CREATED, id=referral, at=at)
        made.append((at, referral))
    return [r for _, r in sorted(made, reverse=True)]


async def _walk(
    gql, first: int, after: str, mine: list[str], status: str | None = None
) -> list[str]:
    """The rows after ``after``, page by page, of those in ``mine`` (other tests make rows at
    the same times); no row may come twice."""
    seen: list[str] = []
    while after:
        page = (await gql.data(ALL, {"first": first, "after": after, "status": status}))
        page = page["referrals"]
        seen += [n["id"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert len(seen) == len(set(seen))
    return [r for r in seen if r in mine]


@pytest.mark.parametrize("first", [1, 2, 3, 100])
async def test_the_global_list_pages_exactly_across_hours_days_and_decades(
    gql, store, make, first
):
    expected = await _spread(store, make)
    # Start after a point in time later than every row made here and earlier than the rows
    # made today.
    start = encode_cursor(["2001-01-01T00:00:00.000000+00:00", "ref_"])
    assert await _walk(gql, first, start, expected) == expected
    # A cursor inside a tie: the tied rows with smaller ids follow, none repeats.
    tie = encode_cursor([SPREAD[0], expected[0]])
    assert await _walk(gql, first, tie, expected) == expected[1:]


async def test_the_global_list_filters_by_status_across_windows(gql, store, make):
    expected = await _spread(store, make)
    declined = expected[1::3]
    for referral in declined:
        await make.status(referral, "DECLINED")
    start = encode_cursor(["2001-01-01T00:00:00.000000+00:00", "ref_"])
    assert await _walk(gql, 2, start, expected, "DECLINED") == declined
    sent = [r for r in expected if r not in declined]
    assert await _walk(gql, 2, start, expected, "SENT") == sent


@pytest.mark.parametrize("status", [None, "SENT", "DECLINED"])
async def test_the_first_global_page_is_the_newest_and_counts_every_row(
    gql, store, make, status
):
    await _spread(store, make)
    page = (await gql.data(ALL, {"first": 5, "status": status}))["referrals"]
    newest = await store.read(NEWEST, status=status, limit=5)
    assert [n["id"] for n in page["nodes"]] == [r["id"] for r in newest]
    count = await store.read(
        "MATCH (x:Referral) WHERE $status IS NULL OR x.status = $status RETURN count(x) AS n",
        status=status,
    )
    assert page["totalCount"] == count[0]["n"]
    # A referral made after that page was read heads the next first page.
    pro, referrer, referee = await make.professional(), await make.customer(), await make.customer()
    made = await make.referral(referrer, pro, referee)
    again = (await gql.data(ALL, {"first": 5, "status": status}))["referrals"]
    if status in (None, "SENT"):
        assert again["nodes"][0]["id"] == made
