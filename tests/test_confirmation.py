"""Job confirmation: a professional's record is a claim until its customer confirms it.

Until then the job is no verified experience anywhere (trust, reputation, co-hiring, partner
neighbourhoods, network gaps, ``Referral.verified``, conversions, the customer's name); after
``confirmJob`` it is all of these, with the customer's own rating. Also: ``rejectJob``, who may
decide, and the start-up migration of jobs written before confirmation existed.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.main import AppState, open_store
from app.settings import Settings
from graph import analytics, bulk, migrations, partners
from graph.errors import StoreUnavailable
from graph.store import Store
from schema.build import build_schema

JOB_FIELDS = "id rating confirmed confirmedAt rejected customer { id name } professional { id }"
PAYLOAD = f"job {{ {JOB_FIELDS} }} errors {{ code message field }}"
RECORD = f"mutation($input: RecordJobInput!) {{ recordJob(input: $input) {{ {PAYLOAD} }} }}"
CONFIRM = (f"mutation($id: ID!, $rating: Int) {{ confirmJob(id: $id, rating: $rating) "
           f"{{ {PAYLOAD} }} }}")
REJECT = (f"mutation($id: ID!, $reason: String) {{ rejectJob(id: $id, reason: $reason) "
          f"{{ {PAYLOAD} }} }}")
JOB = f"query($id: ID!) {{ node(id: $id) {{ ... on Job {{ {JOB_FIELDS} }} }} }}"
PATHS = """query($from: ID!, $to: ID!) { trustPaths(from: $from, to: $to, limit: 3, maxHops: 2) {
  trust hops { relation job { id rating } } } }"""
REFERRAL = "query($id: ID!) { referral(id: $id) { verified status job { id } } }"
CUSTOMER = "query($id: ID!) { customer(id: $id) { name area } }"
REPUTATION = "query($id: ID!) { professional(id: $id) { reputation } }"
REFRESH = "mutation { refreshAnalytics { professionals } }"
GAPS = "query($id: ID!) { network(id: $id) { gaps { missingTrades { trade demand } } } }"


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def record_as_professional(as_, customer: str, professional: str, **kw) -> dict:
    """A job recorded by the professional itself: a claim."""
    kw.setdefault("completedAt", ago(30))
    client = as_("professional", professional)
    data = await client.data(RECORD, {"input": {"customerId": customer,
                                                "professionalId": professional, **kw}})
    payload = data["recordJob"]
    assert payload["errors"] == [], payload["errors"]
    return payload["job"]


async def hired_hops(gql, customer: str, professional: str) -> list[dict]:
    """The jobs behind the HIRED hops of the customer's trust paths to the professional."""
    paths = (await gql.data(PATHS, {"from": customer, "to": professional}))["trustPaths"]
    return [h["job"] for p in paths for h in p["hops"] if h["relation"] == "HIRED"]


async def confirm(client, job_id: str, rating: int | None = None) -> dict:
    return (await client.data(CONFIRM, {"id": job_id, "rating": rating}))["confirmJob"]


async def reject(client, job_id: str, reason: str | None = None) -> dict:
    return (await client.data(REJECT, {"id": job_id, "reason": reason}))["rejectJob"]


@pytest.fixture
async def claim(make, as_):
    """The plumber recorded a job (its rating 5, thirty days ago) with alice; alice then
    referred the plumber to bob."""
    alice = await make.customer(name="Alice Walker", area="Riverside")
    bob = await make.customer(name="Bob Stone")
    plumber = await make.professional(trades=["plumbing"])
    job = await record_as_professional(as_, alice, plumber, rating=5)
    ref = await make.referral(alice, plumber, bob)
    return {"alice": alice, "bob": bob, "plumber": plumber, "job": job["id"], "recorded": job,
            "ref": ref}


