"""Concurrent writes keep the rules: one object per client id, one open referral per triple."""

from __future__ import annotations

import asyncio

import pytest

from graph.customers import CREATE_CUSTOMER, CUSTOMER_BY_ID
from graph.errors import Duplicate
from graph.idempotent import create_once
from graph.ids import kind_of
from graph.models import Customer
from graph.store import Tx
from tests.conftest import COUNT_BY_ID, MUTATIONS, mutation_text

COUNT_REFERRALS_FOR = """
MATCH (:Professional {id: $id})<-[:FOR]-(r:Referral) RETURN count(r) AS n
"""


PREFIX = {"professional": "pro", "customer": "cus", "job": "job", "referral": "ref",
          "network": "net"}


@pytest.mark.parametrize("kind", list(PREFIX))
async def test_twenty_concurrent_creates_with_one_client_id_give_one_object(make, uid, store,
                                                                           kind):
    cus, ref, pro = await make.customer(), await make.customer(), await make.professional()
    inputs = {
        "professional": {"name": "Racy", "trades": ["plumbing"]},
        "customer": {"name": "Racy"},
        "network": {"name": "Racy"},
        "job": {"customerId": cus, "professionalId": pro,
                "completedAt": "2026-01-10T10:00:00+00:00"},
        "referral": {"referrerId": cus, "professionalId": pro, "refereeId": ref},
    }[kind]
    oid = uid(PREFIX[kind])
    bodies = await asyncio.gather(*[
        make.gql.post(mutation_text(kind), {"input": {"id": oid, **inputs}}) for _ in range(20)
    ])
    assert [b.get("errors") for b in bodies] == [None] * 20
    payloads = [b["data"][MUTATIONS[kind][0]] for b in bodies]
    assert all(p["errors"] == [] and p[kind]["id"] == oid for p in payloads)
    assert len({repr(p[kind]) for p in payloads}) == 1
    assert (await store.read(COUNT_BY_ID[kind_of(oid) or ""], id=oid))[0]["n"] == 1


async def test_concurrent_referrals_for_one_triple_leave_one_open(make, store):
    referrer, referee = await make.customer(), await make.customer()
    pro = await make.professional()
    payloads = await asyncio.gather(*[
        make.call("referral", referrerId=referrer, professionalId=pro, refereeId=referee)
        for _ in range(10)
    ])
    created = [p for p in payloads if not p["errors"]]
    assert len(created) == 1
    assert {p["errors"][0]["code"] for p in payloads if p["errors"]} == {"DUPLICATE"}
    assert (await store.read(COUNT_REFERRALS_FOR, id=pro))[0]["n"] == 1


async def test_concurrent_status_changes_apply_once(make, gql):
    referrer, referee = await make.customer(), await make.customer()
    pro = await make.professional()
    rid = await make.referral(referrer, pro, referee)
    payloads = await asyncio.gather(*[make.status(rid, "ACCEPTED") for _ in range(8)])
    assert sum(1 for p in payloads if not p["errors"]) == 1
    data = await gql.data("query($id: ID!) { referral(id: $id) { history { status } } }",
                          {"id": rid})
    assert [h["status"] for h in data["referral"]["history"]] == ["SENT", "ACCEPTED"]


async def test_one_job_converts_one_referral_even_under_races(make):
    referee, pro = await make.customer(), await make.professional()
    referrals = []
    for _ in range(4):
        rid = await make.referral(await make.customer(), pro, referee)
        await make.status(rid, "ACCEPTED")
        referrals.append(rid)
    job = await make.job(referee, pro)
    payloads = await asyncio.gather(*[make.status(r, "CONVERTED", jobId=job) for r in referrals])
    assert sum(1 for p in payloads if not p["errors"]) == 1


async def test_a_create_that_meets_the_winner_of_its_own_id_returns_the_winner(store, uid):
    # Given a create that, inside its transaction, meets the effects of a concurrent create of
    # the same id (which commits first) and breaks a rule because of it.
    cid = uid("cus")

    async def create(tx: Tx) -> None:
        await store.run_write(CREATE_CUSTOMER, id=cid, name="Winner", area=None,
                              now="2026-01-01T00:00:00.000000+00:00")
        raise Duplicate("the winner's effects are visible")

    # Then the create answers with the winner, as a repeat of it would.
    created = await create_once(store, label="Customer", node_id=cid, read=CUSTOMER_BY_ID,
                                create=create, same={"name": "Winner", "area": None},
                                convert=Customer.from_row)
    assert (created.id, created.name) == (cid, "Winner")
    assert (await store.read(COUNT_BY_ID["Customer"], id=cid))[0]["n"] == 1
