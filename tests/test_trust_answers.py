"""Trusted professionals that hold up: the customer's own hire is always shown, and equal
trust is ordered the stated way."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from graph.algorithms.trust import hired_trust, referred_by_trust, referred_trust

TRUSTED = """
query($id: ID!) {
  customer(id: $id) { trustedProfessionals {
    trust professional { id }
    path { trust hops { relation trust job { id } referral { id } } }
    ownHire { trust hops { relation trust at job { id rating } to { ... on Professional { id } } } }
  } }
}
"""


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def test_own_hire_is_shown_beside_a_stronger_referral_path(gql, make):
    """Meg hired the plumber herself (5 stars, six months ago), then recommended the plumber
    to a friend, who hired it: her converted, verified referral (0.9) is a stronger hop than
    her hire (about 0.86), so it is the path; her hire is ownHire."""
    me, friend = await make.customer(name="Meg Self"), await make.customer(name="Fay Friend")
    plumber = await make.professional(trades=["plumbing"])
    job = await make.job(me, plumber, rating=5, completedAt=ago(182))
    tip = await make.referral(me, plumber, friend)
    assert (await make.status(tip, "ACCEPTED"))["errors"] == []
    theirs = await make.job(friend, plumber, rating=4, completedAt=ago(1))
    assert (await make.status(tip, "CONVERTED", jobId=theirs))["errors"] == []

    found = (await gql.data(TRUSTED, {"id": me}))["customer"]["trustedProfessionals"]
    (row,) = [f for f in found if f["professional"]["id"] == plumber]
    assert [h["relation"] for h in row["path"]["hops"]] == ["REFERRED"]
    assert row["path"]["hops"][0]["referral"] == {"id": tip}
    assert math.isclose(row["trust"], referred_trust("CONVERTED", True))
    own = row["ownHire"]
    assert [h["relation"] for h in own["hops"]] == ["HIRED"]
    assert own["hops"][0]["job"] == {"id": job, "rating": 5}
    assert own["hops"][0]["to"] == {"id": plumber}
    assert math.isclose(own["trust"], hired_trust(5, 182), rel_tol=1e-3)
    assert own["trust"] < row["trust"]


async def test_own_hire_is_the_latest_even_when_an_indirect_path_is_stronger(gql, make):
    """Ann (whom Meg met through Ann's referral) hired the roofer yesterday with 5 stars; Meg
    hired it twice long ago, the latest time with 2 stars: the path runs through Ann, ownHire
    is Meg's latest hire. A professional Meg never hired has no ownHire."""
    me, ann = await make.customer(name="Meg Self"), await make.customer(name="Ann Friend")
    roofer = await make.professional(trades=["roofing"])
    other = await make.professional(trades=["painting"])
    await make.job(me, roofer, rating=5, completedAt=ago(3 * 365))
    latest = await make.job(me, roofer, rating=2, completedAt=ago(2 * 365))
    await make.job(ann, roofer, rating=5, completedAt=ago(1))
    await make.referral(ann, other, me)

    found = (await gql.data(TRUSTED, {"id": me}))["customer"]["trustedProfessionals"]
    rows = {f["professional"]["id"]: f for f in found}
    row = rows[roofer]
    assert [h["relation"] for h in row["path"]["hops"]] == ["REFERRED_BY", "HIRED"]
    assert math.isclose(row["trust"], referred_by_trust() * hired_trust(5, 1), rel_tol=1e-3)
    assert row["ownHire"]["hops"][0]["job"] == {"id": latest, "rating": 2}
    assert math.isclose(row["ownHire"]["trust"], hired_trust(2, 2 * 365), rel_tol=1e-3)
    assert rows[other]["ownHire"] is None


async def test_own_hire_follows_the_customer_privacy(as_, make):
    """The customer reads her own hire; nobody else reads her trusted professionals."""
    me, bob = await make.customer(name="Meg Self"), await make.customer(name="Bob Other")
    plumber = await make.professional(trades=["plumbing"])
    await make.job(me, plumber, rating=4, completedAt=ago(10))
    mine = await as_("customer", me).data(TRUSTED, {"id": me})
    (row,) = mine["customer"]["trustedProfessionals"]
    assert row["ownHire"]["hops"][0]["relation"] == "HIRED"
    refused = await as_("customer", bob).post(TRUSTED, {"id": me})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused["data"] is None or refused["data"]["customer"] is None


PATHS = """
query($from: ID!, $to: ID!) { trustPaths(from: $from, to: $to, limit: 3, maxHops: 3) {
  trust hops { to { ... on Customer { id } ... on Professional { id } } } } }
"""
TRUSTED_ORDER = """
query($id: ID!) { customer(id: $id) { trustedProfessionals(limit: 50) {
  trust professional { id } path { hops { to { ... on Customer { id } ... on Professional { id } }
  } } } } }
"""


async def test_equal_trust_goes_to_fewer_hops_then_to_ids(gql, make):
    """Four friends, who each introduced Meg to someone, hired the same plumber on the same
    day with the same rating: four paths of equal trust, in the order of the friends' ids; the
    limit keeps the first three. Two painters the friends hired alike tie in
    trustedProfessionals, by id, each with the path through the friend of the lowest id."""
    me = await make.customer(name="Meg Self")
    friends = [await make.customer(name=f"Friend {i}") for i in range(4)]
    plumber = await make.professional(trades=["plumbing"])
    painters = [await make.professional(trades=["painting"]) for _ in range(2)]
    day = ago(40)
    for f in friends:
        await make.referral(f, plumber, me)
        await make.job(f, plumber, rating=4, completedAt=day)
        for painter in painters:
            await make.job(f, painter, rating=3, completedAt=day)
    paths = (await gql.data(PATHS, {"from": me, "to": plumber}))["trustPaths"]
    assert len({p["trust"] for p in paths}) == 1
    assert [p["hops"][0]["to"]["id"] for p in paths] == sorted(friends)[:3]
    found = (await gql.data(TRUSTED_ORDER, {"id": me}))["customer"]["trustedProfessionals"]
    tied = [f for f in found if f["professional"]["id"] in painters]
    assert [f["professional"]["id"] for f in tied] == sorted(painters)
    assert tied[0]["trust"] == tied[1]["trust"]
    for f in tied:
        assert f["path"]["hops"][0]["to"]["id"] == min(friends)
