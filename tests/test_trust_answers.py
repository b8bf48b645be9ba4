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