async def test_the_confirmation_fields_follow_the_jobs_access(as_, claim):
    """confirmed, confirmedAt and rejected are read with the job: its professional and its
    customer read them, another professional is refused."""
    query = "query($id: ID!) { node(id: $id) { ... on Job { confirmed confirmedAt rejected } } }"
    for client in (as_("professional", claim["plumber"]), as_("customer", claim["alice"])):
        assert (await client.data(query, {"id": claim["job"]}))["node"] == {
            "confirmed": False, "confirmedAt": None, "rejected": False}
    stranger = as_("professional", claim["plumber"].replace("pro_", "pro_x"))
    refused = await stranger.post(query, {"id": claim["job"]})
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]


async def test_a_professionals_record_is_unconfirmed(as_, claim):
    recorded = claim["recorded"]
    assert (recorded["confirmed"], recorded["confirmedAt"], recorded["rejected"]) == (
        False, None, False)
    assert recorded["rating"] == 5  # the professional's claim, until the customer rates
    # The professional that recorded it sees the customer by display name only.
    assert recorded["customer"] == {"id": claim["alice"], "name": "Alice W."}
    # The customer finds it among its jobs, waiting for its decision.
    alice = as_("customer", claim["alice"])
    data = await alice.data("query($id: ID!) { customer(id: $id) { jobs { nodes { id "
                            "confirmed } } } }", {"id": claim["alice"]})
    assert data["customer"]["jobs"]["nodes"] == [{"id": claim["job"], "confirmed": False}]


async def test_an_admins_record_is_confirmed_at_once(gql, make):
    cus, pro = await make.customer(), await make.professional()
    payload = (await gql.data(RECORD, {"input": {"customerId": cus, "professionalId": pro,
                                                 "completedAt": ago(3), "rating": 4}}))
    job = payload["recordJob"]["job"]
    assert (job["confirmed"], job["rejected"], job["rating"]) == (True, False, 4)
    assert job["confirmedAt"] is not None


async def test_an_unconfirmed_job_counts_nowhere_until_confirmed(gql, as_, make, store, claim):
    alice, plumber, job = claim["alice"], claim["plumber"], claim["job"]
    pro = as_("professional", plumber)
    # Trust: no HIRED hop from a claim (alice's own referral of the plumber is one).
    assert await hired_hops(gql, alice, plumber) == []
    # Referral.verified: alice's referral of the plumber is not verified by a claim.
    assert (await gql.data(REFERRAL, {"id": claim["ref"]}))["referral"]["verified"] is False
    # The customer's name and its record: not for the professional that only claims the job.
    refused = await pro.post(CUSTOMER, {"id": alice})
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    # Hires in the analytics batch and in partner neighbourhoods.
    hires = await analytics.hiring_edges(store)
    assert not any(r["target"] == plumber for r in hires)
    assert await analytics.customer_trades(store, [plumber]) == []
    assert await store.read(partners.CUSTOMER_NEIGHBOURHOOD, id=plumber, limit=10) == []

    confirmed = await confirm(as_("customer", alice), job, rating=4)
    assert confirmed["errors"] == []
    got = confirmed["job"]
    assert (got["confirmed"], got["rejected"], got["rating"]) == (True, False, 4)
    assert got["confirmedAt"] is not None

    # The hop carries the customer's rating, which replaced the professional's 5.
    # (The projection keeps the most trusted relation of a pair: this hop, over the referral.)
    assert await hired_hops(gql, alice, plumber) == [{"id": job, "rating": 4}]
    # Verified later, when the job completed before the referral was confirmed.
    assert (await gql.data(REFERRAL, {"id": claim["ref"]}))["referral"]["verified"] is True
    assert (await pro.data(CUSTOMER, {"id": alice}))["customer"] == {
        "name": "Alice Walker", "area": "Riverside"}
    hires = await analytics.hiring_edges(store)
    assert [r["rating"] for r in hires if r["target"] == plumber] == [4]
    assert await analytics.customer_trades(store, [plumber]) == [["plumbing"]]
    neighbourhood = await store.read(partners.CUSTOMER_NEIGHBOURHOOD, id=plumber, limit=10)
    assert neighbourhood == [{"customer": alice, "professionals": [plumber]}]


