"""Trust paths, trusted professionals and referral chains through the API, on built scenarios."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from graph.algorithms.trust import hired_trust, referred_by_trust, referred_trust

PATHS = """
query($from: ID!, $to: ID!, $limit: Int, $hops: Int) {
  trustPaths(from: $from, to: $to, limit: $limit, maxHops: $hops) {
    trust
    hops { relation trust at
      from { __typename ... on Customer { id displayName } ... on Professional { id } }
      to { __typename ... on Customer { id } ... on Professional { id } }
      job { id rating } referral { id status } }
  }
}
"""
TRUSTED = """
query($id: ID!, $trade: String, $limit: Int, $hops: Int) {
  customer(id: $id) { trustedProfessionals(trade: $trade, limit: $limit, maxHops: $hops) {
    trust professional { id trades } path { trust hops { relation } } } }
}
"""
CHAIN = "query($id: ID!) { referral(id: $id) { chain { id note referrer { __typename } } } }"


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


@pytest.fixture
async def town(make):
    """me <- ann referred me to the roofer (so me trusts ann); ann hired the plumber (5, a year
    ago); bob (who me never met) hired the plumber too; the roofer referred the plumber."""
    me, ann, bob = [await make.customer(name=n) for n in ("Meg Self", "Ann Friend", "Bob Other")]
    plumber = await make.professional(trades=["plumbing"])
    roofer = await make.professional(trades=["roofing"])
    job = await make.job(ann, plumber, rating=5, completedAt=ago(365))
    await make.job(bob, plumber, rating=1, completedAt=ago(1))
    intro = await make.referral(ann, roofer, me)
    tip = await make.referral(roofer, plumber, ann)
    return {"me": me, "ann": ann, "bob": bob, "plumber": plumber, "roofer": roofer, "job": job,
            "intro": intro, "tip": tip}


async def test_trust_paths_hand_computed(gql, town):
    data = await gql.data(PATHS, {"from": town["me"], "to": town["plumber"], "limit": 5,
                                  "hops": 4})
    paths = data["trustPaths"]
    # Best: me -REFERRED_BY-> ann -HIRED-> plumber.
    first = paths[0]
    assert [h["relation"] for h in first["hops"]] == ["REFERRED_BY", "HIRED"]
    expected = referred_by_trust() * hired_trust(5, 365)
    assert math.isclose(first["trust"], expected, rel_tol=1e-3)
    assert first["hops"][0]["from"]["id"] == town["me"]
    assert first["hops"][0]["to"]["id"] == town["ann"]
    assert first["hops"][1]["job"] == {"id": town["job"], "rating": 5}  # an admin reads it
    assert first["hops"][0]["referral"] == {"id": town["intro"], "status": "SENT"}
    # ann was the referee of the roofer's tip, so she trusts the roofer's judgement ...
    assert [h["relation"] for h in paths[1]["hops"]] == ["REFERRED_BY", "REFERRED_BY",
                                                         "REFERRED"]
    sent = referred_trust("SENT", False)
    assert math.isclose(paths[1]["trust"], referred_by_trust() ** 2 * sent, rel_tol=1e-6)
    # She also recommended the roofer to me herself (REFERRED, unverified, SENT): between two
    # parties only the most trusted relation counts, so that is not a path of its own.
    assert len(paths) == 2
    for path in paths:
        assert math.isclose(path["trust"], math.prod(h["trust"] for h in path["hops"]))


async def test_max_hops_and_limit_bound_the_answer(gql, town):
    two = await gql.data(PATHS, {"from": town["me"], "to": town["plumber"], "limit": 5,
                                 "hops": 2})
    assert [len(p["hops"]) for p in two["trustPaths"]] == [2]
    one = await gql.data(PATHS, {"from": town["me"], "to": town["plumber"], "limit": 1})
    assert len(one["trustPaths"]) == 1
    none = await gql.data(PATHS, {"from": town["plumber"], "to": town["me"]})
    assert none["trustPaths"] == []


async def test_unknown_ids_and_limits_are_clear_errors(gql, town, uid):
    missing = await gql.post(PATHS, {"from": town["me"], "to": uid("pro")})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = await gql.post(PATHS, {"from": "nonsense", "to": town["plumber"]})
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION"
    for hops in (0, 7):
        body = await gql.post(PATHS, {"from": town["me"], "to": town["plumber"], "hops": hops})
        assert body["errors"][0]["extensions"]["limit"] == "maxHops"
    body = await gql.post(PATHS, {"from": town["me"], "to": town["plumber"], "limit": 51})
    assert body["errors"][0]["extensions"]["limit"] == "limit"


async def test_only_the_asker_traces_from_itself(as_, town):
    mine = await as_("customer", town["me"]).post(PATHS, {"from": town["me"],
                                                          "to": town["plumber"]})
    assert "errors" not in mine and mine["data"]["trustPaths"]
    theirs = await as_("customer", town["bob"]).post(PATHS, {"from": town["me"],
                                                             "to": town["plumber"]})
    assert theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Inside a path, other customers appear by display name only.
    hop = mine["data"]["trustPaths"][0]["hops"][1]
    assert hop["from"]["displayName"] == "Ann F."
    assert hop["job"] is None  # ann's job is hers and the plumber's to read


async def test_no_path_passes_through_an_erased_customer(gql, town):
    erased = await gql.data("mutation($id: ID!) { deleteCustomer(id: $id) { deletedId } }",
                            {"id": town["ann"]})
    assert erased["deleteCustomer"]["deletedId"] == town["ann"]
    data = await gql.data(PATHS, {"from": town["me"], "to": town["plumber"], "limit": 5})
    assert data["trustPaths"] == []
    gone = await gql.post(PATHS, {"from": town["ann"], "to": town["plumber"]})
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_trusted_professionals(gql, make, town):
    # me hired a tiler itself: one HIRED hop.
    tiler = await make.professional(trades=["tiling", "plumbing"])
    await make.job(town["me"], tiler, rating=4, completedAt=ago(30))
    data = await gql.data(TRUSTED, {"id": town["me"]})
    found = data["customer"]["trustedProfessionals"]
    ids = [f["professional"]["id"] for f in found]
    assert set(ids) == {tiler, town["plumber"], town["roofer"]}
    trusts = [f["trust"] for f in found]
    assert trusts == sorted(trusts, reverse=True)
    direct = next(f for f in found if f["professional"]["id"] == tiler)
    assert [h["relation"] for h in direct["path"]["hops"]] == ["HIRED"]
    assert math.isclose(direct["trust"], hired_trust(4, 30), rel_tol=1e-3)
    plumbing = await gql.data(TRUSTED, {"id": town["me"], "trade": "Plumbing"})
    assert {f["professional"]["id"] for f in plumbing["customer"]["trustedProfessionals"]} == {
        tiler, town["plumber"]}
    one = await gql.data(TRUSTED, {"id": town["me"], "limit": 1})
    assert [f["professional"]["id"] for f in one["customer"]["trustedProfessionals"]] == ids[:1]
    near = await gql.data(TRUSTED, {"id": town["me"], "hops": 1})
    assert [f["professional"]["id"] for f in near["customer"]["trustedProfessionals"]] == [tiler]


async def test_trusted_professionals_are_private(as_, town):
    body = await as_("customer", town["bob"]).post(TRUSTED, {"id": town["me"]})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_referral_chain_nearest_first_without_loops(gql, as_, make):
    a, b, c, d = [await make.customer(name=f"{n} Chain") for n in ("Amy", "Ben", "Cat", "Dan")]
    pro = await make.professional()
    first = await make.referral(a, pro, b, note="a to b")
    second = await make.referral(b, pro, c, note="b to c")
    third = await make.referral(c, pro, d)
    data = await gql.data(CHAIN, {"id": third})
    assert [r["id"] for r in data["referral"]["chain"]] == [second, first]
    assert (await gql.data(CHAIN, {"id": first}))["referral"]["chain"] == []
    # A loop (d refers the professional back to a) ends the chain instead of circling.
    loop = await make.referral(d, pro, a)
    again = await make.referral(a, pro, c)
    chain = (await gql.data(CHAIN, {"id": again}))["referral"]["chain"]
    assert [r["id"] for r in chain] == [loop, third, second]
    # Notes stay with each referral's own parties: d sees its own referral but not b's note.
    seen_by_d = await as_("customer", d).data(CHAIN, {"id": third})
    assert [r["note"] for r in seen_by_d["referral"]["chain"]] == [None, None]


async def test_trusted_professionals_read_in_rank_pages(gql, make, town, monkeypatch):
    """Reached professionals are read best first, a page at a time: a small limit reads one
    short page, and a trade filter that skips the first page still finds its match further
    down."""
    from graph import trust

    reads: list[int] = []
    real = trust.professionals_by_ids

    async def counted(store, ids):
        reads.append(len(ids))
        return await real(store, ids)

    monkeypatch.setattr(trust, "PROFESSIONALS_PAGE", 1)  # pages of max(2 * limit, 1) = 2
    monkeypatch.setattr(trust, "professionals_by_ids", counted)
    tiler = await make.professional(trades=["tiling"])
    await make.job(town["me"], tiler, rating=5, completedAt=ago(3))
    every = await gql.data(TRUSTED, {"id": town["me"]})  # limit 10: one page of 20
    ranked = [f["professional"]["id"] for f in every["customer"]["trustedProfessionals"]]
    assert len(ranked) == 3 and reads == [3]
    reads.clear()
    one = await gql.data(TRUSTED, {"id": town["me"], "limit": 1})
    assert [f["professional"]["id"] for f in one["customer"]["trustedProfessionals"]] == \
        ranked[:1]
    assert reads == [2]  # not all three
    reads.clear()
    last = {town["plumber"]: "plumbing", town["roofer"]: "roofing", tiler: "tiling"}[ranked[2]]
    found = await gql.data(TRUSTED, {"id": town["me"], "trade": last, "limit": 1})
    assert [f["professional"]["id"] for f in found["customer"]["trustedProfessionals"]] == \
        ranked[2:]
    assert reads == [2, 1]  # the third professional is on the second page


async def test_the_last_hop_towards_a_goal_reads_only_relations_to_it(store, gql, town):
    """trustPaths reads, on its last level, only the relations that end at its target; the
    paths found are the same as from the whole neighbourhood."""
    from graph import trust

    me, ann, plumber = town["me"], town["ann"], town["plumber"]
    whole = await trust.neighbourhood(store, me, 2)
    towards = await trust.neighbourhood(store, me, 2, goal=plumber)
    # Level one (me -> ann) is read whole; from ann, of HIRED plumber, REFERRED roofer and
    # REFERRED_BY roofer, only the hire of the plumber is left.
    assert {(e.source, e.target) for e in whole} >= {(ann, town["roofer"])}
    assert {(e.source, e.relation, e.target) for e in towards} == {
        (ann, "HIRED", plumber), (me, "REFERRED_BY", ann)}
    data = await gql.data(PATHS, {"from": me, "to": plumber, "limit": 5, "hops": 2})
    assert [[h["relation"] for h in p["hops"]] for p in data["trustPaths"]] == [
        ["REFERRED_BY", "HIRED"]]
