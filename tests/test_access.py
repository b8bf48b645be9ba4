"""Who may see and change what: every row of the policy, allowed and refused."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.conftest import TEST_SECRET, mutation_text


@pytest.fixture
async def world(make):
    """Two customers and two professionals; alice hired plumber and referred bob to it."""
    alice = await make.customer(name="Alice Walker", area="Riverside")
    bob = await make.customer(name="Bob Stone", area="Old Town")
    plumber = await make.professional(trades=["plumbing"])
    roofer = await make.professional(trades=["roofing"])
    job = await make.job(alice, plumber, rating=5)
    ref = await make.referral(alice, plumber, bob, note="fixed our boiler")
    net = await make.network()
    await make.ok("add_member", networkId=net, professionalId=plumber)
    return {"alice": alice, "bob": bob, "plumber": plumber, "roofer": roofer, "job": job,
            "ref": ref, "net": net}


def codes(body):
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


CUSTOMER = "query($id: ID!) { customer(id: $id) { id name area displayName } }"
CUSTOMER_LISTS = """query($id: ID!) { customer(id: $id) {
  jobs { totalCount } referralsMade { totalCount } referralsReceived { totalCount } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
REFERRAL = "query($id: ID!) { referral(id: $id) { id note status } }"
JOB = "query($id: ID!) { node(id: $id) { ... on Job { id rating } } }"


async def test_a_customer_reads_itself_and_its_lists(as_, world):
    alice = as_("customer", world["alice"])
    me = await alice.data(CUSTOMER, {"id": world["alice"]})
    assert me["customer"] == {"id": world["alice"], "name": "Alice Walker", "area": "Riverside",
                              "displayName": "Alice W."}
    lists = (await alice.data(CUSTOMER_LISTS, {"id": world["alice"]}))["customer"]
    assert (lists["jobs"]["totalCount"], lists["referralsMade"]["totalCount"]) == (1, 1)
    assert (await alice.data(JOB, {"id": world["job"]}))["node"]["rating"] == 5
    assert (await alice.data(REFERRAL, {"id": world["ref"]}))["referral"]["id"] == world["ref"]


async def test_a_customer_cannot_read_another_customer(as_, world, uid):
    bob = as_("customer", world["bob"])
    refused = await bob.post(CUSTOMER, {"id": world["alice"]})
    assert codes(refused) == ["FORBIDDEN"] and refused["data"]["customer"] is None
    # The refusal for a customer that does not exist reads the same: nothing is revealed.
    missing = await bob.post(CUSTOMER, {"id": uid("cus")})
    assert codes(missing) == ["FORBIDDEN"]
    assert missing["errors"][0]["message"] == refused["errors"][0]["message"]
    assert codes(await bob.post(NODE, {"id": world["alice"]})) == ["FORBIDDEN"]
    assert codes(await bob.post(JOB, {"id": world["job"]})) == ["FORBIDDEN"]
    assert codes(await bob.post("{ customers { totalCount } }")) == ["FORBIDDEN"]


async def test_a_referee_reads_the_referral_but_not_the_referrers_job(as_, world):
    bob = as_("customer", world["bob"])
    data = await bob.post(
        "query($id: ID!) { referral(id: $id) { id referrer { ... on Customer { id name area "
        "displayName } } } }", {"id": world["ref"]})
    assert "errors" not in data
    # The referee sees the referrer's display name only: it never hired anyone here.
    assert data["data"]["referral"]["referrer"] == {
        "id": world["alice"], "name": "Alice W.", "area": None, "displayName": "Alice W."}
    lists = await bob.post(CUSTOMER_LISTS.replace("$id", "$id"), {"id": world["alice"]})
    assert codes(lists) == ["FORBIDDEN"]


async def test_a_professional_reads_itself_and_its_referrals(as_, world):
    plumber = as_("professional", world["plumber"])
    data = await plumber.data(
        "query($id: ID!) { professional(id: $id) { referralsReceived { nodes { id } } "
        "referralsGiven { totalCount } jobs { totalCount } networks { id } } }",
        {"id": world["plumber"]})
    pro = data["professional"]
    assert pro["referralsReceived"]["nodes"] == [{"id": world["ref"]}]
    assert (pro["jobs"]["totalCount"], pro["networks"]) == (1, [{"id": world["net"]}])
    assert (await plumber.data(REFERRAL, {"id": world["ref"]}))["referral"]["note"]


async def test_a_professional_cannot_read_others_private_lists(as_, world):
    roofer = as_("professional", world["roofer"])
    body = await roofer.post(
        "query($id: ID!) { professional(id: $id) { name referralsReceived { totalCount } } }",
        {"id": world["plumber"]})
    assert codes(body) == ["FORBIDDEN"]
    # The public profile stays readable.
    assert (await roofer.data("query($id: ID!) { professional(id: $id) { name } }",
                              {"id": world["plumber"]}))["professional"]["name"]
    assert codes(await roofer.post(REFERRAL, {"id": world["ref"]})) == ["FORBIDDEN"]
    assert codes(await roofer.post(JOB, {"id": world["job"]})) == ["FORBIDDEN"]
    hidden = await roofer.data("query($id: ID!) { professional(id: $id) { networks { id } } }",
                               {"id": world["plumber"]})
    assert hidden["professional"]["networks"] == []


async def test_a_hired_professional_sees_the_full_name(as_, world):
    plumber = as_("professional", world["plumber"])
    hired = await plumber.data(CUSTOMER, {"id": world["alice"]})
    assert hired["customer"]["name"] == "Alice Walker"
    assert hired["customer"]["area"] == "Riverside"
    roofer = as_("professional", world["roofer"])
    assert codes(await roofer.post(CUSTOMER, {"id": world["alice"]})) == ["FORBIDDEN"]
    # Through the referral that names it, the plumber sees bob (never hired) by display name.
    via = await plumber.data("query($id: ID!) { referral(id: $id) { referee { name area } } }",
                             {"id": world["ref"]})
    assert via["referral"]["referee"] == {"name": "Bob S.", "area": None}


async def test_a_professional_records_jobs_only_as_itself(as_, world):
    plumber = as_("professional", world["plumber"])
    job = {"customerId": world["bob"], "completedAt": "2026-02-01T10:00:00+00:00"}
    own = await plumber.data(mutation_text("job"),
                             {"input": {**job, "professionalId": world["plumber"]}})
    assert own["recordJob"]["errors"] == []
    other = await plumber.data(mutation_text("job"),
                               {"input": {**job, "professionalId": world["roofer"]}})
    assert other["recordJob"]["errors"][0]["code"] == "FORBIDDEN"
    customer = as_("customer", world["bob"])
    by_customer = await customer.data(mutation_text("job"),
                                      {"input": {**job, "professionalId": world["plumber"]}})
    assert by_customer["recordJob"]["errors"][0]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("status", ["ACCEPTED", "DECLINED"])
async def test_the_named_professional_moves_its_referrals(as_, world, status):
    plumber = as_("professional", world["plumber"])
    moved = await plumber.data(mutation_text("status"),
                               {"input": {"id": world["ref"], "status": status}})
    assert moved["updateReferralStatus"]["errors"] == []
    assert moved["updateReferralStatus"]["referral"]["status"] == status


async def test_the_named_professional_converts(as_, make, world):
    plumber = as_("professional", world["plumber"])
    await plumber.data(mutation_text("status"), {"input": {"id": world["ref"],
                                                           "status": "ACCEPTED"}})
    job = await make.job(world["bob"], world["plumber"])
    done = await plumber.data(mutation_text("status"), {"input": {
        "id": world["ref"], "status": "CONVERTED", "jobId": job}})
    assert done["updateReferralStatus"]["errors"] == []


async def test_others_cannot_move_a_referral(as_, world, uid):
    cases = [
        (as_("professional", world["plumber"]), world["ref"], "EXPIRED"),
        (as_("professional", world["roofer"]), world["ref"], "ACCEPTED"),
        (as_("customer", world["alice"]), world["ref"], "ACCEPTED"),
        (as_("customer", world["bob"]), world["ref"], "DECLINED"),
        (as_("organiser", None, [world["net"]]), world["ref"], "ACCEPTED"),
        (as_("professional", world["plumber"]), uid("ref"), "ACCEPTED"),
    ]
    for client, rid, status in cases:
        body = await client.data(mutation_text("status"), {"input": {"id": rid,
                                                                     "status": status}})
        errors = body["updateReferralStatus"]["errors"]
        assert [e["code"] for e in errors] == ["FORBIDDEN"], (rid, status)
    admin_expires = await as_("admin").data(
        mutation_text("status"), {"input": {"id": world["ref"], "status": "EXPIRED"}})
    assert admin_expires["updateReferralStatus"]["errors"] == []


async def test_parties_refer_only_as_themselves(as_, world):
    alice, roofer = as_("customer", world["alice"]), as_("professional", world["roofer"])
    mine = await roofer.data(mutation_text("referral"), {"input": {
        "referrerId": world["roofer"], "professionalId": world["plumber"],
        "refereeId": world["bob"]}})
    assert mine["createReferral"]["errors"] == []
    as_customer = await alice.data(mutation_text("referral"), {"input": {
        "referrerId": world["alice"], "professionalId": world["roofer"],
        "refereeId": world["bob"]}})
    assert as_customer["createReferral"]["errors"] == []
    for client, referrer in [(alice, world["bob"]), (roofer, world["plumber"]),
                             (alice, world["roofer"])]:
        body = await client.data(mutation_text("referral"), {"input": {
            "referrerId": referrer, "professionalId": world["plumber"],
            "refereeId": world["alice"] if referrer != world["alice"] else world["bob"]}})
        assert body["createReferral"]["errors"][0]["code"] == "FORBIDDEN"
        assert body["createReferral"]["errors"][0]["field"] == ["input", "referrerId"]


MEMBERS = "query($id: ID!) { network(id: $id) { members { totalCount nodes { id } } } }"


async def test_an_organiser_reads_and_manages_its_networks(as_, make, world):
    organiser = as_("organiser", None, [world["net"]])
    data = await organiser.data(MEMBERS, {"id": world["net"]})
    assert data["network"]["members"]["nodes"] == [{"id": world["plumber"]}]
    added = await organiser.data(mutation_text("add_member"), {"input": {
        "networkId": world["net"], "professionalId": world["roofer"]}})
    # An organiser's addition is an invitation: not a member until the professional accepts.
    assert added["addNetworkMember"]["network"]["members"]["totalCount"] == 1
    removed = await organiser.data(mutation_text("remove_member"), {"input": {
        "networkId": world["net"], "professionalId": world["roofer"]}})
    assert removed["removeNetworkMember"]["errors"] == []
    listed = await organiser.data("{ networks { nodes { id } } }")
    assert listed["networks"]["nodes"] == [{"id": world["net"]}]


async def test_an_organiser_cannot_touch_other_networks(as_, make, world):
    other = await make.network()
    organiser = as_("organiser", None, [other])
    assert codes(await organiser.post(MEMBERS, {"id": world["net"]})) == ["FORBIDDEN"]
    body = await organiser.data(mutation_text("add_member"), {"input": {
        "networkId": world["net"], "professionalId": world["roofer"]}})
    assert body["addNetworkMember"]["errors"][0]["code"] == "FORBIDDEN"
    # Members read their own network; non-members and customers do not.
    assert "errors" not in await as_("professional", world["plumber"]).post(
        MEMBERS, {"id": world["net"]})
    assert codes(await as_("professional", world["roofer"]).post(
        MEMBERS, {"id": world["net"]})) == ["FORBIDDEN"]
    assert codes(await as_("customer", world["alice"]).post(
        "{ networks { totalCount } }")) == ["FORBIDDEN"]


async def test_only_admins_create_base_objects(as_, world):
    for role, sub in [("customer", world["alice"]), ("professional", world["plumber"]),
                      ("organiser", None)]:
        client = as_(role, sub)
        for kind, payload in [("professional", {"name": "X", "trades": ["plumbing"]}),
                              ("customer", {"name": "X"}), ("network", {"name": "X"})]:
            body = await client.data(mutation_text(kind), {"input": payload})
            field = next(iter(body.values()))
            assert field["errors"][0]["code"] == "FORBIDDEN", (role, kind)
    admin = as_("admin")
    assert (await admin.data(mutation_text("customer"), {"input": {"name": "Y"}}))[
        "createCustomer"]["errors"] == []


async def test_referral_lists_are_scoped_to_the_asker(as_, world):
    plumber = as_("professional", world["plumber"])
    own = await plumber.data("query($p: ID) { referrals(professionalId: $p) { totalCount } }",
                             {"p": world["plumber"]})
    assert own["referrals"]["totalCount"] == 1
    assert codes(await plumber.post("{ referrals { totalCount } }")) == ["FORBIDDEN"]
    assert codes(await plumber.post("query($p: ID) { referrals(professionalId: $p) "
                                    "{ totalCount } }", {"p": world["roofer"]})) == ["FORBIDDEN"]
    alice = as_("customer", world["alice"])
    assert (await alice.data("query($r: ID) { referrals(referrerId: $r) { totalCount } }",
                             {"r": world["alice"]}))["referrals"]["totalCount"] == 1


ERASE = "mutation($id: ID!) { deleteCustomer(id: $id) { deletedId errors { code field } } }"
EVERYTHING = "MATCH (n) RETURN n {.*} AS props"
EVERY_LINK = "MATCH ()-[r]->() RETURN r {.*} AS props"


async def test_a_customer_erases_itself_and_the_name_is_gone(as_, make, world, store, gql, uid):
    marker = uid("cus").split("_")[1]
    name, area, note = f"Ellen {marker}", f"Lane {marker}", f"ellen says hi {marker}"
    ellen = await make.customer(name=name, area=area)
    await make.job(ellen, world["plumber"])
    await make.referral(ellen, world["plumber"], world["bob"], note=note)
    await make.referral(world["alice"], world["roofer"], ellen, note=f"for {name}")

    refused = await as_("customer", world["bob"]).data(ERASE, {"id": ellen})
    assert refused["deleteCustomer"]["errors"][0]["code"] == "FORBIDDEN"
    done = await as_("customer", ellen).data(ERASE, {"id": ellen})
    assert done["deleteCustomer"] == {"deletedId": ellen, "errors": []}

    stored = repr(await store.read(EVERYTHING)) + repr(await store.read(EVERY_LINK))
    assert ellen in stored  # the id stays (the tombstone) ...
    for text in (name, area, note):
        assert text not in stored  # ... the personal data does not
    # Counts stay right: the job and the referral still count for the professional.
    data = await gql.data("query($p: ID!, $c: ID!) { professional(id: $p) { jobs { totalCount } "
                          "referralsReceived { totalCount } } customer(id: $c) { name area "
                          "displayName referralsMade { totalCount } } }",
                          {"p": world["plumber"], "c": ellen})
    assert data["professional"]["jobs"]["totalCount"] == 2
    assert data["professional"]["referralsReceived"]["totalCount"] == 2
    assert data["customer"] == {"name": "Erased customer", "area": None,
                                "displayName": "Erased customer",
                                "referralsMade": {"totalCount": 1}}


async def test_an_admin_erases_any_customer(as_, make):
    cid = await make.customer(name="Zed Unique-Erasable")
    done = await as_("admin").data(ERASE, {"id": cid})
    assert done["deleteCustomer"]["deletedId"] == cid


async def test_anonymous_requests_get_typename_only(as_, world):
    anonymous = as_(None)
    assert await anonymous.post("{ __typename }") == {"data": {"__typename": "Query"}}
    response = await anonymous.raw("{ professionals { totalCount } }")
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    mutation = await anonymous.raw(mutation_text("customer"), {"input": {"name": "Sneaky"}})
    assert mutation.status_code == 401


async def test_bad_tokens_are_refused(http, world):
    now = int(time.time())
    tokens = [
        "not-a-jwt",
        jwt.encode({"role": "admin", "exp": now + 60}, "another-secret-that-is-long-enough",
                   algorithm="HS256"),
        jwt.encode({"role": "admin", "exp": now - 60}, TEST_SECRET, algorithm="HS256"),
        jwt.encode({"role": "admin"}, TEST_SECRET, algorithm="HS256"),
        jwt.encode({"role": "root", "exp": now + 60}, TEST_SECRET, algorithm="HS256"),
        jwt.encode({"role": "customer", "sub": world["plumber"], "exp": now + 60}, TEST_SECRET,
                   algorithm="HS256"),
    ]
    for token in tokens:
        response = await http.post("/graphql", json={"query": "{ __typename }"},
                                   headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