async def test_reputation_counts_only_confirmed_jobs(gql, as_, make):
    """Two professionals alike but for a claimed job: equal reputation until the customer
    confirms it, then the confirmed one stands higher."""
    cus = await make.customer()
    claimed, other = await make.professional(), await make.professional()
    job = await record_as_professional(as_, cus, claimed, rating=5)

    async def reputations() -> tuple[float, float]:
        assert "errors" not in await gql.post(REFRESH)
        found = [(await gql.data(REPUTATION, {"id": p}))["professional"]["reputation"]
                 for p in (claimed, other)]
        return found[0], found[1]

    mine, theirs = await reputations()
    assert math.isclose(mine, theirs, rel_tol=1e-9)
    await confirm(as_("customer", cus), job["id"], rating=5)
    mine, theirs = await reputations()
    assert mine > theirs


async def test_a_referral_converts_only_into_a_confirmed_job(gql, make, as_, claim):
    # bob referred the plumber to alice; the plumber accepted; the job is alice's claim.
    ref = await make.referral(claim["bob"], claim["plumber"], claim["alice"])
    assert (await make.status(ref, "ACCEPTED"))["errors"] == []
    refused = await make.status(ref, "CONVERTED", jobId=claim["job"])
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("VALIDATION", ["input", "jobId"])]
    assert "confirmed" in refused["errors"][0]["message"]
    assert (await gql.data(REFERRAL, {"id": ref}))["referral"] == {
        "verified": False, "status": "ACCEPTED", "job": None}

    await confirm(as_("customer", claim["alice"]), claim["job"])
    converted = await make.status(ref, "CONVERTED", jobId=claim["job"])
    assert converted["errors"] == []
    assert converted["referral"]["status"] == "CONVERTED"


async def test_an_admins_record_verifies_earlier_referrals_of_older_jobs(gql, make):
    """An admin's record is a confirmation: a referral the customer made after the job was
    completed becomes verified when the job is recorded."""
    alice, bob = await make.customer(), await make.customer()
    plumber = await make.professional()
    ref = await make.referral(alice, plumber, bob)
    assert (await gql.data(REFERRAL, {"id": ref}))["referral"]["verified"] is False
    await make.job(alice, plumber, completedAt=ago(60))
    assert (await gql.data(REFERRAL, {"id": ref}))["referral"]["verified"] is True


async def test_a_referral_made_before_the_job_was_completed_stays_unverified(gql, make, as_):
    alice, bob = await make.customer(), await make.customer()
    plumber = await make.professional()
    ref = await make.referral(alice, plumber, bob)
    # Completed after the referral was made (and before now).
    job = await record_as_professional(as_, alice, plumber, completedAt=ago(0))
    await confirm(as_("customer", alice), job["id"], rating=4)
    assert (await gql.data(REFERRAL, {"id": ref}))["referral"]["verified"] is False


async def test_confirming_without_a_rating_leaves_no_rating(as_, claim):
    """Only the customer's rating counts: confirmed without one, the job has none."""
    got = await confirm(as_("customer", claim["alice"]), claim["job"])
    assert (got["job"]["confirmed"], got["job"]["rating"]) == (True, None)


async def test_confirming_again(as_, gql, claim):
    alice = as_("customer", claim["alice"])
    first = await confirm(alice, claim["job"], rating=4)
    # The same confirmation again (a retry) returns the job unchanged.
    again = await confirm(alice, claim["job"], rating=4)
    assert again == first
    # Another rating after the fact is refused, and the rating stays.
    changed = await confirm(alice, claim["job"], rating=1)
    assert changed["job"] is None
    assert [(e["code"], e["field"]) for e in changed["errors"]] == [
        ("INVALID_TRANSITION", ["rating"])]
    assert (await gql.data(JOB, {"id": claim["job"]}))["node"]["rating"] == 4
    # A confirmed job cannot be rejected.
    refused = await reject(alice, claim["job"], "changed my mind")
    assert [e["code"] for e in refused["errors"]] == ["INVALID_TRANSITION"]
    node = (await gql.data(JOB, {"id": claim["job"]}))["node"]
    assert (node["confirmed"], node["rejected"]) == (True, False)


