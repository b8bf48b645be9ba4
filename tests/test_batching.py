"""DataLoaders: the number of store round trips does not grow with the page size."""

from __future__ import annotations

from app.settings import Settings

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


# The profile page's question: the professional and its newest received referrals with their
# parties. Asked directly below the professional it is read in one statement (graph.shapes);
# inside a fragment it takes the loaders' two trips. Both answer the same.
PROFILE = """
query($pro: ID!, $first: Int) {
  professional(id: $pro) { id name trades
    referralsReceived(first: $first) { totalCount pageInfo { hasNextPage endCursor }
      nodes { id status
        referrer { ... on Customer { id name } ... on Professional { id name } }
        professional { id name } referee { id name } } } }
}
"""
PROFILE_IN_FRAGMENT = """
query($pro: ID!, $first: Int) {
  professional(id: $pro) { id name trades ...received }
}
fragment received on Professional {
  referralsReceived(first: $first) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id status
      referrer { ... on Customer { id name } ... on Professional { id name } }
      professional { id name } referee { id name } } }
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


NETWORK_FIELDS = "id reciprocity { referrals coefficient } imbalancedPairs(minGap: 1) { gap }"


async def test_network_reciprocity_costs_the_same_for_any_page(gql, make, store):
    # Each network: two members, one referral from the first to the second. The networks are
    # asked for by id, one aliased field each, so that the count does not include the
    # networks list's own reads (they vary with what its id windows have learnt).
    nets = []
    for _ in range(12):
        net = await make.network()
        a, b = await make.professional(), await make.professional()
        for pro in (a, b):
            await make.ok("add_member", networkId=net, professionalId=pro)
        await make.referral(a, b, await make.customer())
        nets.append(net)

    async def trips(count: int) -> int:
        query = "{ " + " ".join(f'n{i}: network(id: "{net}") {{ {NETWORK_FIELDS} }}'
                                for i, net in enumerate(nets[:count])) + " }"
        start = store.round_trips
        data = await gql.data(query)
        assert len(data) == count
        for i, net in enumerate(nets[:count]):
            node = data[f"n{i}"]
            assert node["id"] == net
            assert node["reciprocity"] == {"referrals": 1, "coefficient": 0.0}
            assert node["imbalancedPairs"] == [{"gap": 1}]
        return store.round_trips - start

    small, large = await trips(2), await trips(12)
    assert small == large
    # The networks, then members and their referrals for every network at once (the window
    # of reciprocity and the whole history of imbalancedPairs are the same key here).
    assert large <= 3


async def test_the_profile_with_received_referrals_is_one_round_trip(gql, make, store):
    pro = await make.professional()
    other = await make.professional()
    referees = [await make.customer() for _ in range(4)]
    for i, referee in enumerate(referees):
        await make.referral(other if i % 2 else await make.customer(), pro, referee)

    async def ask(query: str, first: int | None) -> tuple[dict, int]:
        start = store.round_trips
        data = await gql.data(query, {"pro": pro, "first": first})
        return data, store.round_trips - start

    for first in (3, None):  # a page cut short, and the schema's default
        fast, fast_trips = await ask(PROFILE, first)
        slow, slow_trips = await ask(PROFILE_IN_FRAGMENT, first)
        assert fast == slow
        assert (fast_trips, slow_trips) == (1, 2)
    page = fast["professional"]["referralsReceived"]
    assert page["totalCount"] == 4 and len(page["nodes"]) == 4
    # A literal page size, and a status literal, take the one statement too.
    for argument, count in (("first: 3", 3), ("first: 20, status: SENT", 4)):
        literal = PROFILE.replace(", $first: Int", "").replace("first: $first", argument)
        data, trips = await ask(literal, None)
        assert trips == 1
        assert data["professional"]["referralsReceived"]["nodes"] == page["nodes"][:count]
    assert {n["referee"]["id"] for n in page["nodes"]} == set(referees)


async def test_the_profile_of_no_professional_is_null_in_one_round_trip(gql, store):
    start = store.round_trips
    data = await gql.data(PROFILE, {"pro": "pro_nobody", "first": 5})
    assert data == {"professional": None}
    assert store.round_trips - start == 1


async def test_the_one_statement_profile_keeps_its_refusals(as_, make, store):
    pro = await make.professional()
    await make.referral(await make.customer(), pro, await make.customer())
    stranger = as_("professional", await make.professional())
    start = store.round_trips
    fast = await stranger.post(PROFILE, {"pro": pro, "first": 5})
    assert store.round_trips - start == 1  # the professional alone: its page is not read
    slow = await stranger.post(PROFILE_IN_FRAGMENT, {"pro": pro, "first": 5})
    for body in (fast, slow):  # the fragment's text sits elsewhere in its document
        for error in body["errors"]:
            del error["locations"]
    assert fast == slow
    assert [e["extensions"]["code"] for e in fast["errors"]] == ["FORBIDDEN"]


def test_the_default_page_size_is_the_schemas():
    from resolvers.professional import RECEIVED_FIRST_DEFAULT
    from schema.build import build_schema

    field = build_schema(Settings())._schema.get_type("Professional").fields["referralsReceived"]
    assert field.args["first"].default_value == RECEIVED_FIRST_DEFAULT


CUSTOMER_JOBS = """
query($c: ID!) { customer(id: $c) { id name
  jobs(first: 3) { totalCount nodes { id trade professional { id name } } } } }
"""
CUSTOMER_JOBS_IN_FRAGMENT = """
query($c: ID!) { customer(id: $c) { id name ...jobs } }
fragment jobs on Customer {
  jobs(first: 3) { totalCount nodes { id trade professional { id name } } } }
"""


async def test_a_customer_with_its_jobs_is_one_round_trip(gql, make, store):
    customer = await make.customer()
    for _ in range(4):
        await make.job(customer, await make.professional())

    async def ask(query: str) -> tuple[dict, int]:
        start = store.round_trips
        data = await gql.data(query, {"c": customer})
        return data, store.round_trips - start

    (fast, fast_trips), (slow, slow_trips) = await ask(CUSTOMER_JOBS), await ask(
        CUSTOMER_JOBS_IN_FRAGMENT)
    assert fast == slow and (fast_trips, slow_trips) == (1, 2)
    assert fast["customer"]["jobs"]["totalCount"] == 4
    assert len(fast["customer"]["jobs"]["nodes"]) == 3


async def test_the_one_statement_customer_keeps_its_refusals(as_, make, store, monkeypatch):
    from app import erasure

    monkeypatch.setattr(erasure, "CLEAR_FOR", 3600.0)
    customer = await make.customer()
    await make.job(customer, await make.professional())
    other = as_("customer", await make.customer())
    await other.post("{ __typename }")  # the viewer's own erasure check, remembered from here
    start = store.round_trips
    fast = await other.post(CUSTOMER_JOBS, {"c": customer})
    middle = store.round_trips
    slow = await other.post(CUSTOMER_JOBS_IN_FRAGMENT, {"c": customer})
    # The same trips either way: the refused customer's jobs are not read.
    assert middle - start == store.round_trips - middle
    for body in (fast, slow):
        for error in body["errors"]:
            error.pop("locations", None)
    assert fast == slow
    assert [e["extensions"]["code"] for e in fast["errors"]] == ["FORBIDDEN"]


def test_the_customer_jobs_default_is_the_schemas():
    from resolvers.customer import JOBS_FIRST_DEFAULT
    from schema.build import build_schema

    field = build_schema(Settings())._schema.get_type("Customer").fields["jobs"]
    assert field.args["first"].default_value == JOBS_FIRST_DEFAULT
