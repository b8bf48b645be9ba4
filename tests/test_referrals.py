"""Referrals: party rules, duplicates, verification, the lifecycle and its history."""

from __future__ import annotations

import pytest


@pytest.fixture
async def trio(make):
    """A customer referrer, a professional and a referee."""
    referrer = await make.customer(name="Rita Referrer")
    pro = await make.professional(trades=["roofing"])
    referee = await make.customer(name="Ed Referee")
    return referrer, pro, referee


async def test_create_from_a_customer(make, trio):
    referrer, pro, referee = trio
    payload = await make.ok("referral", referrerId=referrer, professionalId=pro,
                            refereeId=referee, note="  great roofer ")
    ref = payload["referral"]
    assert ref["status"] == "SENT"
    assert ref["note"] == "great roofer"
    assert ref["referrer"] == {"__typename": "Customer", "id": referrer}
    assert ref["professional"] == {"id": pro} and ref["referee"] == {"id": referee}
    assert [h["status"] for h in ref["history"]] == ["SENT"]
    assert ref["verified"] is False and ref["job"] is None


async def test_create_from_a_professional(make, trio):
    _, pro, referee = trio
    partner = await make.professional(trades=["painting"])
    ref = (await make.ok("referral", referrerId=partner, professionalId=pro,
                         refereeId=referee))["referral"]
    assert ref["referrer"] == {"__typename": "Professional", "id": partner}


async def test_verified_when_the_referrer_hired_the_professional(make, trio):
    referrer, pro, referee = trio
    await make.job(referrer, pro)
    ref = (await make.ok("referral", referrerId=referrer, professionalId=pro,
                         refereeId=referee))["referral"]
    assert ref["verified"] is True


@pytest.mark.parametrize(
    ("shape", "code", "field"),
    [
        ("pro_refers_itself", "SELF_REFERRAL", ["input", "professionalId"]),
        ("referee_is_referrer", "SELF_REFERRAL", ["input", "refereeId"]),
        ("referrer_is_a_job", "VALIDATION", ["input", "referrerId"]),
        ("referee_is_a_pro", "VALIDATION", ["input", "refereeId"]),
        ("missing_referrer", "NOT_FOUND", ["input", "referrerId"]),
        ("missing_professional", "NOT_FOUND", ["input", "professionalId"]),
        ("missing_referee", "NOT_FOUND", ["input", "refereeId"]),
        ("long_note", "VALIDATION", ["input", "note"]),
    ],
)
async def test_broken_rules_write_nothing(make, trio, uid, exists, shape, code, field):
    referrer, pro, referee = trio
    data = {"id": uid("ref"), "referrerId": referrer, "professionalId": pro, "refereeId": referee}
    match shape:
        case "pro_refers_itself":
            data["referrerId"] = pro
        case "referee_is_referrer":
            data["refereeId"] = referrer
        case "referrer_is_a_job":
            data["referrerId"] = uid("job")
        case "referee_is_a_pro":
            data["refereeId"] = pro
        case "missing_referrer":
            data["referrerId"] = uid("cus")
        case "missing_professional":
            data["professionalId"] = uid("pro")
        case "missing_referee":
            data["refereeId"] = uid("cus")
        case "long_note":
            data["note"] = "n" * 2001
    payload = await make.call("referral", **data)
    assert payload["referral"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert not await exists(data["id"])


async def test_an_open_referral_for_the_same_parties_is_a_duplicate(make, trio, uid, exists):
    referrer, pro, referee = trio
    first = await make.referral(referrer, pro, referee)
    again = uid("ref")
    payload = await make.call("referral", id=again, referrerId=referrer, professionalId=pro,
                              refereeId=referee)
    assert payload["errors"][0]["code"] == "DUPLICATE"
    assert not await exists(again)
    # Still a duplicate once accepted; free again once the first is final.
    await make.status(first, "ACCEPTED")
    dup = await make.call("referral", referrerId=referrer, professionalId=pro, refereeId=referee)
    assert dup["errors"][0]["code"] == "DUPLICATE"
    await make.status(first, "DECLINED")
    await make.referral(referrer, pro, referee)


async def test_idempotent_create_and_conflict(make, trio, uid):
    referrer, pro, referee = trio
    rid = uid("ref")
    data = {"id": rid, "referrerId": referrer, "professionalId": pro, "refereeId": referee,
            "note": "hi"}
    first = await make.ok("referral", **data)
    # A retry of the same create is not a duplicate of itself.
    assert (await make.ok("referral", **data))["referral"]["id"] == first["referral"]["id"]
    conflict = await make.call("referral", **{**data, "note": "changed"})
    assert conflict["errors"][0]["code"] == "CONFLICT"


@pytest.mark.parametrize(
    "path",
    [
        ["ACCEPTED", "CONVERTED"],
        ["ACCEPTED", "DECLINED"],
        ["ACCEPTED", "EXPIRED"],
        ["DECLINED"],
        ["EXPIRED"],
    ],
)
async def test_valid_lifecycles_keep_their_history(make, trio, path):
    referrer, pro, referee = trio
    rid = await make.referral(referrer, pro, referee)
    job = await make.job(referee, pro) if "CONVERTED" in path else None
    for status in path:
        extra = {"jobId": job} if status == "CONVERTED" else {}
        payload = await make.status(rid, status, **extra)
        assert payload["errors"] == []
    ref = payload["referral"]
    assert ref["status"] == path[-1]
    assert [h["status"] for h in ref["history"]] == ["SENT", *path]
    times = [h["at"] for h in ref["history"]]
    assert times == sorted(times)
    if job:
        assert ref["job"] == {"id": job, "referral": {"id": rid}}


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ([], "CONVERTED"),
        ([], "SENT"),
        (["ACCEPTED"], "SENT"),
        (["ACCEPTED"], "ACCEPTED"),
        (["DECLINED"], "ACCEPTED"),
        (["EXPIRED"], "DECLINED"),
        (["ACCEPTED", "DECLINED"], "CONVERTED"),
    ],
)
async def test_invalid_transitions_change_nothing(make, gql, trio, path, bad):
    referrer, pro, referee = trio
    rid = await make.referral(referrer, pro, referee)
    for status in path:
        await make.status(rid, status)
    job = await make.job(referee, pro)
    extra = {"jobId": job} if bad == "CONVERTED" else {}
    payload = await make.status(rid, bad, **extra)
    assert payload["referral"] is None
    assert payload["errors"][0]["code"] == "INVALID_TRANSITION"
    after = await gql.data("query($id: ID!) { referral(id: $id) { status history { status } } }",
                           {"id": rid})
    assert [h["status"] for h in after["referral"]["history"]] == ["SENT", *path]


