"""DataLoaders: the number of store round trips does not grow with the page size."""

from __future__ import annotations

PAGE = """
query($pro: ID!, $first: Int!) {
  professional(id: $pro) {
    referralsReceived(first: $first) { nodes {
      id
      referrer { ... on Customer { id name } ... on Professional { id name } }
      professional { id name }
      referee { id name jobs(first: 3) { nodes { id } } }
    } }
  }
}
"""


async def test_round_trips_do_not_grow_with_the_page(gql, make, store):
    pro = await make.professional()
    referrer = await make.customer()
    referees = [await make.customer() for _ in range(12)]
    for referee in referees:
        await make.referral(referrer, pro, referee)
        await make.job(referee, pro)

    async def trips(first: int) -> int:
        start = store.round_trips
        data = await gql.data(PAGE, {"pro": pro, "first": first})
        assert len(data["professional"]["referralsReceived"]["nodes"]) == first
        return store.round_trips - start

    small, large = await trips(2), await trips(12)
    assert small == large
    # professional, referral page, then one batch each for referrers, referees, their jobs.
    assert large <= 5
