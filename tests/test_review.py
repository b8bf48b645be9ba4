"""reviewReferral: who decides, what is recorded and kept, and what a bad call writes (nothing)."""

from __future__ import annotations

import asyncio
import json

import pytest

from graph.rules import NOTE_MAX

REVIEW = """mutation($input: ReviewReferralInput!) { reviewReferral(input: $input) {
  referral { id counts review { decision note by at } } errors { code message field } } }"""
STORED = """
MATCH (x:Referral {id: $id})
RETURN x.reviewDecision AS decision, x.reviewNote AS note, x.reviewBy AS by,
       x.reviewHistory AS history, x.fraud AS fraud
"""


@pytest.fixture
async def world(make):
    alice = await make.customer()
    plumber = await make.professional(trades=["plumbing"])
    roofer = await make.professional(trades=["roofing"])
    net, other = await make.network(), await make.network()
    for pro in (plumber, roofer):
        await make.ok("add_member", networkId=net, professionalId=pro)
    return {"alice": alice, "plumber": plumber, "roofer": roofer, "net": net, "other": other,
            "ref": await make.referral(plumber, roofer, alice),
            "customer_ref": await make.referral(alice, roofer, await make.customer())}


async def decide(client, referral, decision, note=None):
    data = await client.data(REVIEW, {"input": {"id": referral, "decision": decision,
                                                "note": note}})
    return data["reviewReferral"]


async def stored(store, referral):
    row = (await store.read(STORED, id=referral))[0]
    row["history"] = json.loads(row["history"]) if row["history"] else []
    return row


async def test_an_admin_confirms_fraud_and_changes_it_with_the_history_kept(gql, world, store):
    done = await decide(gql, world["ref"], "CONFIRMED_FRAUD", "  ring with pro_x ")
    assert done["errors"] == []
    review = done["referral"]["review"]
    assert (review["decision"], review["note"], review["by"]) == (
        "CONFIRMED_FRAUD", "ring with pro_x", "admin")
    assert done["referral"]["counts"] is False
    first = await stored(store, world["ref"])
    assert first["fraud"] is True and first["history"] == []

    again = await decide(gql, world["ref"], "CONFIRMED_FRAUD", "ring with pro_x")
    assert again["referral"]["review"]["at"] == review["at"]  # the same decision: no change

    cleared = await decide(gql, world["ref"], "CLEARED", "partners after all")
    assert cleared["errors"] == [] and cleared["referral"]["counts"] is True
    row = await stored(store, world["ref"])
    assert row["fraud"] is None and row["decision"] == "CLEARED"
    assert row["history"] == [{"decision": "CONFIRMED_FRAUD", "note": "ring with pro_x",
                               "at": row["history"][0]["at"], "by": "admin"}]
    assert row["history"][0]["at"].startswith(review["at"][:19])


async def test_an_organiser_decides_on_referrals_between_its_members(as_, world, store):
    organiser = as_("organiser", "org.ann", [world["net"]])
    done = await decide(organiser, world["ref"], "CONFIRMED_FRAUD")
    assert done["errors"] == []
    assert done["referral"]["review"] == {**done["referral"]["review"], "by": "org.ann",
                                          "note": None}
    # It may revise its own decision ...
    assert (await decide(organiser, world["ref"], "CLEARED"))["errors"] == []
    # ... but not one someone else made: only an admin changes another's decision.
    colleague = as_("organiser", "org.bob", [world["net"]])
    refused = await decide(colleague, world["ref"], "CONFIRMED_FRAUD")
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    assert refused["errors"][0]["field"] == ["input", "decision"]
    assert refused["referral"] is None
    assert (await stored(store, world["ref"]))["by"] == "org.ann"
    changed = await decide(as_("admin"), world["ref"], "CONFIRMED_FRAUD", "seen the logs")
    assert changed["errors"] == [] and changed["referral"]["review"]["by"] == "admin"
    assert [h["by"] for h in (await stored(store, world["ref"]))["history"]] == [
        "org.ann", "org.ann"]


async def test_an_organiser_without_a_subject_changes_no_decision(as_, world):
    """Without a subject an organiser is recorded by its role, which every such organiser
    shares: none of them can tell a decision as its own."""
    anonymous = as_("organiser", None, [world["net"]])
    done = await decide(anonymous, world["ref"], "CLEARED")
    assert done["errors"] == [] and done["referral"]["review"]["by"] == "organiser"
    again = await decide(as_("organiser", None, [world["net"]]), world["ref"],
                         "CONFIRMED_FRAUD")
    assert [e["code"] for e in again["errors"]] == ["FORBIDDEN"]


async def test_callers_who_may_not_review_are_refused_alike_and_nothing_is_written(
        as_, world, store, uid):
    callers = [
        as_("organiser", None, [world["other"]]),
        as_("professional", world["roofer"]),
        as_("professional", world["plumber"]),
        as_("customer", world["alice"]),
    ]
    unknown = await decide(callers[0], uid("ref"), "CLEARED")
    for client in callers:
        refused = await decide(client, world["ref"], "CONFIRMED_FRAUD")
        assert refused["referral"] is None
        assert refused["errors"] == unknown["errors"] == [
            {"code": "FORBIDDEN", "message": "not allowed", "field": ["input", "id"]}]
    # A customer's referral is no organiser's to decide on.
    organiser = as_("organiser", None, [world["net"]])
    refused = await decide(organiser, world["customer_ref"], "CLEARED")
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    for ref in (world["ref"], world["customer_ref"]):
        row = await stored(store, ref)
        assert (row["decision"], row["fraud"]) == (None, None)
    body = await as_(None).raw(REVIEW, {"input": {"id": world["ref"], "decision": "CLEARED"}})
    assert body.status_code == 401


async def test_bad_input_is_a_typed_error_and_writes_nothing(gql, world, store, uid):
    too_long = await decide(gql, world["ref"], "CONFIRMED_FRAUD", "x" * (NOTE_MAX + 1))
    assert [(e["code"], e["field"]) for e in too_long["errors"]] == [("VALIDATION",
                                                                      ["input", "note"])]
    malformed = await decide(gql, "pro_not_a_referral", "CLEARED")
    assert [(e["code"], e["field"]) for e in malformed["errors"]] == [("VALIDATION",
                                                                       ["input", "id"])]
    missing = await decide(gql, uid("ref"), "CLEARED")
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [("NOT_FOUND",
                                                                     ["input", "id"])]
    body = await gql.post(REVIEW, {"input": {"id": world["ref"], "decision": "FAKE"}})
    assert body["data"] is None and body["errors"]
    row = await stored(store, world["ref"])
    assert (row["decision"], row["fraud"]) == (None, None)
    fine = await decide(gql, world["ref"], "CLEARED", "x" * NOTE_MAX)
    assert fine["errors"] == [] and len(fine["referral"]["review"]["note"]) == NOTE_MAX


async def test_concurrent_decisions_lose_no_update(gql, world, store):
    results = await asyncio.gather(*(
        decide(gql, world["ref"], decision, f"note {i}")
        for i, decision in enumerate(["CONFIRMED_FRAUD", "CLEARED", "CONFIRMED_FRAUD"])))
    ok = [r for r in results if r["errors"] == []]
    assert ok and all(r["errors"][0]["code"] == "CONFLICT" for r in results if r not in ok)
    row = await stored(store, world["ref"])
    # Every decision that answered success is in the trail: the current one and the history.
    assert len(row["history"]) == len(ok) - 1
    assert row["fraud"] is (True if row["decision"] == "CONFIRMED_FRAUD" else None)