async def test_a_rejected_job_is_kept_and_counts_nowhere(gql, make, as_, store, claim):
    alice = as_("customer", claim["alice"])
    got = await reject(alice, claim["job"], "  never happened ")
    assert got["errors"] == []
    assert (got["job"]["rejected"], got["job"]["confirmed"], got["job"]["confirmedAt"]) == (
        True, False, None)
    rows = await store.read("MATCH (x:Job {id: $id}) RETURN x.rejectedReason AS reason",
                            id=claim["job"])
    assert rows == [{"reason": "never happened"}]
    # Rejecting again changes nothing; confirming is refused and writes nothing.
    assert (await reject(alice, claim["job"]))["job"] == got["job"]
    refused = await confirm(alice, claim["job"], rating=5)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("INVALID_TRANSITION", ["id"])]
    node = (await gql.data(JOB, {"id": claim["job"]}))["node"]
    assert (node["confirmed"], node["rejected"], node["rating"]) == (False, True, 5)
    # It counts nowhere.
    assert await hired_hops(gql, claim["alice"], claim["plumber"]) == []
    ref = await make.referral(claim["bob"], claim["plumber"], claim["alice"])
    await make.status(ref, "ACCEPTED")
    converted = await make.status(ref, "CONVERTED", jobId=claim["job"])
    assert [e["code"] for e in converted["errors"]] == ["VALIDATION"]


async def test_a_job_decided_once_under_concurrent_decisions(as_, gql, claim):
    alice = as_("customer", claim["alice"])
    same = await asyncio.gather(*(confirm(alice, claim["job"], rating=3) for _ in range(4)))
    assert all(p["errors"] == [] and p["job"]["rating"] == 3 for p in same)

    cus, pro = claim["bob"], claim["plumber"]
    job = (await record_as_professional(as_, cus, pro))["id"]
    bob = as_("customer", cus)
    yes, no = await asyncio.gather(confirm(bob, job, rating=4), reject(bob, job))
    winners = [p for p in (yes, no) if p["errors"] == []]
    losers = [p for p in (yes, no) if p["errors"] != []]
    assert len(winners) == 1 and [e["code"] for e in losers[0]["errors"]] == [
        "INVALID_TRANSITION"]
    node = (await gql.data(JOB, {"id": job}))["node"]
    assert node["confirmed"] != node["rejected"]


@pytest.mark.parametrize(("rating", "reason"), [(0, None), (6, None), (None, "x" * 2001)])
async def test_bad_arguments_write_nothing(as_, gql, claim, rating, reason):
    alice = as_("customer", claim["alice"])
    if reason is None:
        payload = await confirm(alice, claim["job"], rating=rating)
        field = ["rating"]
    else:
        payload = await reject(alice, claim["job"], reason)
        field = ["reason"]
    assert payload["job"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION", field)]
    node = (await gql.data(JOB, {"id": claim["job"]}))["node"]
    assert (node["confirmed"], node["rejected"], node["rating"]) == (False, False, 5)


DECIDERS = {
    "customer": lambda as_, w: as_("customer", w["alice"]),
    "admin": lambda as_, w: as_("admin"),
}
REFUSED = {
    "the professional": lambda as_, w: as_("professional", w["plumber"]),
    "another customer": lambda as_, w: as_("customer", w["bob"]),
    "an organiser": lambda as_, w: as_("organiser", None, [w["net"]]),
}


@pytest.fixture
async def world(make, claim):
    net = await make.network()
    await make.ok("add_member", networkId=net, professionalId=claim["plumber"])
    return {**claim, "net": net}


@pytest.mark.parametrize("who", sorted(DECIDERS))
@pytest.mark.parametrize("decision", ["confirm", "reject"])
async def test_the_customer_and_admins_decide(as_, world, who, decision):
    client = DECIDERS[who](as_, world)
    payload = await (confirm(client, world["job"], 3) if decision == "confirm"
                     else reject(client, world["job"]))
    assert payload["errors"] == []
    assert payload["job"]["confirmed" if decision == "confirm" else "rejected"] is True


@pytest.mark.parametrize("who", sorted(REFUSED))
@pytest.mark.parametrize("decision", ["confirm", "reject"])
async def test_nobody_else_decides_and_learns_nothing(as_, gql, uid, world, who, decision):
    client = REFUSED[who](as_, world)

    async def attempt(job_id: str) -> dict:
        return await (confirm(client, job_id, 5) if decision == "confirm"
                      else reject(client, job_id, "no"))

    refused = await attempt(world["job"])
    assert refused["job"] is None
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    # An unknown id, or no job id at all, reads exactly the same.
    assert await attempt(uid("job")) == refused
    assert await attempt(world["alice"]) == refused
    node = (await gql.data(JOB, {"id": world["job"]}))["node"]
    assert (node["confirmed"], node["rejected"], node["rating"]) == (False, False, 5)


async def test_an_admin_is_told_an_unknown_job_is_missing(gql, uid):
    payload = await confirm(gql, uid("job"), 3)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["id"])]
    payload = await reject(gql, "cus_notajob")
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION", ["id"])]