async def test_conversion_needs_a_job_of_the_referee_with_the_professional(make, gql, trio):
    referrer, pro, referee = trio
    rid = await make.referral(referrer, pro, referee)
    await make.status(rid, "ACCEPTED")
    other_pro = await make.professional(trades=["roofing"])
    wrong_pro_job = await make.job(referee, other_pro)
    wrong_customer_job = await make.job(referrer, pro)
    cases = [
        ({}, "VALIDATION"),
        # Another professional's job is one the referral's professional may not read: it
        # reads exactly like an unknown job.
        ({"jobId": wrong_pro_job}, "NOT_FOUND"),
        ({"jobId": wrong_customer_job}, "VALIDATION"),
        ({"jobId": "job_doesnotexist"}, "NOT_FOUND"),
        ({"jobId": referee}, "VALIDATION"),
    ]
    for extra, code in cases:
        payload = await make.status(rid, "CONVERTED", **extra)
        assert payload["errors"][0]["code"] == code, extra
        assert payload["errors"][0]["field"] == ["input", "jobId"]
    status = await gql.data("query($id: ID!) { referral(id: $id) { status job { id } } }",
                            {"id": rid})
    assert status["referral"] == {"status": "ACCEPTED", "job": None}


async def test_a_job_converts_at_most_one_referral(make, trio):
    referrer, pro, referee = trio
    other = await make.customer()
    job = await make.job(referee, pro)
    first = await make.referral(referrer, pro, referee)
    second = await make.referral(other, pro, referee)
    for rid in (first, second):
        await make.status(rid, "ACCEPTED")
    assert (await make.status(first, "CONVERTED", jobId=job))["errors"] == []
    payload = await make.status(second, "CONVERTED", jobId=job)
    assert payload["errors"][0]["code"] == "VALIDATION"


async def test_job_id_goes_only_with_converted(make, trio):
    referrer, pro, referee = trio
    rid = await make.referral(referrer, pro, referee)
    job = await make.job(referee, pro)
    payload = await make.status(rid, "ACCEPTED", jobId=job)
    assert payload["errors"][0]["field"] == ["input", "jobId"]


async def test_unknown_referral(make, uid):
    payload = await make.status(uid("ref"), "ACCEPTED")
    assert payload["errors"][0]["code"] == "NOT_FOUND"


REFERRALS = """
query($status: ReferralStatus, $pro: ID, $referrer: ID) {
  referrals(status: $status, professionalId: $pro, referrerId: $referrer, first: 100) {
    totalCount nodes { id status }
  }
}
"""


async def test_referrals_filters(gql, make, trio):
    referrer, pro, referee = trio
    other = await make.customer()
    a = await make.referral(referrer, pro, referee)
    b = await make.referral(other, pro, referee)
    await make.status(b, "DECLINED")

    async def ids(**v):
        data = await gql.data(REFERRALS, v)
        return {n["id"] for n in data["referrals"]["nodes"]}

    assert await ids(pro=pro) == {a, b}
    assert await ids(pro=pro, status="DECLINED") == {b}
    assert await ids(pro=pro, referrer=referrer) == {a}
    assert await ids(referrer=other) == {b}
    assert b in await ids(status="DECLINED")
    assert a not in await ids(status="DECLINED")


NESTED = """
query($pro: ID!, $referrer: ID!, $referee: ID!) {
  professional(id: $pro) {
    referralsReceived { totalCount nodes { id } }
    sent: referralsReceived(status: SENT) { totalCount }
    referralsGiven { totalCount }
  }
  referrer: customer(id: $referrer) {
    referralsMade { nodes { id } } referralsReceived { totalCount } }
  referee: customer(id: $referee) { referralsReceived { nodes { id } } }
}
"""


async def test_nested_referral_lists(gql, make, trio):
    referrer, pro, referee = trio
    rid = await make.referral(referrer, pro, referee)
    partner = await make.professional(trades=["painting"])
    await make.referral(pro, partner, referee)
    data = await gql.data(NESTED, {"pro": pro, "referrer": referrer, "referee": referee})
    assert data["professional"]["referralsReceived"]["nodes"] == [{"id": rid}]
    assert data["professional"]["sent"]["totalCount"] == 1
    assert data["professional"]["referralsGiven"]["totalCount"] == 1
    assert data["referrer"]["referralsMade"]["nodes"] == [{"id": rid}]
    assert data["referrer"]["referralsReceived"]["totalCount"] == 0
    assert {"id": rid} in data["referee"]["referralsReceived"]["nodes"]
