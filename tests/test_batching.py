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


CHAINS = """
query($pro: ID!, $first: Int!) {
  referrals(professionalId: $pro, first: $first) { nodes { id chain { id } } }
}
"""


async def test_referral_chains_cost_the_same_for_any_page(gql, make, store):
    # Twelve chains of one step each: x_i referred a_i to the professional, then a_i referred
    # b_i. The newest twelve referrals are the a_i ones, each with its upstream x_i referral.
    pro = await make.professional()
    upstream = {}
    referrers = [await make.customer() for _ in range(12)]
    for referrer in referrers:
        upstream[referrer] = await make.referral(await make.customer(), pro, referrer)
    expected = {}
    for referrer in referrers:
        expected[await make.referral(referrer, pro, await make.customer())] = upstream[referrer]

    async def trips(first: int) -> int:
        start = store.round_trips
        nodes = (await gql.data(CHAINS, {"pro": pro, "first": first}))["referrals"]["nodes"]
        assert len(nodes) == first
        assert all(n["chain"] == [{"id": expected[n["id"]]}] for n in nodes)
        return store.round_trips - start

    small, large = await trips(2), await trips(12)
    assert small == large
    # The page, one step up every chain, the step that finds none, the upstream referrals.
    assert large <= 4


TRENDS = """
query($net: ID!, $first: Int!) {
  network(id: $net) { members(first: $first) { nodes {
    id reciprocityTrend(months: 3) { month given received }
  } } }
}
"""


async def test_reciprocity_trends_cost_the_same_for_any_page(gql, make, store):
    net = await make.network()
    pros = [await make.professional() for _ in range(12)]
    for pro in pros:
        await make.ok("add_member", networkId=net, professionalId=pro)
    # Each member refers the next one once this month.
    for a, b in zip(pros, pros[1:] + pros[:1], strict=True):
        await make.referral(a, b, await make.customer())

    async def trips(first: int) -> int:
        start = store.round_trips
        data = await gql.data(TRENDS, {"net": net, "first": first})
        nodes = data["network"]["members"]["nodes"]
        assert len(nodes) == first
        for node in nodes:
            months = node["reciprocityTrend"]
            assert len(months) == 3
            assert (months[-1]["given"], months[-1]["received"]) == (1, 1)
        return store.round_trips - start

    small, large = await trips(2), await trips(12)
    assert small == large
    # The network, its members, then given and received for every member at once.
    assert large <= 4


NETWORKS = """
query($first: Int!) {
  networks(first: $first) { nodes {
    id reciprocity { referrals coefficient } imbalancedPairs(minGap: 1) { gap }
  } }
}
"""


async def test_network_reciprocity_costs_the_same_for_any_page(gql, make, store):
    # Each network: two members, one referral from the first to the second.
    expected = set()
    for _ in range(12):
        net = await make.network()
        a, b = await make.professional(), await make.professional()
        for pro in (a, b):
            await make.ok("add_member", networkId=net, professionalId=pro)
        await make.referral(a, b, await make.customer())
        expected.add(net)

    async def trips(first: int) -> int:
        start = store.round_trips
        nodes = (await gql.data(NETWORKS, {"first": first}))["networks"]["nodes"]
        assert len(nodes) == first
        for node in nodes:
            if node["id"] in expected:
                assert node["reciprocity"] == {"referrals": 1, "coefficient": 0.0}
                assert node["imbalancedPairs"] == [{"gap": 1}]
        return store.round_trips - start

    small, large = await trips(2), await trips(12)
    assert small == large
    # The page, then members and their referrals for every network at once (the window of
    # reciprocity and the whole history of imbalancedPairs are the same key here).
    assert large <= 3
