"""Bundles and referral tables in and out: a network built through the API is exported, imported
into a second, empty store and compared node by node; bad files are refused by line number and
leave the store as it was."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import mint
from app.main import create_app
from graph import exchange
from graph.embedded import EmbeddedServer
from graph.migrations import migrate
from graph.store import Store, connect
from tests.conftest import GraphQLClient, Maker
from tests.test_cli import cli_env

CODE = """mutation($input: CreateReferralCodeInput!) { createReferralCode(input: $input) {
  referralCode { code } errors { code message } } }"""
REDEEM = """mutation($input: RedeemReferralCodeInput!) { redeemReferralCode(input: $input) {
  referral { id } errors { code message } } }"""
REVIEW = """mutation($input: ReviewReferralInput!) { reviewReferral(input: $input) {
  referral { id } errors { code message } } }"""
CONFIRM = "mutation($id: ID!, $r: Int) { confirmJob(id: $id, rating: $r) { errors { code } } }"
ERASE = "mutation($id: ID!) { deleteCustomer(id: $id) { deletedId errors { code } } }"

# Computed by the analytics and integrity batches, which an import runs again.
COMPUTED = {"reputation", "riskScore", "riskFindings"}
LABELS = ("Professional", "Customer", "Network", "Job", "Referral", "ReferralCode")
NODES = "MATCH (n:{label}) RETURN properties(n) AS p"
LINKS = """
MATCH (a)-[r]->(b) WHERE type(r) IN $types
RETURN coalesce(a.id, a.code) AS a, type(r) AS type, properties(r) AS p,
       coalesce(b.id, b.code) AS b