async def test_network_gaps_count_only_confirmed_hires(gql, make, as_, uid):
    """A member's customer hired an outsider in a trade the network lacks: a gap only once
    the customer confirmed that hire."""
    tag = uid("x")[-8:].lower()
    member = await make.professional(trades=[f"plumbing {tag}"])
    outsider = await make.professional(trades=[f"glazing {tag}"])
    cus = await make.customer()
    await make.job(cus, member)  # an admin's record: confirmed
    net = await make.network()
    await make.ok("add_member", networkId=net, professionalId=member)
    claimed = await record_as_professional(as_, cus, outsider)

    def demand(data: dict) -> list:
        return [g for g in data["network"]["gaps"]["missingTrades"]
                if g["trade"] == f"glazing {tag}"]

    assert demand(await gql.data(GAPS, {"id": net})) == []
    await confirm(as_("customer", cus), claimed["id"])
    assert demand(await gql.data(GAPS, {"id": net})) == [
        {"trade": f"glazing {tag}", "demand": 1}]


async def test_partner_neighbourhoods_count_only_confirmed_hires(store, make, as_):
    plumber, roofer = await make.professional(), await make.professional(trades=["roofing"])
    cus = await make.customer()
    await make.job(cus, plumber)
    claimed = await make.job(cus, roofer, confirm=False)
    shared = await store.read(partners.SHARED_CUSTOMERS, id=plumber, ids=[roofer])
    assert shared == []
    await confirm(as_("customer", cus), claimed)
    shared = await store.read(partners.SHARED_CUSTOMERS, id=plumber, ids=[roofer])
    assert shared == [{"id": roofer, "shared": 1}]


def test_the_served_schema_has_the_confirmation_fields():
    schema = build_schema(Settings())._schema
    job = schema.type_map["Job"].fields  # type: ignore[attr-defined]
    assert (str(job["confirmed"].type), str(job["confirmedAt"].type),
            str(job["rejected"].type)) == ("Boolean!", "DateTime", "Boolean!")
    mutations = schema.mutation_type.fields  # type: ignore[union-attr]
    for name, extra in (("confirmJob", "rating"), ("rejectJob", "reason")):
        field = mutations[name]
        assert str(field.type) == "JobPayload!"
        assert {k: str(a.type) for k, a in field.args.items()} == {
            "id": "ID!", extra: "Int" if extra == "rating" else "String"}


async def test_loaded_jobs_are_confirmed(store, uid):
    """Seeds and imports (graph.bulk) write confirmed jobs."""
    cus, pro, job = uid("cus"), uid("pro"), uid("job")
    at = "2025-06-01T10:00:00.000000+00:00"
    data = bulk.Dataset(
        professionals=[{"id": pro, "name": "Pat", "trades": ["plumbing"], "area": None,
                        "createdAt": at}],
        customers=[{"id": cus, "name": "Cus Tomer", "area": None, "createdAt": at}],
        jobs=[{"id": job, "customerId": cus, "professionalId": pro, "trade": "plumbing",
               "completedAt": at, "rating": 3, "value": None, "createdAt": at}],
    )
    await bulk.load(store, data)
    assert await store.read(STATE, ids=[job]) == [
        {"id": job, "confirmed": True, "confirmedAt": at, "rejected": False,
         "recordedRating": 3}]


