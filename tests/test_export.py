"""``/export/referrals.csv``, ``/export/referrals.jsonl`` and ``/export/me.json`` through the
whole app: who may read which table, what each sees of customers, filters, fraud left out,
and tables longer than one page."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import httpx
import pytest

from app.auth import mint
from graph import exchange, timeutil
from graph.access import Principal, Role
from graph.customers import ERASED_NAME, erase_customer

REVIEW = """mutation($input: ReviewReferralInput!) { reviewReferral(input: $input) {
  errors { code } } }"""


@pytest.fixture
def get(http: httpx.AsyncClient, settings: Any) -> Any:
    async def fetch(path: str, role: str | None, sub: str | None = None,
                    networks: list[str] | None = None, **params: str) -> httpx.Response:
        headers = {}
        if role is not None:
            headers["authorization"] = f"Bearer {mint(settings, role, sub, networks)}"
        return await http.get(path, params=params, headers=headers)

    return fetch


def _csv(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def _jsonl(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.fixture
async def circle(make: Any, gql: Any) -> dict[str, Any]:
    """Two members of a network, an outsider; referrals between the members, to and from the
    outsider, from a customer, and one confirmed as fraud."""
    a = await make.professional(["plumbing"], name="Ann Member")
    b = await make.professional(["electrical"], name="Ben Member")
    out = await make.professional(["tiling"], name="Oscar Outside")
    net = await make.network()
    for pro in (a, b):
        await make.ok("add_member", networkId=net, professionalId=pro)
    alice = await make.customer(name="Alice Walker")
    bob = await make.customer(name="Bob Stone")
    early = await make.referral(a, b, alice, note="call Ben")
    middle = timeutil.to_store(timeutil.now())
    between = await make.referral(b, a, bob)
    to_outsider = await make.referral(a, out, alice)
    from_customer = await make.referral(alice, b, bob)
    fraud = await make.referral(out, b, alice)
    assert (await gql.data(REVIEW, {"input": {"id": fraud, "decision": "CONFIRMED_FRAUD"}})
            )["reviewReferral"]["errors"] == []
    return {"a": a, "b": b, "out": out, "net": net, "alice": alice, "bob": bob,
            "early": early, "between": between, "to_outsider": to_outsider,
            "from_customer": from_customer, "fraud": fraud, "middle": middle}


async def test_an_organiser_reads_the_referrals_between_its_members(get: Any, circle: Any
                                                                    ) -> None:
    rows = _csv(await get("/export/referrals.csv", "organiser", networks=[circle["net"]],
                          networkId=circle["net"]))
    assert [r["id"] for r in rows] == [circle["between"], circle["early"]]  # newest first
    early = rows[1]
    assert list(early) == list(exchange.COLUMNS)
    assert early["referrerId"] == circle["a"] and early["referrerKind"] == "PROFESSIONAL"
    assert early["referrerName"] == "Ann Member" and early["professionalName"] == "Ben Member"
    # Customers by display name; what was said stays with the parties.
    assert early["refereeName"] == "Alice W."
    assert early["note"] == ""
    assert early["statusHistory"] == "SENT" and early["channel"] == "DIRECT"


async def test_an_admin_sees_full_names_and_notes(get: Any, circle: Any) -> None:
    rows = _jsonl(await get("/export/referrals.jsonl", "admin", networkId=circle["net"]))
    early = next(r for r in rows if r["id"] == circle["early"])
    assert early["refereeName"] == "Alice Walker" and early["note"] == "call Ben"
    assert early["statusHistory"] == ["SENT"] and early["verified"] is False


async def test_a_professional_reads_the_referrals_naming_it(get: Any, circle: Any) -> None:
    rows = _jsonl(await get("/export/referrals.jsonl", "professional", circle["b"],
                            professionalId=circle["b"]))
    # The fraud naming it is left out; its own note it reads, customers by display name.
    assert [r["id"] for r in rows] == [circle["from_customer"], circle["early"]]
    assert rows[0]["referrerName"] == "Alice W." and rows[0]["refereeName"] == "Bob S."
    assert rows[1]["note"] == "call Ben"


async def test_confirmed_fraud_is_left_out_for_admins_too(get: Any, circle: Any) -> None:
    rows = _jsonl(await get("/export/referrals.jsonl", "admin", professionalId=circle["b"]))
    assert circle["fraud"] not in {r["id"] for r in rows}
    assert circle["early"] in {r["id"] for r in rows}


@pytest.mark.parametrize("who", [
    ("organiser", None, "mine", {}),                      # no networkId
    ("organiser", None, "mine", {"networkId": "other"}),  # a network it does not run
    ("organiser", None, "mine", {"networkId": "net_nosuchnetwork"}),
    ("organiser", None, "mine", {"professionalId": "b"}),
    ("professional", "a", None, {}),
    ("professional", "a", None, {"professionalId": "b"}),
    ("professional", "a", None, {"professionalId": "pro_nosuchpro"}),
    ("professional", "a", None, {"networkId": "net"}),
    ("customer", "alice", None, {}),
    ("customer", "alice", None, {"professionalId": "b"}),
])
async def test_everyone_else_is_refused_alike(get: Any, circle: Any, who: Any) -> None:
    role, sub, networks, params = who
    params = {k: circle.get(v, v) for k, v in params.items()}
    if params.get("networkId") == "other":
        params["networkId"] = "net_someoneelses"
    nets = [circle["net"]] if networks == "mine" else None
    for path in ("/export/referrals.csv", "/export/referrals.jsonl"):
        response = await get(path, role, circle.get(sub) if sub else None, nets, **params)
        assert response.status_code == 403
        assert response.json() == {"errors": [{"message": "not allowed",
                                               "extensions": {"code": "FORBIDDEN"}}]}


async def test_without_a_token_the_export_asks_for_one(get: Any) -> None:
    for path in ("/export/referrals.csv", "/export/me.json"):
        response = await get(path, None)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"



async def test_a_bad_token_is_refused_as_on_graphql(http: httpx.AsyncClient) -> None:
    response = await http.get("/export/referrals.csv",
                              headers={"authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"].startswith("invalid token")


@pytest.mark.parametrize(("params", "argument", "message"), [
    ({"since": "yesterday"}, "since", "not an ISO-8601 date-time"),
    ({"until": "2026-01-01T00:00:00"}, "until", "a date-time needs a UTC offset"),
    ({"since": "2026-02-01T00:00:00+00:00", "until": "2026-01-01T00:00:00+00:00"}, "until",
     "since must be before until"),
    ({"since": "0999-01-01T00:00:00+00:00"}, "since", "must lie in the years"),
    ({"networkId": "pro_1"}, "networkId", "is not a Network id"),
    ({"professionalId": "x"}, "professionalId", "is not a Professional id"),
    ({"status": "SENT"}, "status", "unknown parameter"),
])
async def test_a_bad_filter_is_a_typed_error(get: Any, params: dict[str, str], argument: str,
                                             message: str) -> None:
    response = await get("/export/referrals.csv", "admin", **params)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "VALIDATION", "argument": argument}
    assert message in error["message"]


async def test_a_parameter_given_twice_is_refused(http: httpx.AsyncClient, settings: Any
                                                  ) -> None:
    token = mint(settings, "admin")
    response = await http.get(
        "/export/referrals.csv?since=2026-01-01T00:00:00%2B00:00&since=2026-02-01T00:00:00%2B00:00",
        headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["argument"] == "since"


async def test_the_window_filters_on_creation(get: Any, circle: Any) -> None:
    later = _jsonl(await get("/export/referrals.jsonl", "admin", networkId=circle["net"],
                             since=circle["middle"]))
    assert [r["id"] for r in later] == [circle["between"]]
    earlier = _jsonl(await get("/export/referrals.jsonl", "admin", networkId=circle["net"],
                               until=circle["middle"]))
    assert [r["id"] for r in earlier] == [circle["early"]]
    both = _jsonl(await get("/export/referrals.jsonl", "admin", professionalId=circle["a"],
                            networkId=circle["net"]))
    assert [r["id"] for r in both] == [circle["between"]]


async def test_tables_longer_than_a_page_stream_every_row_once(
        get: Any, circle: Any, make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pro = circle["b"]
    customers = [await make.customer(name=f"Customer {i} Page") for i in range(7)]
    made = [await make.referral(c, pro, circle["alice"]) for c in customers]
    monkeypatch.setattr(exchange, "PAGE", 3)
    mine = _jsonl(await get("/export/referrals.jsonl", "professional", pro,
                            professionalId=pro))
    assert [r["id"] for r in mine] == [*reversed(made), circle["from_customer"], circle["early"]]
    # Every referral of the store (other tests' too): each once, newest first.
    rows = _csv(await get("/export/referrals.csv", "admin"))
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(made) <= set(ids) and circle["fraud"] not in ids
    keys = [(r["createdAt"], r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)


async def test_the_store_reads_a_page_at_a_time(store: Any, circle: Any) -> None:
    table = exchange.TableFilter(professional_id=circle["b"])
    pages = [len(p) async for p in exchange.table_pages(store, table, page=1)]
    assert pages == [1, 1]


async def test_me_holds_the_party_s_own_records_only(get: Any, circle: Any, make: Any) -> None:
    job = await make.job(circle["bob"], circle["b"], trade="electrical", value=80.0)
    other = await make.customer(name="Zed Other")
    await make.job(other, circle["b"], trade="electrical")
    doc = (await get("/export/me.json", "customer", circle["bob"])).json()
    assert doc["kind"] == "customer"
    assert doc["profile"]["id"] == circle["bob"] and doc["profile"]["name"] == "Bob Stone"
    assert [j["id"] for j in doc["jobs"]] == [job]
    assert doc["jobs"][0]["customerName"] == "Bob Stone"
    assert {r["id"] for r in doc["referrals"]["introduced"]} == {
        circle["between"], circle["from_customer"]}
    assert doc["referrals"]["made"] == []
    made = next(r for r in doc["referrals"]["introduced"] if r["id"] == circle["from_customer"])
    assert made["referrerName"] == "Alice W." and made["refereeName"] == "Bob Stone"
    assert other not in json.dumps(doc)

    pro = (await get("/export/me.json", "professional", circle["a"])).json()
    assert pro["kind"] == "professional"
    assert pro["memberships"][0]["networkId"] == circle["net"]
    assert pro["memberships"][0]["status"] == "ACTIVE"
    assert {r["id"] for r in pro["referrals"]["given"]} == {circle["early"],
                                                           circle["to_outsider"]}
    assert {r["id"] for r in pro["referrals"]["received"]} == {circle["between"]}
    # A party to a referral reads its note.
    assert next(r for r in pro["referrals"]["given"] if r["id"] == circle["early"]
                )["note"] == "call Ben"


@pytest.mark.parametrize("role", ["admin", "organiser"])
async def test_me_is_for_parties_only(get: Any, role: str) -> None:
    response = await get("/export/me.json", role)
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_me_of_an_unknown_party_is_not_found(get: Any) -> None:
    response = await get("/export/me.json", "customer", "cus_nobodyatall")
    assert response.status_code == 404


EVERY_COUNTED = """
MATCH (x:Referral) WHERE x.fraud IS NULL AND x.createdAt >= $since AND x.createdAt < $until
RETURN x.id AS id, x.createdAt AS createdAt
"""


@pytest.mark.parametrize("page", [1, 2, 7, 5000])
async def test_every_referral_is_read_once_whatever_the_page(store: Any, circle: Any,
                                                              make: Any, page: int) -> None:
    # Windows denser than two pages are read in order, the rest unordered and sorted: small
    # pages take both ways.
    for i in range(5):
        await make.referral(circle["alice"], circle["a"],
                            await make.customer(name=f"Window {i} Guest"))
    until = timeutil.to_store(timeutil.now())
    table = exchange.TableFilter(since=circle["middle"], until=until)
    pages = [p async for p in exchange.table_pages(store, table, page=page)]
    assert all(1 <= len(p) <= page for p in pages)
    got = [(r["createdAt"], r["id"]) for p in pages for r in p]
    want = sorted(((r["createdAt"], r["id"]) for r in await store.read(
        EVERY_COUNTED, since=circle["middle"], until=until)), reverse=True)
    assert got == want
    assert circle["fraud"] not in {i for _, i in got} and len(got) >= 8


def _reads_running() -> int:
    return sum(1 for t in asyncio.all_tasks()
               if getattr(t.get_coro(), "__qualname__", "") in ("Store.read",
                                                                 "Store.read_scalars"))


async def test_an_export_left_part_way_leaves_no_read_running(store: Any, circle: Any) -> None:
    table = exchange.TableFilter(since=circle["middle"])
    pages = exchange.table_pages(store, table, page=1)
    first = await anext(pages)
    assert len(first) == 1
    assert _reads_running() >= 1  # the next windows are read ahead
    await pages.aclose()
    assert _reads_running() == 0


EVERY_REFERRAL_AS_MAP = f"""
MATCH (x:Referral) WHERE x.fraud IS NULL RETURN {exchange.TABLE_MAP} AS row
"""


@pytest.mark.parametrize("viewer", [
    Principal(Role.ADMIN, "admin:one"),
    Principal(Role.PROFESSIONAL, "b"),
    Principal(Role.ORGANISER, "org:one"),
])
async def test_export_rows_are_the_rows_of_the_parties_own_reads(
        store: Any, circle: Any, make: Any, viewer: Principal) -> None:
    # The export reads each party once per export; its rows equal those made from a read that
    # brings every referral's parties along (names, erasure, trade, job, note).
    if viewer.sub == "b":
        viewer = Principal(Role.PROFESSIONAL, circle["b"])
    gone = await make.customer(name="Gina Gone")
    await make.job(gone, circle["a"], trade="plumbing", value=120.5)
    await make.referral(circle["b"], circle["a"], gone, note="for Ann")
    await erase_customer(store, gone)
    pages = [p async for p in exchange.table_pages(store, exchange.TableFilter(), page=2)]
    got = {r["id"]: r for p in pages for r in exchange.export_rows(p, viewer)}
    want = {r["row"]["id"]: exchange.table_row(r["row"], viewer)
            for r in await store.read(EVERY_REFERRAL_AS_MAP)}
    assert got == want
    assert any(r["refereeName"] == ERASED_NAME for r in got.values())
    assert any(r["note"] for r in got.values()) is (viewer.role is not Role.ORGANISER)


def _csv_module_lines(rows: list[dict[str, Any]]) -> str:
    def cell(value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ";".join(value)
        return value

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [cell(row[c]) for c in exchange.COLUMNS] for row in rows)
    return out.getvalue()


def test_csv_lines_are_what_the_csv_module_writes() -> None:
    plain_row = {
        "id": "ref_1", "createdAt": "2026-01-01T10:00:00.000000+00:00",
        "updatedAt": "2026-01-02T10:00:00.000000+00:00", "status": "CONVERTED",
        "channel": "DIRECT", "verified": True, "referrerId": "cus_1", "referrerKind": "CUSTOMER",
        "referrerName": "Alice W.", "professionalId": "pro_1", "professionalName": "Ann Member",
        "professionalTrade": "plumbing", "professionalArea": "North", "refereeId": "cus_2",
        "refereeName": "Bob S.", "jobId": "job_1", "jobValue": 120.5,
        "statusHistory": ["PENDING", "CONVERTED"],
        "statusTimes": ["2026-01-01T10:00:00.000000+00:00", "2026-01-02T10:00:00.000000+00:00"],
        "note": "call Ben",
    }
    tricky = {**plain_row, "verified": False, "referrerId": None, "referrerName": None,
              "professionalName": 'Ann "the pipe", Member', "professionalTrade": None,
              "professionalArea": "North, East", "refereeId": None, "refereeName": "",
              "jobId": None, "jobValue": None, "note": "line one\nline two\r\n, \"quoted\""}
    zero = {**plain_row, "jobValue": 0.0, "note": None}
    rows = [plain_row, tricky, zero]
    assert exchange.csv_lines(rows) == _csv_module_lines(rows)
    read = list(csv.DictReader(io.StringIO(exchange.csv_header() + exchange.csv_lines(rows))))
    assert read[1]["note"] == tricky["note"] and read[2]["jobValue"] == "0.0"


FORGET_PARTY_IDS = """
MATCH (x:Referral {id: $id})
REMOVE x.referrerId, x.professionalId, x.refereeId, x.jobId
"""


async def test_referrals_written_before_they_kept_their_parties_ids_are_migrated(
        get: Any, store: Any, make: Any) -> None:
    from graph.migrations import migrate

    pro = await make.professional(["plumbing"], name="Mo Migrated")
    alice, bob = await make.customer(name="Alice Old"), await make.customer(name="Bob Old")
    ref = await make.referral(alice, pro, bob)
    await make.ok("status", id=ref, status="ACCEPTED")
    job = await make.job(bob, pro, value=80.0)
    await make.ok("status", id=ref, status="CONVERTED", jobId=job)
    before = [r for r in _jsonl(await get("/export/referrals.jsonl", "admin"))
              if r["id"] == ref]
    assert [(r["referrerId"], r["professionalId"], r["refereeId"], r["jobId"], r["jobValue"])
            for r in before] == [(alice, pro, bob, job, 80.0)]

    await store.run_write(FORGET_PARTY_IDS, id=ref)
    await migrate(store)
    after = [r for r in _jsonl(await get("/export/referrals.jsonl", "admin")) if r["id"] == ref]
    assert after == before
