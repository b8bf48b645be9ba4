"""Jobs: party checks, trade, rating, value and date rules, idempotent creates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
async def parties(make):
    pro = await make.professional(trades=["electrical", "heating"])
    cus = await make.customer()
    return cus, pro


async def test_records_a_job_with_the_first_trade_by_default(make, parties):
    cus, pro = parties
    payload = await make.ok("job", customerId=cus, professionalId=pro,
                            completedAt="2026-03-01T09:30:00+02:00", rating=5, value=120.5)
    job = payload["job"]
    assert job["trade"] == "electrical"
    assert job["completedAt"] == "2026-03-01T07:30:00+00:00"
    assert (job["rating"], job["value"]) == (5, 120.5)
    assert job["customer"] == {"id": cus} and job["professional"] == {"id": pro}


async def test_rating_and_value_may_be_null(make, parties):
    cus, pro = parties
    job = (await make.ok("job", customerId=cus, professionalId=pro, trade="Heating",
                         completedAt="2026-03-01T09:30:00Z"))["job"]
    assert (job["trade"], job["rating"], job["value"]) == ("heating", None, None)


@pytest.mark.parametrize(
    ("override", "code", "field"),
    [
        ({"trade": "plumbing"}, "VALIDATION", ["input", "trade"]),
        ({"rating": 0}, "VALIDATION", ["input", "rating"]),
        ({"rating": 6}, "VALIDATION", ["input", "rating"]),
        ({"value": -0.01}, "VALIDATION", ["input", "value"]),
        ({"completedAt": "2026-03-01T09:30:00"}, "VALIDATION", ["input", "completedAt"]),
        ({"customerId": "pro_notacustomer"}, "VALIDATION", ["input", "customerId"]),
        ({"professionalId": "cus_notapro"}, "VALIDATION", ["input", "professionalId"]),
        ({"customerId": "cus_doesnotexist"}, "NOT_FOUND", ["input", "customerId"]),
        ({"professionalId": "pro_doesnotexist"}, "NOT_FOUND", ["input", "professionalId"]),
    ],
)
async def test_broken_rules_write_nothing(make, parties, uid, exists, override, code, field):
    cus, pro = parties
    jid = uid("job")
    data = {"id": jid, "customerId": cus, "professionalId": pro,
            "completedAt": "2026-03-01T09:30:00+00:00", **override}
    payload = await make.call("job", **data)
    assert payload["job"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert not await exists(jid)


async def test_a_job_cannot_be_completed_in_the_future(make, parties):
    cus, pro = parties
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    payload = await make.call("job", customerId=cus, professionalId=pro, completedAt=tomorrow)
    assert payload["errors"][0]["field"] == ["input", "completedAt"]


async def test_bad_datetime_text_fails_the_request(gql, parties):
    cus, pro = parties
    body = await gql.post(
        "mutation($input: RecordJobInput!) { recordJob(input: $input) { job { id } } }",
        {"input": {"customerId": cus, "professionalId": pro, "completedAt": "yesterday"}},
    )
    assert body["errors"] and body.get("data") is None


async def test_idempotent_record_and_conflict(make, parties, uid):
    cus, pro = parties
    jid = uid("job")
    data = {"id": jid, "customerId": cus, "professionalId": pro,
            "completedAt": "2026-03-01T09:30:00+00:00", "rating": 4}
    first = await make.ok("job", **data)
    assert (await make.ok("job", **data))["job"] == first["job"]
    conflict = await make.call("job", **{**data, "rating": 2})
    assert conflict["errors"][0]["code"] == "CONFLICT"
    # The recorded rating: the one a repeat must match, whatever the customer rated since.
    assert "rating" in conflict["errors"][0]["message"]


async def test_a_repeat_matches_the_recorded_rating_after_the_customer_rated(as_, parties, uid):
    cus, pro = parties
    data = {"id": uid("job"), "customerId": cus, "professionalId": pro,
            "completedAt": "2026-03-01T09:30:00+00:00", "rating": 5}
    record = "mutation($input: RecordJobInput!) { recordJob(input: $input) { " \
             "job { id rating confirmed } errors { code } } }"
    professional = as_("professional", pro)
    first = (await professional.data(record, {"input": data}))["recordJob"]
    assert first["errors"] == [] and first["job"]["confirmed"] is False
    confirm = "mutation($id: ID!) { confirmJob(id: $id, rating: 2) { errors { code } } }"
    assert (await as_("customer", cus).data(confirm, {"id": data["id"]}))["confirmJob"] == {
        "errors": []}
    again = (await professional.data(record, {"input": data}))["recordJob"]
    assert again == {"job": {"id": data["id"], "rating": 2, "confirmed": True}, "errors": []}


JOBS = """
query($c: ID!, $p: ID!, $after: String) {
  customer(id: $c) { jobs(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id completedAt } } }
  professional(id: $p) { jobs { totalCount nodes { id } } }
}
"""


async def test_jobs_lists_are_newest_first(gql, make, parties):
    cus, pro = parties
    ids = [await make.job(cus, pro, completedAt=f"2026-0{m}-01T00:00:00+00:00")
           for m in (1, 3, 2)]
    first = await gql.data(JOBS, {"c": cus, "p": pro})
    assert [n["id"] for n in first["customer"]["jobs"]["nodes"]] == [ids[1], ids[2]]
    assert first["customer"]["jobs"]["totalCount"] == 3
    assert first["professional"]["jobs"]["totalCount"] == 3
    cursor = first["customer"]["jobs"]["pageInfo"]["endCursor"]
    rest = await gql.data(JOBS, {"c": cus, "p": pro, "after": cursor})
    assert [n["id"] for n in rest["customer"]["jobs"]["nodes"]] == [ids[0]]
    assert rest["customer"]["jobs"]["pageInfo"]["hasNextPage"] is False


CUSTOMER_JOBS = """query($c: ID!) { customer(id: $c) { jobs { totalCount nodes { id } } } }"""
TRUST_TO = """query($c: ID!, $p: ID!) { trustPaths(from: $c, to: $p) { trust } }"""


@pytest.mark.parametrize("completed_at", [
    "0999-06-01T00:00:00+00:00",
    "1899-12-31T23:59:59+00:00",
    "2201-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+01:00",  # would overflow on conversion to UTC
    "9999-12-31T23:59:59-01:00",
])
async def test_a_date_outside_the_supported_years_is_refused_and_writes_nothing(
    gql, make, parties, uid, exists, completed_at
):
    cus, pro = parties
    jid = uid("job")
    payload = await make.call("job", id=jid, customerId=cus, professionalId=pro,
                              completedAt=completed_at)
    assert payload["job"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("VALIDATION", ["input", "completedAt"])]
    assert "1900 to 2200" in payload["errors"][0]["message"]
    assert not await exists(jid)
    # Reads that touch the customer and the professional still work.
    jobs = await gql.data(CUSTOMER_JOBS, {"c": cus})
    assert jobs["customer"]["jobs"]["totalCount"] == 0
    assert "errors" not in await gql.post(TRUST_TO, {"c": cus, "p": pro})


@pytest.mark.parametrize("completed_at", ["1900-01-01T00:00:00+00:00",
                                          "1900-01-01T00:30:00+01:00"])
async def test_dates_from_1900_are_kept_and_read_back(gql, make, parties, completed_at):
    cus, pro = parties
    jid = await make.job(cus, pro, completedAt=completed_at)
    jobs = await gql.data(CUSTOMER_JOBS, {"c": cus})
    assert [n["id"] for n in jobs["customer"]["jobs"]["nodes"]] == [jid]


@pytest.mark.parametrize("value", [1.7e308, 1e9 + 1])
async def test_a_value_above_the_ceiling_is_refused_and_writes_nothing(
    gql, make, parties, uid, exists, value
):
    cus, pro = parties
    jid = uid("job")
    payload = await make.call("job", id=jid, customerId=cus, professionalId=pro,
                              completedAt="2026-03-01T09:30:00+00:00", value=value)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("VALIDATION", ["input", "value"])]
    assert "1000000000" in payload["errors"][0]["message"]
    assert not await exists(jid)


async def test_a_value_at_the_ceiling_is_kept(make, parties):
    cus, pro = parties
    payload = await make.ok("job", customerId=cus, professionalId=pro,
                            completedAt="2026-03-01T09:30:00+00:00", value=1e9)
    assert payload["job"]["value"] == 1e9


RECORD_JOB = ("mutation($input: RecordJobInput!) { recordJob(input: $input) { job { id } "
              "errors { code field } } }")


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_non_finite_values_write_nothing(gql, parties, uid, exists, raw):
    # JSON as Python reads it lets NaN and Infinity through, and 1e400 overflows to infinity.
    cus, pro = parties
    jid = uid("job")
    variables = (f'{{"input": {{"id": "{jid}", "customerId": "{cus}", "professionalId": "{pro}", '
                 f'"completedAt": "2026-01-01T00:00:00+00:00", "value": {raw}}}}}')
    response = await gql.http.post(
        "/graphql", content=f'{{"query": "{RECORD_JOB}", "variables": {variables}}}',
        headers={"authorization": f"Bearer {gql.token}", "content-type": "application/json"},
    )
    assert response.json()["data"] is None
    assert not await exists(jid)


async def test_an_infinite_literal_value_is_a_validation_error(gql, parties, uid, exists):
    cus, pro = parties
    jid = uid("job")
    body = await gql.data(
        f'mutation {{ recordJob(input: {{id: "{jid}", customerId: "{cus}", '
        f'professionalId: "{pro}", completedAt: "2026-01-01T00:00:00+00:00", value: 1e400}}) '
        "{ job { id } errors { code field } } }")
    assert body["recordJob"] == {"job": None,
                                 "errors": [{"code": "VALIDATION", "field": ["input", "value"]}]}
    assert not await exists(jid)


OLD_JOB = """
MATCH (c:Customer {id: $c}), (p:Professional {id: $p})
CREATE (c)-[:BOOKED]->(:Job {id: $id, trade: 'plumbing', completedAt: $at,
                              createdAt: $at})-[:DONE_BY]->(p)
"""


async def test_a_job_stored_with_an_unpadded_year_still_reads(gql, store, make, uid):
    # Given a job as earlier versions wrote a year before 1000.
    cus, pro = await make.customer(), await make.professional()
    jid = uid("job")
    await store.run_write(OLD_JOB, c=cus, p=pro, id=jid, at="999-06-01T00:00:00.000000+00:00")
    # Then the customer's jobs still read.
    jobs = await gql.data(CUSTOMER_JOBS, {"c": cus})
    assert [n["id"] for n in jobs["customer"]["jobs"]["nodes"]] == [jid]