# ---- the start-up migration --------------------------------------------------------------

OLD_SHAPE = """
MATCH (c:Customer {id: $customer}), (p:Professional {id: $professional})
UNWIND $jobs AS j
CREATE (c)-[:BOOKED]->(:Job {id: j.id, trade: 'plumbing', completedAt: j.completedAt,
                             rating: 4, value: 10.0, createdAt: j.completedAt})-[:DONE_BY]->(p)
"""
STATE = """
UNWIND $ids AS id
MATCH (x:Job {id: id})
RETURN x.id AS id, x.confirmed AS confirmed, x.confirmedAt AS confirmedAt,
       x.rejected AS rejected, x.recordedRating AS recordedRating
"""


async def test_migration_confirms_jobs_written_before_confirmation(store, make, uid, gql,
                                                                  monkeypatch):
    cus, pro = await make.customer(), await make.professional()
    at = "2025-06-01T10:00:00.000000+00:00"
    ids = [uid("job") for _ in range(5)]
    await store.run_write(OLD_SHAPE, customer=cus, professional=pro,
                          jobs=[{"id": i, "completedAt": at} for i in ids])
    assert (await gql.data(PATHS, {"from": cus, "to": pro}))["trustPaths"] == []

    monkeypatch.setattr(migrations, "BATCH", 2)  # several batches
    done = await migrations.migrate(store)
    # Other tests may have left old-shape jobs of their own in the shared store.
    assert done["confirm jobs recorded before confirmation"] >= len(ids)
    rows = sorted(await store.read(STATE, ids=ids), key=lambda r: r["id"])
    assert rows == [{"id": i, "confirmed": True, "confirmedAt": at, "rejected": False,
                     "recordedRating": 4} for i in sorted(ids)]
    assert (await gql.data(PATHS, {"from": cus, "to": pro}))["trustPaths"]

    # Again: nothing to do, nothing changed.
    again = await migrations.migrate(store)
    assert again["confirm jobs recorded before confirmation"] == 0
    assert sorted(await store.read(STATE, ids=ids), key=lambda r: r["id"]) == rows


async def test_the_service_migrates_at_start_up(store, bolt, settings, make, uid):
    """open_store (serve and every CLI command) migrates right after ensuring the schema."""
    cus, pro, job = await make.customer(), await make.professional(), uid("job")
    at = "2025-07-01T10:00:00.000000+00:00"
    await store.run_write(OLD_SHAPE, customer=cus, professional=pro,
                          jobs=[{"id": job, "completedAt": at}])
    attached = replace(settings, neo4j_uri=bolt.uri, neo4j_user=bolt.user,
                       neo4j_password=bolt.password, neo4j_database=bolt.database)
    opened = await open_store(attached, AppState())
    try:
        rows = await opened.read(STATE, ids=[job])
    finally:
        await opened.close()
    assert (rows[0]["confirmed"], rows[0]["confirmedAt"]) == (True, at)


async def test_migration_leaves_current_jobs_alone(store, as_, make):
    cus, pro = await make.customer(), await make.professional()
    job = await record_as_professional(as_, cus, pro)
    await migrations.migrate(store)
    rows = await store.read(STATE, ids=[job["id"]])
    assert (rows[0]["confirmed"], rows[0]["rejected"]) == (False, False)


async def test_migration_runs_with_the_batch_budget(store):
    """A store scan that outlasts the per-call budget (here made tiny) still migrates: the
    steps take the batch budget, so a large store does not fail start-up."""
    hurried = Store(store.driver, store.database, timeout=1e-9, batch_timeout=60.0)
    with pytest.raises(StoreUnavailable):
        await hurried.read(STATE, ids=[])  # the per-call budget alone is too short
    done = await migrations.migrate(hurried)
    assert set(done) == {name for name, _ in migrations.STEPS}
