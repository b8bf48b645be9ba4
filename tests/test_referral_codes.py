"""Referral codes: one stable, random, case-insensitive code per (referrer, professional);
redeeming one creates the referral with every referral rule and channel CODE."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

from app.ratelimit import CODE_LOOKUP_BURST

CREATE = """mutation($input: CreateReferralCodeInput!) { createReferralCode(input: $input) {
  referralCode { code uses createdAt professional { id name }
    referrer { __typename ... on Customer { id displayName } ... on Professional { id } } }
  errors { code message field } } }"""
LOOKUP = """query($code: String!) { referralCode(code: $code) { code uses
  professional { id name } referrer { __typename ... on Customer { displayName } } } }"""
REDEEM = """mutation($input: RedeemReferralCodeInput!) { redeemReferralCode(input: $input) {
  referral { id channel status verified note referrer { ... on Customer { id } }
    professional { id } referee { id } }
  errors { code message field } } }"""
REFERRAL = "query($id: ID!) { referral(id: $id) { id channel } }"
CODE_COUNT = "MATCH (k:ReferralCode) RETURN count(k) AS n"
ADDRESSES = itertools.count(1)
REFERRALS_TO = """MATCH (x:Referral)-[:INTRODUCES]->(:Customer {id: $id})
RETURN count(x) AS n"""


@pytest.fixture
async def trio(make):
    referrer = await make.customer(name="Rita Referrer")
    pro = await make.professional(trades=["roofing"], name="Roy Roofer")
    referee = await make.customer(name="Ed Referee")
    return referrer, pro, referee


async def create(client, referrer, pro):
    data = await client.data(CREATE, {"input": {"referrerId": referrer, "professionalId": pro}})
    return data["createReferralCode"]


async def code_of(as_, referrer, pro):
    payload = await create(as_("customer", referrer), referrer, pro)
    assert payload["errors"] == [], payload["errors"]
    return payload["referralCode"]["code"]


async def redeem(client, code, referee, note=None):
    data = await client.data(REDEEM, {"input": {"code": code, "refereeId": referee, "note": note}})
    return data["redeemReferralCode"]


async def count(store, query, **params):
    return (await store.read(query, **params))[0]["n"]


async def test_asking_again_returns_the_same_code(as_, trio):
    referrer, pro, _ = trio
    first = await create(as_("customer", referrer), referrer, pro)
    assert first["errors"] == []
    code = first["referralCode"]
    assert code["professional"] == {"id": pro, "name": "Roy Roofer"}
    assert code["referrer"]["id"] == referrer and code["uses"] == 0
    again = await create(as_("admin"), referrer, pro)
    assert again["referralCode"]["code"] == code["code"]
    assert again["referralCode"]["createdAt"] == code["createdAt"]


async def test_codes_are_random_and_long(as_, make, trio):
    referrer, pro, _ = trio
    other = await make.professional(trades=["painting"])
    one, two = await code_of(as_, referrer, pro), await code_of(as_, referrer, other)
    assert one != two
    assert len(one) >= 8 and len(two) >= 8
    # Not sequential: no long shared prefix, as a counter would give.
    assert one[:6] != two[:6]


async def test_lookups_are_case_insensitive(as_, trio):
    referrer, pro, referee = trio
    code = await code_of(as_, referrer, pro)
    viewer = as_("customer", referee)
    for variant in (code.lower(), f"  {code.capitalize()} ", f"{code[:4]}-{code[4:]}"):
        found = (await viewer.data(LOOKUP, {"code": variant}))["referralCode"]
        assert found["code"] == code
        assert found["professional"]["id"] == pro
        assert found["referrer"] == {"__typename": "Customer", "displayName": "Rita R."}


async def test_concurrent_asks_end_with_one_code(as_, store, trio):
    referrer, pro, _ = trio
    before = await count(store, CODE_COUNT)
    client = as_("customer", referrer)
    payloads = await asyncio.gather(*(create(client, referrer, pro) for _ in range(8)))
    assert all(p["errors"] == [] for p in payloads), payloads
    assert len({p["referralCode"]["code"] for p in payloads}) == 1
    assert await count(store, CODE_COUNT) == before + 1


async def test_redeem_creates_a_code_referral_and_counts_a_use(as_, make, trio):
    referrer, pro, referee = trio
    code = await code_of(as_, referrer, pro)
    done = await redeem(as_("customer", referee), code.lower(), referee, note=" thanks ")
    assert done["errors"] == [], done["errors"]
    ref = done["referral"]
    assert ref["channel"] == "CODE" and ref["status"] == "SENT" and ref["note"] == "thanks"
    assert ref["referrer"] == {"id": referrer} and ref["professional"] == {"id": pro}
    assert ref["referee"] == {"id": referee}
    found = (await as_("customer", referee).data(LOOKUP, {"code": code}))["referralCode"]
    assert found["uses"] == 1
    direct = await make.referral(referrer, pro, await make.customer())
    read = await as_("admin").data(REFERRAL, {"id": direct})
    assert read["referral"]["channel"] == "DIRECT"


async def test_redeem_keeps_the_verified_rule(as_, make, trio):
    referrer, pro, referee = trio
    await make.job(referrer, pro)
    code = await code_of(as_, referrer, pro)
    done = await redeem(as_("customer", referee), code, referee)
    assert done["referral"]["verified"] is True


async def test_redeem_obeys_duplicate_and_self_referral(as_, store, trio):
    referrer, pro, referee = trio
    code = await code_of(as_, referrer, pro)
    assert (await redeem(as_("customer", referee), code, referee))["errors"] == []
    again = await redeem(as_("customer", referee), code, referee)
    assert again["referral"] is None
    assert [e["code"] for e in again["errors"]] == ["DUPLICATE"]
    assert await count(store, REFERRALS_TO, id=referee) == 1
    # The referrer redeeming its own code would refer itself.
    own = await redeem(as_("customer", referrer), code, referrer)
    assert own["errors"] == [{"code": "SELF_REFERRAL", "message": own["errors"][0]["message"],
                              "field": ["input", "refereeId"]}]
    assert await count(store, REFERRALS_TO, id=referrer) == 0


@pytest.mark.parametrize(
    ("shape", "code", "field"),
    [
        ("referrer_is_a_job", "VALIDATION", ["input", "referrerId"]),
        ("professional_is_a_customer", "VALIDATION", ["input", "professionalId"]),
        ("pro_refers_itself", "SELF_REFERRAL", ["input", "professionalId"]),
        ("missing_professional", "NOT_FOUND", ["input", "professionalId"]),
    ],
)
async def test_bad_create_inputs_write_nothing(as_, store, trio, shape, code, field):
    referrer, pro, referee = trio
    input = {
        "referrer_is_a_job": ("job_00000000000000000000000000", pro),
        "professional_is_a_customer": (referrer, referee),
        "pro_refers_itself": (pro, pro),
        "missing_professional": (referrer, "pro_" + "0" * 26),
    }[shape]
    before = await count(store, CODE_COUNT)
    payload = await create(as_("admin"), *input)
    assert payload["referralCode"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert await count(store, CODE_COUNT) == before


@pytest.mark.parametrize(
    ("code", "error"), [("short", "VALIDATION"), ("ZZZZZZZZZZZZ", "NOT_FOUND"),
                        ("bad code!!", "VALIDATION")],
)
async def test_bad_redeem_inputs_write_nothing(as_, store, trio, code, error):
    _, _, referee = trio
    payload = await redeem(as_("customer", referee), code, referee)
    assert payload["referral"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(error, ["input", "code"])]
    assert await count(store, REFERRALS_TO, id=referee) == 0


async def test_unknown_and_malformed_codes_are_null(as_, trio):
    _, _, referee = trio
    viewer = as_("customer", referee)
    for code in ("ZZZZZZZZZZZZ", "x", "not a code at all"):
        assert (await viewer.data(LOOKUP, {"code": code}))["referralCode"] is None


async def test_who_may_create(as_, store, make, trio):
    referrer, pro, referee = trio
    before = await count(store, CODE_COUNT)
    for client in (as_("customer", referee), as_("professional", pro),
                   as_("organiser", None, ["net_x"])):
        refused = await create(client, referrer, pro)
        assert refused == {"referralCode": None, "errors": [
            {"code": "FORBIDDEN", "message": "not allowed", "field": ["input", "referrerId"]}]}
    # A refusal for a referrer that does not exist reads the same.
    ghost = await create(as_("customer", referee), "cus_" + "0" * 26, pro)
    assert ghost == refused
    assert await count(store, CODE_COUNT) == before
    anonymous = await as_(None).raw(CREATE, {"input": {"referrerId": referrer,
                                                       "professionalId": pro}})
    assert anonymous.status_code == 401
    # A professional referrer gets its own code too.
    partner = await make.professional()
    assert (await create(as_("professional", partner), partner, pro))["errors"] == []


async def test_who_may_redeem(as_, store, trio):
    referrer, pro, referee = trio
    code = await code_of(as_, referrer, pro)
    for client in (as_("customer", referrer), as_("professional", pro)):
        for attempt in (code, "ZZZZZZZZZZZZ"):
            refused = await redeem(client, attempt, referee)
            # The same refusal whether or not the code exists.
            assert refused == {"referral": None, "errors": [
                {"code": "FORBIDDEN", "message": "not allowed", "field": ["input", "refereeId"]}]}
    assert await count(store, REFERRALS_TO, id=referee) == 0
    anonymous = await as_(None).raw(REDEEM, {"input": {"code": code, "refereeId": referee}})
    assert anonymous.status_code == 401
    by_admin = await redeem(as_("admin"), code, referee)
    assert by_admin["errors"] == [] and by_admin["referral"]["channel"] == "CODE"


async def test_lookup_is_for_signed_in_parties(as_, trio):
    referrer, pro, _ = trio
    code = await code_of(as_, referrer, pro)
    for client in (as_("professional", pro), as_("organiser", None, ["net_y"]), as_("admin")):
        assert (await client.data(LOOKUP, {"code": code}))["referralCode"]["code"] == code
    anonymous = await as_(None).raw(LOOKUP, {"code": code})
    assert anonymous.status_code == 401


async def test_lookups_are_rate_limited_per_principal(as_, make, trio):
    referrer, pro, _ = trio
    code = await code_of(as_, referrer, pro)
    prober_id = await make.customer()
    prober = as_("customer", prober_id)
    for _ in range(CODE_LOOKUP_BURST):
        assert "errors" not in await prober.post(LOOKUP, {"code": "ZZZZZZZZZZZZ"})
    limited = await prober.post(LOOKUP, {"code": code})
    assert limited["data"]["referralCode"] is None
    assert [e["extensions"]["code"] for e in limited["errors"]] == ["RATE_LIMITED"]
    # Redemptions spend from the same bucket.
    limited = await prober.post(REDEEM, {"input": {"code": code, "refereeId": prober_id}})
    assert [e["extensions"]["code"] for e in limited["errors"]] == ["RATE_LIMITED"]
    # Another party still looks up.
    other = as_("customer", await make.customer())
    assert (await other.data(LOOKUP, {"code": code}))["referralCode"]["code"] == code


@pytest.fixture
def visitor(app):
    """A browser without a token, from an address of its own (each test gets a fresh one)."""
    def client() -> httpx.AsyncClient:
        address = f"203.0.113.{next(ADDRESSES)}"
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    return client


async def test_landing_page_shows_the_professional_and_referrer(as_, make, visitor):
    referrer = await make.customer(name="<i>Rita Referrer")
    pro = await make.professional(trades=["roofing", "guttering"], name="Roy <script>x</script>",
                                  area="Leeds")
    code = await code_of(as_, referrer, pro)
    async with visitor() as browser:
        page = await browser.get(f"/r/{code.lower()}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "<script>" not in text and "Roy &lt;script&gt;x&lt;/script&gt;" in text
    assert "<i>" not in text and "&lt;i&gt;Rita R. recommends" in text  # display name only
    assert "roofing, guttering" in text and "Leeds" in text and code in text
    assert "Referrer" not in text  # the referrer's full name stays private


async def test_landing_page_of_an_unknown_code_is_a_404_of_the_same_shape(as_, visitor, trio):
    referrer, pro, _ = trio
    code = await code_of(as_, referrer, pro)
    async with visitor() as browser:
        known = await browser.get(f"/r/{code}")
        unknown = await browser.get("/r/ZZZZZZZZZZZZ")
        malformed = await browser.get("/r/%3Cscript%3E")
    assert known.status_code == 200
    assert unknown.status_code == 404 and malformed.status_code == 404
    assert unknown.text == malformed.text and "<script>" not in malformed.text
    shape = ("<h1>", "<dl><dt>Trades</dt>", "<dt>Area</dt>")
    assert all(part in known.text and part in unknown.text for part in shape)


async def test_landing_pages_are_rate_limited_per_address(visitor):
    async with visitor() as browser, visitor() as neighbour:
        for _ in range(CODE_LOOKUP_BURST):
            assert (await browser.get("/r/ZZZZZZZZZZZZ")).status_code == 404
        limited = await browser.get("/r/ZZZZZZZZZZZZ")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert (await neighbour.get("/r/ZZZZZZZZZZZZ")).status_code == 404


async def test_the_code_of_an_erased_referrer_leads_nowhere(as_, store, visitor, trio):
    referrer, pro, referee = trio
    code = await code_of(as_, referrer, pro)
    erase = "mutation($id: ID!) { deleteCustomer(id: $id) { deletedId errors { code } } }"
    assert (await as_("admin").data(erase, {"id": referrer}))["deleteCustomer"]["errors"] == []
    viewer = as_("customer", referee)
    assert (await viewer.data(LOOKUP, {"code": code}))["referralCode"] is None
    payload = await redeem(viewer, code, referee)
    errors = [(e["code"], e["field"]) for e in payload["errors"]]
    assert errors == [("NOT_FOUND", ["input", "code"])]
    assert await count(store, REFERRALS_TO, id=referee) == 0
    async with visitor() as browser:
        assert (await browser.get(f"/r/{code}")).status_code == 404
