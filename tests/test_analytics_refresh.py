"""One analytics refresh at a time across processes; callers meanwhile join the running one."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from app.main import create_app
from graph import analytics
from graph.embedded import EmbeddedServer
from graph.store import connect
from seeds.complementary_trades import CURATED
from tests.test_limits import client_for

REFRESH = "mutation { refreshAnalytics { professionals trades seconds finishedAt } }"
PLANT_LEASE = """
MERGE (l:Lease {key: $key})
SET l.holder = $holder, l.until = $until
"""


@pytest.fixture
async def second_process(bolt):
    """A second Store with its own driver: what another service process on the store holds."""
    other = connect(bolt.uri, bolt.user, bolt.password, bolt.database)
    yield other
    await other.close()


@pytest.fixture
async def planted_lease(store):
    """Plant a lease for a holder that never finishes; freed again after the test."""

    async def plant(until: float) -> None:
        await store.run_write(PLANT_LEASE, key=analytics.LEASE, holder="gone", until=until)

    yield plant
    await store.run_write(analytics.DROP_LEASE, key=analytics.LEASE, holder="gone")


@pytest.mark.parametrize("held", [False, True])
async def test_concurrent_refreshes_run_one_job_and_share_its_figures(
        gql, second_process, planted_lease, caplog, held):
    if held:
        # All three wait on a holder whose lease lapses soon; one takes it over, the others
        # join that one.
        await planted_lease(until=time.time() + 1.5)
    caplog.set_level(logging.INFO, logger=analytics.log.name)
    first, second, third = await asyncio.gather(
        gql.data(REFRESH), gql.data(REFRESH), analytics.refresh(second_process, curated=CURATED))
    runs = [r for r in caplog.records if r.getMessage() == "analytics refreshed"]
    assert len(runs) == 1
    a, b = first["refreshAnalytics"], second["refreshAnalytics"]
    assert a == b
    assert third.finished_at.isoformat() == a["finishedAt"]
    assert (third.professionals, third.trades) == (a["professionals"], a["trades"])
    # Once it has finished, the next call runs a refresh of its own.
    later = (await gql.data(REFRESH))["refreshAnalytics"]
    assert later["finishedAt"] > a["finishedAt"]


async def test_a_lapsed_lease_is_taken_over(store, planted_lease):
    await planted_lease(until=time.time() - 1)
    done = await analytics.refresh(store, timeout=120, curated=CURATED)
    assert done.professionals >= 0
    rows = await store.read(analytics.LEASE_STATE, key=analytics.LEASE)
    assert rows[0]["holder"] is None and rows[0]["lastRun"] != "gone"


async def test_a_live_lease_is_joined_not_run_again_within_the_refresh_limit(store,
                                                                             planted_lease):
    await planted_lease(until=time.time() + 600)
    started = time.monotonic()
    with pytest.raises(analytics.RefreshTimeout, match="limit of 1 s"):
        await analytics.refresh(store, timeout=1, curated=CURATED)
    assert time.monotonic() - started < 10


async def test_the_request_timeout_does_not_cut_a_refresh_off(store, settings, gql, as_):
    app = create_app(settings.with_overrides(request_timeout=0.001,
                                                       store_timeout=0.0005), store=store)
    client = await client_for(app, gql.token)
    async with client.http:
        done = await client.data(REFRESH)
        assert done["refreshAnalytics"]["seconds"] > 0.001
        # Other requests still answer TIMEOUT past the request limit.
        slow = await client.post("{ networks { totalCount } }")
        assert slow["errors"][0]["extensions"]["code"] == "TIMEOUT"
    refused = await as_("customer", "cus_nobody").post(REFRESH)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_refresh_leaves_an_empty_store_empty(tmp_path):
    from graph import bulk
    from graph.embedded import EmbeddedServer

    with EmbeddedServer(tmp_path / "fresh") as address:
        fresh = connect(address.uri, address.user, address.password, address.database)
        try:
            await fresh.ensure_schema()
            await analytics.refresh(fresh, timeout=60, curated=CURATED)
            assert await bulk.is_empty(fresh)  # serve --demo still loads the demo network
        finally:
            await fresh.close()


async def test_aliased_refreshes_in_one_request_share_one_run(gql, caplog):
    caplog.set_level(logging.INFO, logger=analytics.log.name)
    fields = "professionals trades seconds finishedAt"
    body = await gql.data("mutation { " + " ".join(
        f"r{i}: refreshAnalytics {{ {fields} }}" for i in range(5)) + " }")
    runs = [r for r in caplog.records if r.getMessage() == "analytics refreshed"]
    assert len(runs) == 1
    assert len({tuple(v.values()) for v in body.values()}) == 1
    # The next request runs one of its own.
    later = (await gql.data(REFRESH))["refreshAnalytics"]
    assert later["finishedAt"] > body["r0"]["finishedAt"]


async def test_closing_the_auto_refresh_cancels_a_running_refresh(store, make, planted_lease):
    """The lifespan closes the auto-refresh before the store: a refresh still running (here
    waiting on another holder's lease) must not outlive it."""
    await planted_lease(until=time.time() + 600)
    auto = analytics.AutoRefresh(store, every=1, min_interval=0, curated=CURATED)
    await make.customer()
    task = auto.task
    assert task is not None
    await asyncio.sleep(0.5)
    assert not task.done()  # it waits for the planted holder
    await asyncio.wait_for(auto.close(), 10)
    assert task.cancelled()
    assert auto.changed not in store.after_write


async def test_the_demo_load_refreshes_within_the_analytics_timeout(tmp_data_dir, settings):
    # `serve --demo` on an empty store: its first refresh is bounded by RG_ANALYTICS_TIMEOUT,
    # like every other, so a timeout too short for it stops the start-up.
    server = EmbeddedServer(tmp_data_dir)
    address = server.start()
    store = connect(address.uri, address.user, address.password, address.database)
    try:
        await store.ensure_schema()
        app = create_app(settings.with_overrides(analytics_timeout=1e-6), store=store, demo=True)
        with pytest.raises(analytics.RefreshTimeout, match="1e-06 s"):
            async with app.router.lifespan_context(app):
                pass
    finally:
        await store.close()
        server.stop()


# The whole-graph statements the paged projections replace, restricted to a few professionals.
WHOLE_HIRES = """
MATCH (c:Customer)-[:BOOKED]->(j:Job)-[:DONE_BY]->(p:Professional)
WHERE j.confirmed = true AND p.id IN $ids
RETURN c.id AS source, p.id AS target, j.rating AS rating
"""
WHOLE_REFERRALS = """
MATCH (r:Referral)-[:FOR]->(p:Professional) MATCH (r)<-[:MADE]-(a) WHERE p.id IN $ids
RETURN a.id AS source, p.id AS target, r.status AS status
"""


async def test_paged_projections_read_every_row_once_across_pages(store, make):
    """Pages of two professionals give the same rows as one statement over all of them: none
    lost at a page edge, none read twice, unconfirmed jobs left out as before."""
    pros = [await make.professional(trades=[t]) for t in
            ("plumbing", "tiling", "electrical", "painting", "roofing")]
    alice, bob = await make.customer(), await make.customer(name="Bob Brown")
    for i, pro in enumerate(pros):
        await make.job(alice, pro, rating=1 + i)
        if i % 2:
            await make.job(bob, pro, rating=5)
    await make.job(bob, pros[0], confirm=False)  # a claim: no hire until confirmed
    await make.referral(alice, pros[1], bob)
    await make.referral(pros[2], pros[3], alice)
    ids = sorted(pros)

    def key(row: dict) -> tuple:
        return tuple(sorted(row.items()))

    hires = await analytics.paged(store, analytics.HIRING_EDGES, ids, page=2)
    assert sorted(map(key, hires)) == sorted(map(key, await store.read(WHOLE_HIRES, ids=ids)))
    assert len(hires) == 7
    referrals = await analytics.paged(store, analytics.REFERRAL_EDGES, ids, page=2)
    assert sorted(map(key, referrals)) == sorted(
        map(key, await store.read(WHOLE_REFERRALS, ids=ids)))
    assert len(referrals) == 2
    assert sorted(await analytics.customer_trades(store, ids)) == [
        ["electrical", "painting", "plumbing", "roofing", "tiling"], ["painting", "tiling"]]
