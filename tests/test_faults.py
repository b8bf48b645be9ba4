"""Faults: the store goes away and comes back; a unit of work that fails leaves nothing."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from app.main import create_app
from graph import models
from graph.embedded import EmbeddedServer
from graph.store import Store, Tx, connect
from tests.conftest import GraphQLClient, mutation_text

QUERY = "{ professionals(first: 1) { totalCount } }"


async def test_store_outage_is_reported_fast_and_healed(tmp_data_dir, settings, gql):
    server = EmbeddedServer(tmp_data_dir)
    address = server.start()
    store = connect(address.uri, address.user, address.password, address.database)
    await store.ensure_schema()
    app = create_app(settings, store=store)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    client = GraphQLClient(http, gql.token)
    try:
        assert (await http.get("/readyz")).status_code == 200
        assert "errors" not in await client.post(QUERY)

        await asyncio.to_thread(server.pause)
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/healthz")).status_code == 200
        started = time.monotonic()
        body = await client.post(QUERY)
        assert time.monotonic() - started < 5
        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        assert "bolt" not in body["errors"][0]["message"].lower()
        assert "Traceback" not in str(body)

        await asyncio.to_thread(server.resume)
        deadline = time.monotonic() + 30
        while (await http.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover"
            await asyncio.sleep(0.5)
        assert "errors" not in await client.post(QUERY)
    finally:
        await http.aclose()
        await store.close()
        server.stop()


CREATE = "CREATE (:Customer {id: $id, name: 'Half', createdAt: '2026-01-01'})"
COUNT = "MATCH (c:Customer {id: $id}) RETURN count(c) AS n"


async def test_a_unit_of_work_that_fails_halfway_leaves_nothing(store: Store, uid):
    cid = uid("cus")

    async def half(tx: Tx) -> None:
        await tx.run(CREATE, id=cid)
        assert (await tx.one(COUNT, id=cid))["n"] == 1  # written inside the transaction
        raise RuntimeError("fails after the first write")

    with pytest.raises(RuntimeError):
        await store.write(half)
    assert (await store.read(COUNT, id=cid))[0]["n"] == 0


async def test_a_mutation_that_fails_on_its_last_check_writes_nothing(make, store, uid):
    # Conversion checks the job only after reading and validating the referral; the status
    # change, the history entry and the job link are written in the same transaction.
    referrer, referee = await make.customer(), await make.customer()
    pro = await make.professional()
    rid = await make.referral(referrer, pro, referee)
    await make.status(rid, "ACCEPTED")
    other_job = await make.job(referrer, pro)
    payload = await make.status(rid, "CONVERTED", jobId=other_job)
    assert payload["errors"][0]["code"] == "VALIDATION"
    row = await store.read(
        "MATCH (r:Referral {id: $id}) RETURN r.status AS status, size(r.statusHistory) AS n, "
        "size([(r)-[:CONVERTED_TO]->(j) | j]) AS links", id=rid)
    assert row == [{"status": "ACCEPTED", "n": 2, "links": 0}]


class ReadBackFault(RuntimeError):
    """Raised by a read-back the test breaks on purpose."""


@pytest.mark.parametrize("kind", ["professional", "customer", "network", "job", "referral"])
async def test_a_create_whose_read_back_fails_writes_nothing(make, uid, exists, monkeypatch,
                                                             kind):
    # Given the parties, and a read-back of the new object that fails: the fault comes after
    # the create statement, inside the unit of work that must then roll back.
    cus, ref, pro = await make.customer(), await make.customer(), await make.professional()
    model = {"professional": models.Professional, "customer": models.Customer,
             "network": models.Network, "job": models.Job, "referral": models.Referral}[kind]
    prefix = {"professional": "pro", "customer": "cus", "network": "net", "job": "job",
              "referral": "ref"}[kind]
    inputs = {
        "professional": {"name": "Half Done", "trades": ["plumbing"]},
        "customer": {"name": "Half Done"},
        "network": {"name": "Half Done"},
        "job": {"customerId": cus, "professionalId": pro,
                "completedAt": "2026-01-10T10:00:00+00:00"},
        "referral": {"referrerId": cus, "professionalId": pro, "refereeId": ref},
    }[kind]
    oid = uid(prefix)

    def broken(cls: type, row: dict) -> None:
        raise ReadBackFault("the read-back failed")

    monkeypatch.setattr(model, "from_row", classmethod(broken))
    # When the create runs, then it fails as a fault and the object is not there.
    body = await make.gql.post(mutation_text(kind), {"input": {"id": oid, **inputs}})
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    monkeypatch.undo()
    assert not await exists(oid)


async def test_a_failing_after_write_listener_does_not_fail_a_committed_write(make, store,
                                                                              uid, exists):
    def broken() -> None:
        raise RuntimeError("listener failed")

    store.after_write.append(broken)
    try:
        cid = uid("cus")
        payload = await make.call("customer", id=cid, name="Committed")
    finally:
        store.after_write.remove(broken)
    assert payload["errors"] == [] and payload["customer"]["id"] == cid
    assert await exists(cid)