"""
TYPES = ["MEMBER_OF", "BOOKED", "DONE_BY", "MADE", "FOR", "INTRODUCES", "CONVERTED_TO", "VIA",
         "SHARES", "LEADS_TO"]
WIPE = "MATCH (n) DETACH DELETE n"
DELETE_REFERRALS = "MATCH (x:Referral) DETACH DELETE x"


async def _open(server: EmbeddedServer) -> Store:
    address = await asyncio.to_thread(server.start)
    store = connect(address.uri, address.user, address.password, address.database)
    await store.ensure_schema()
    await migrate(store)
    return store


@pytest.fixture(scope="module")
async def two_stores(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[Store]]:
    """Two embedded stores of their own: the source of an export and the target of an import
    (the session's store holds every other test's data)."""
    servers = [EmbeddedServer(tmp_path_factory.mktemp(name)) for name in ("source", "target")]
    stores: list[Store] = []
    try:
        for server in servers:
            stores.append(await _open(server))
        yield stores
    finally:
        for store in stores:
            await store.close()
        for server in servers:
            await asyncio.to_thread(server.stop)


@pytest.fixture(scope="module")
async def source(two_stores: list[Store], settings: Any) -> dict[str, Any]:
    """A small network built through the API: a converted referral with its history, active
    and invited members, a referral made from a code, one confirmed as fraud, an erased
    customer, a job confirmed with the customer's own rating and one still unconfirmed."""
    store = two_stores[0]
    app = create_app(settings, store=store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:

        def as_(role: str, sub: str | None = None, networks: list[str] | None = None) -> Any:
            return GraphQLClient(http, mint(settings, role, sub, networks))

        gql = as_("admin")
        make = Maker(gql, as_)
        pro1 = await make.professional(["plumbing", "heating"], name="Pat Plumber",
                                       area="Northside")
        pro2 = await make.professional(["electrical"], name="Eve Sparks")
        pro3 = await make.professional(["tiling"], name="Tom Tiler")
        alice = await make.customer(name="Alice Walker", area="Northside")
        bob = await make.customer(name="Bob Stone")
        carol = await make.customer(name="Carol Reed")
        dave = await make.customer(name="Dave Gone")
        net = await make.network(name="Northside Circle")
        for pro in (pro1, pro2):
            await make.ok("add_member", networkId=net, professionalId=pro)
        organiser = as_("organiser", networks=[net])
        await organiser.data(
            "mutation($i: NetworkMemberInput!) { addNetworkMember(input: $i) { errors { code } } }",
            {"i": {"networkId": net, "professionalId": pro3}})
        await make.job(alice, pro1, trade="heating", rating=5, value=120.5,
                       completedAt="2026-01-05T09:00:00+00:00")
        unconfirmed = await make.job(carol, pro2, confirm=False)
        rated = await make.job(carol, pro1, confirm=False, rating=2,
                               completedAt="2026-01-06T09:00:00+00:00")
        assert (await as_("customer", carol).data(CONFIRM, {"id": rated, "r": 4})
                )["confirmJob"]["errors"] == []
        converted = await make.referral(alice, pro1, bob, note="Fixed our boiler")
        await make.status(converted, "ACCEPTED")
        job = await make.job(bob, pro1, value=300.0, rating=4,
                             completedAt="2026-02-01T09:00:00+00:00")
        assert (await make.status(converted, "CONVERTED", jobId=job))["errors"] == []
        by_pro = await make.referral(pro1, pro2, carol)
        code = (await gql.data(CODE, {"input": {"referrerId": alice, "professionalId": pro2}})
                )["createReferralCode"]["referralCode"]["code"]
        via_code = (await as_("customer", bob).data(REDEEM, {"input": {
            "code": code, "refereeId": bob}}))["redeemReferralCode"]["referral"]["id"]
        fraud = await make.referral(bob, pro2, alice)
        assert (await gql.data(REVIEW, {"input": {"id": fraud, "decision": "CONFIRMED_FRAUD",
                                                  "note": "made up"}})
                )["reviewReferral"]["errors"] == []
        await make.referral(dave, pro1, alice, note="about Dave")
        assert (await gql.data(ERASE, {"id": dave}))["deleteCustomer"]["errors"] == []
        csv_text = (await http.get("/export/referrals.csv",
                                   headers={"authorization": f"Bearer {gql.token}"})).text
    return {"store": store, "target": two_stores[1], "unconfirmed": unconfirmed,
            "converted": converted, "by_pro": by_pro, "via_code": via_code, "fraud": fraud,
            "csv": csv_text, "pros": (pro1, pro2, pro3), "customers": (alice, bob, carol, dave)}


@pytest.fixture
async def target(source: dict[str, Any]) -> Store:
    """The second store, emptied for each test."""
    store: Store = source["target"]
    await store.run_write(WIPE)
    return store


async def _bundle(store: Store) -> list[str]:
    return [exchange.dumps(row) async for row in exchange.bundle_rows(store, page=3)]


def _numbered(lines: list[str]) -> list[tuple[int, Any]]:
    return list(exchange.read_lines(lines))


async def _snapshot(
    store: Store, skip_jobs: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    nodes = {}
    for label in LABELS:
        rows = await store.read(NODES.format(label=label))
        props = [{k: v for k, v in r["p"].items() if v is not None and k not in COMPUTED}
                 for r in rows]
        nodes[label] = sorted((p for p in props if p.get("id") not in skip_jobs),
                              key=lambda p: json.dumps(p, sort_keys=True))
    links = sorted(
        (r["a"], r["type"], json.dumps({k: v for k, v in r["p"].items() if v is not None},
                                       sort_keys=True), r["b"])
        for r in await store.read(LINKS, types=TYPES)
        if r["a"] not in skip_jobs and r["b"] not in skip_jobs)
    return {"nodes": nodes, "links": links}


async def test_a_bundle_round_trips_the_network_exactly(source: dict[str, Any],
                                                         target: Store) -> None:
    lines = await _bundle(source["store"])
    plan = exchange.check_bundle(_numbered(lines))
    assert await exchange.is_empty(target)
    await exchange.load(target, plan, into_empty=True)

    # Every node and property, every link and its properties; only the job still waiting for
    # its customer stays behind (a bundle carries confirmed jobs).
    expected = await _snapshot(source["store"], skip_jobs={source["unconfirmed"]})
    got = await _snapshot(target)
    assert got == expected
    assert len(got["nodes"]["Referral"]) == 5 and len(got["nodes"]["ReferralCode"]) == 1
    referrals = {p["id"]: p for p in got["nodes"]["Referral"]}
    assert referrals[source["converted"]]["statusHistory"] == ["SENT", "ACCEPTED", "CONVERTED"]
    assert referrals[source["via_code"]]["channel"] == "CODE"
    assert referrals[source["fraud"]]["fraud"] is True
    # And the import exports to the very same bundle.
    assert sorted(await _bundle(target)) == sorted(lines)


async def test_a_bad_bundle_is_refused_by_line_and_writes_nothing(source: dict[str, Any],
                                                                   target: Store) -> None:
    lines = await _bundle(source["store"])
    bad = list(lines)
    pro_line = next(i for i, t in enumerate(bad) if '"kind":"professional"' in t)
    row = json.loads(bad[pro_line])
    bad[pro_line] = exchange.dumps({**row, "name": "   "})
    converted = next(i for i, t in enumerate(bad) if source["converted"] in t
                     and '"kind":"referral"' in t)
    row = json.loads(bad[converted])
    # CONVERTED straight from SENT skips a step of the lifecycle.
    bad[converted] = exchange.dumps({**row, "statusHistory": ["SENT", "CONVERTED"],
                                     "statusTimes": row["statusTimes"][::2]})
    bad.append("{not json\n")
    bad.append(exchange.dumps({"kind": "invoice", "id": "inv_1"}))
    with pytest.raises(exchange.ImportRefused) as refused:
        exchange.check_bundle(_numbered(bad))
    found = dict(refused.value.problems)
    assert set(found) == {pro_line + 1, converted + 1, len(bad) - 1, len(bad)}
    assert found[pro_line + 1] == ("professional: name: must be 1 to 200 characters after "
                                   "trimming")
    assert "a SENT referral cannot become CONVERTED" in found[converted + 1]
    assert found[len(bad) - 1].startswith("not JSON")
    assert "kind must be one of" in found[len(bad)]
    assert await exchange.is_empty(target)


@pytest.mark.parametrize(("change", "message"), [
    ({"verified": True, "referrerId": "REFEREE"}, "a customer cannot be referred by itself"),
    ({"jobId": None}, "a CONVERTED referral names its job"),
    ({"professionalId": "pro_missing"}, "no professional with this id in the bundle"),
    ({"createdAt": "2026-13-01T00:00:00+00:00"}, "not an ISO-8601 date-time"),
    ({"note": "x" * 2001}, "must be at most 2000 characters"),
    ({"channel": "POST"}, "must be DIRECT or CODE"),
    ({"color": "red"}, "unknown field"),
])
async def test_each_rule_of_a_referral_holds_on_import(
        source: dict[str, Any], change: dict[str, Any], message: str) -> None:
    lines = await _bundle(source["store"])
    index = next(i for i, t in enumerate(lines) if source["converted"] in t
                 and '"kind":"referral"' in t)
    row = json.loads(lines[index])
    if change.get("referrerId") == "REFEREE":
        change = {**change, "referrerId": row["refereeId"]}
    lines[index] = exchange.dumps({**row, **change})
    with pytest.raises(exchange.ImportRefused) as refused:
        exchange.check_bundle(_numbered(lines))
    assert refused.value.problems[0][0] == index + 1
    assert message in refused.value.problems[0][1]


async def test_a_second_open_referral_for_the_same_parties_is_refused(
        source: dict[str, Any]) -> None:
    lines = await _bundle(source["store"])
    row = next(json.loads(t) for t in lines if source["by_pro"] in t)
    lines.append(exchange.dumps({**row, "id": "ref_second_open"}))
    with pytest.raises(exchange.ImportRefused) as refused:
        exchange.check_bundle(_numbered(lines))
    assert refused.value.problems == [(len(lines), "referral: id: an open referral for the same "
                                                   "referrer, professional and referee exists")]


async def test_a_bundle_without_its_header_is_refused(source: dict[str, Any]) -> None:
    lines = (await _bundle(source["store"]))[1:]
    with pytest.raises(exchange.ImportRefused) as refused:
        exchange.check_bundle(_numbered(lines))
    assert refused.value.problems[0][0] == 1
    assert "header" in refused.value.problems[0][1]


async def test_a_referral_table_loads_into_a_store_holding_its_parties(
        source: dict[str, Any], target: Store) -> None:
    lines = await _bundle(source["store"])
    await exchange.load(target, exchange.check_bundle(_numbered(lines)), into_empty=True)
    await target.run_write(DELETE_REFERRALS)
    table = source["csv"].splitlines(keepends=True)
    # As createReferral, a table makes no new referral of an erased customer.
    dave = source["customers"][3]
    with pytest.raises(exchange.ImportRefused) as refused:
        await exchange.check_table(target, exchange.table_rows(table))
    line = next(n for n, t in enumerate(table, start=1) if f",{dave}," in t)
    assert refused.value.problems == [(line, "referral: referrerId: no referrer with this id")]
    table = [t for t in table if f",{dave}," not in t]
    plan = await exchange.check_table(target, exchange.table_rows(table))
    await exchange.load(target, plan, into_empty=False)

    # The HTTP table leaves out confirmed fraud; the rest comes back with its history,
    # channel, verification, note and conversion.
    source_referrals = (await _snapshot(source["store"]))["nodes"]["Referral"]
    erased = {r["referralId"] for r in await source["store"].read(
        "MATCH (:Customer {id: $id})-[:MADE]->(x:Referral) RETURN x.id AS referralId", id=dave)}
    want = {p["id"]: p for p in source_referrals
            if not p.get("fraud") and p["id"] not in erased}
    got = {p["id"]: p for p in (await _snapshot(target))["nodes"]["Referral"]}
    assert set(got) == set(want)
    for node_id, props in want.items():
        for name in ("status", "statusHistory", "statusTimes", "createdAt", "updatedAt",
                     "verified", "note", "openKey"):
            assert got[node_id].get(name) == props.get(name), (node_id, name)
        assert got[node_id].get("channel") == props.get("channel", "DIRECT")
    links = await target.read("MATCH (x:Referral {id: $id})-[:CONVERTED_TO]->(j:Job) "
                              "RETURN j.id AS job", id=source["converted"])
    assert len(links) == 1


async def test_a_referral_table_with_a_bad_row_writes_nothing(
        source: dict[str, Any], target: Store) -> None:
    lines = await _bundle(source["store"])
    await exchange.load(target, exchange.check_bundle(_numbered(lines)), into_empty=True)
    await target.run_write(DELETE_REFERRALS)
    dave = source["customers"][3]
    rows = [r for r in csv.DictReader(io.StringIO(source["csv"])) if r["referrerId"] != dave]
    rows[1]["professionalId"] = "pro_nobody"
    rows[2]["status"] = "DONE"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(exchange.COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with pytest.raises(exchange.ImportRefused) as refused:
        await exchange.check_table(target, exchange.table_rows(out.getvalue().splitlines(True)))
    found = dict(refused.value.problems)
    assert found == {3: "referral: professionalId: no professional with this id",
                     4: "referral: status: 'DONE' is no referral status"}
    assert await target.read("MATCH (x:Referral) RETURN x.id AS id LIMIT 1") == []
    # A table whose referrals the store already holds is refused as a whole, too.
    good = [t for t in source["csv"].splitlines(True) if f",{dave}," not in t]
    plan = await exchange.check_table(target, exchange.table_rows(good))
    await exchange.load(target, plan, into_empty=False)
    with pytest.raises(exchange.ImportRefused) as again:
        await exchange.check_table(target, exchange.table_rows(good))
    assert all("a referral with this id exists" in m for _, m in again.value.problems)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=cli_env(),
                          capture_output=True, text=True, timeout=300)


async def test_the_command_line_imports_into_an_empty_store_only(
        source: dict[str, Any], tmp_path: Path) -> None:
    bundle = tmp_path / "network.jsonl"
    bundle.write_text("".join(await _bundle(source["store"])))
    broken = tmp_path / "broken.jsonl"
    broken.write_text(bundle.read_text().replace('"Eve Sparks"', '"   "'))
    data = tmp_path / "data"

    bad = await asyncio.to_thread(_cli, "import", str(broken), "--data-dir", str(data),
                                  "--quiet")
    assert bad.returncode == 1
    assert "nothing imported" in bad.stderr and "name: must be 1 to 200" in bad.stderr
    good = await asyncio.to_thread(_cli, "import", str(bundle), "--data-dir", str(data),
                                   "--quiet")
    assert good.returncode == 0, good.stderr
    assert "5 referrals" in good.stderr
    again = await asyncio.to_thread(_cli, "import", str(bundle), "--data-dir", str(data),
                                    "--quiet")
    assert again.returncode == 1
    assert "loads only into an empty store" in again.stderr
    out = tmp_path / "again.jsonl"
    exported = await asyncio.to_thread(_cli, "export", "--out", str(out), "--data-dir",
                                       str(data), "--quiet")
    assert exported.returncode == 0, exported.stderr
    assert sorted(out.read_text().splitlines()) == sorted(bundle.read_text().splitlines())


async def test_a_seed_written_as_a_bundle_loads_as_the_seed_does(
        target: Store, tmp_path: Path) -> None:
    from graph import bulk
    from seeds.demo import demo_dataset

    lines = [exchange.dumps(r) for r in exchange.dataset_rows(demo_dataset())]
    await exchange.load(target, exchange.check_bundle(_numbered(lines)), into_empty=True)
    imported = await _snapshot(target)
    await target.run_write(WIPE)
    await bulk.load(target, demo_dataset())
    assert await _snapshot(target) == imported


async def test_a_load_the_store_fails_part_way_is_undone(source: dict[str, Any],
                                                          target: Store) -> None:
    plan = exchange.check_bundle(_numbered(await _bundle(source["store"])))
    # A row past the checks (as a concurrent writer could make one): the store's unique
    # constraint refuses it after the networks and the first professionals were written.
    plan.rows["professional"].append(dict(plan.rows["professional"][0]))
    with pytest.raises(Exception, match=r"(?i)constraint|duplicat|unique"):
        await exchange.load(target, plan, into_empty=True, batch_size=1)
    assert await exchange.is_empty(target)
    assert await target.read("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]


def test_a_seed_is_written_as_a_bundle_without_a_store(tmp_path: Path) -> None:
    target = tmp_path / "demo.jsonl"
    done = _cli("seed", "demo", "--bundle", str(target), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    lines = target.read_text().splitlines()
    assert json.loads(lines[0]) == exchange.header()
    assert exchange.check_bundle(_numbered(lines)).counts()["referral"] > 100
    assert not (tmp_path / "data").exists()  # no store was started
    refused = _cli("seed", "synthetic", "--plant-fraud", "0.02", "--bundle", str(target))
    assert refused.returncode == 2 and "--bundle does not go with --plant-fraud" in refused.stderr
