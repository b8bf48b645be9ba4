"""Leaderboards: hand-counted figures on a small network (loaded with explicit times), a
brute-force count over a generated network, who may read them, and argument errors."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from graph import bulk
from graph.leaderboard import ranked
from graph.referrals import open_key
from seeds.synthetic import synthetic_dataset

ENTRY = ("rank value party { __typename ... on Professional { id } "
         "... on Customer { id displayName name } }")
BOARD = f"""query($id: ID!, $metric: LeaderboardMetric, $since: DateTime, $until: DateTime,
  $limit: Int) {{ network(id: $id) {{
    leaderboard(metric: $metric, since: $since, until: $until, limit: $limit) {{ {ENTRY} }} }} }}"""
TOP = f"""query($id: ID!, $metric: LeaderboardMetric, $since: DateTime, $until: DateTime,
  $limit: Int) {{ professional(id: $id) {{
    topReferrers(metric: $metric, since: $since, until: $until, limit: $limit) {{ {ENTRY} }}
  }} }}"""


def t(day: str) -> str:
    return f"{day}T12:00:00.000000+00:00"


def rows(entries: list[dict]) -> list[tuple[int, str, float]]:
    return [(e["rank"], e["party"]["id"], e["value"]) for e in entries]


@pytest.fixture
async def world(store, uid):
    """Active members a, b, c, d of one network; i only invited; o outside it; customer k.

    Referrals (referrer -> named professional, day, status, job value when converted):
      a->b Jan 10 CONVERTED 100, a->b Feb 10 CONVERTED 50, a->c Mar 1 SENT,
      b->c Jan 15 CONVERTED 150, b->a Feb 1 SENT, c->d Mar 5 DECLINED, c->a Mar 6 SENT,
      d->a Feb 20 CONVERTED 0, d->b Mar 2 CONVERTED 1000 (confirmed fraud),
      a->o Jan 5 CONVERTED 500 and a->i Jan 6 SENT (not to active members),
      i->a Jan 7 SENT, o->a Jan 8 SENT, o->a Jan 9 SENT (confirmed fraud),
      k->a Jan 11 CONVERTED 80, k->a Apr 1 SENT."""
    pro = {x: uid("pro") for x in "abcdio"}
    k = uid("cus")
    net = uid("net")
    data = bulk.Dataset()
    data.professionals = [{"id": v, "name": f"Pro {x}", "trades": ["plumbing"], "area": None,
                           "createdAt": t("2025-01-01")} for x, v in pro.items()]
    referees = [uid("cus") for _ in range(20)]
    data.customers = [{"id": c, "name": "Kim Customer", "area": "Leeds",
                       "createdAt": t("2025-01-01")} for c in [k, *referees]]
    data.networks = [{"id": net, "name": "Circle", "createdAt": t("2025-01-01")}]
    data.memberships = [{"networkId": net, "professionalId": pro[x], "since": t("2025-01-02")}
                        for x in "abcd"]
    fraud: list[str] = []

    def ref(src: str, dst: str, day: str, status: str, value: float | None = None,
            is_fraud: bool = False) -> dict:
        referee = referees.pop()
        job_id = None
        if status == "CONVERTED":
            job_id = uid("job")
            data.jobs.append({"id": job_id, "customerId": referee, "professionalId": dst,
                              "trade": "plumbing", "completedAt": t(day), "rating": 5,
                              "value": value, "createdAt": t(day)})
        history = {"CONVERTED": ["SENT", "ACCEPTED", "CONVERTED"],
                   "DECLINED": ["SENT", "DECLINED"], "SENT": ["SENT"]}[status]
        rid = uid("ref")
        if is_fraud:
            fraud.append(rid)
        return {"id": rid, "referrerId": src, "professionalId": dst, "refereeId": referee,
                "status": status, "verified": False, "note": None, "createdAt": t(day),
                "updatedAt": t(day), "statusHistory": history,
                "statusTimes": [t(day)] * len(history),
                "openKey": open_key(src, dst, referee) if status == "SENT" else None,
                "jobId": job_id}

    p = pro
    data.referrals = [
        ref(p["a"], p["b"], "2026-01-10", "CONVERTED", 100.0),
        ref(p["a"], p["b"], "2026-02-10", "CONVERTED", 50.0),
        ref(p["a"], p["c"], "2026-03-01", "SENT"),
        ref(p["b"], p["c"], "2026-01-15", "CONVERTED", 150.0),
        ref(p["b"], p["a"], "2026-02-01", "SENT"),
        ref(p["c"], p["d"], "2026-03-05", "DECLINED"),
        ref(p["c"], p["a"], "2026-03-06", "SENT"),
        ref(p["d"], p["a"], "2026-02-20", "CONVERTED", 0.0),
        ref(p["d"], p["b"], "2026-03-02", "CONVERTED", 1000.0, is_fraud=True),
        ref(p["a"], p["o"], "2026-01-05", "CONVERTED", 500.0),
        ref(p["a"], p["i"], "2026-01-06", "SENT"),
        ref(p["i"], p["a"], "2026-01-07", "SENT"),
        ref(p["o"], p["a"], "2026-01-08", "SENT"),
        ref(p["o"], p["a"], "2026-01-09", "SENT", is_fraud=True),
        ref(k, p["a"], "2026-01-11", "CONVERTED", 80.0),
        ref(k, p["a"], "2026-04-01", "SENT"),
    ]
    await bulk.load(store, data)
    await store.run_write(
        "MATCH (p:Professional {id: $p}), (n:Network {id: $n}) "
        "CREATE (p)-[:MEMBER_OF {since: $since, status: 'INVITED'}]->(n)",
        p=p["i"], n=net, since=t("2025-06-01"))
    for rid in fraud:
        await store.run_write("MATCH (x:Referral {id: $id}) SET x.fraud = true", id=rid)
    return pro, k, net


async def board(gql, net: str, **variables) -> list[tuple[int, str, float]]:
    return rows((await gql.data(BOARD, {"id": net, **variables}))["network"]["leaderboard"])


async def top(gql, pro: str, **variables) -> list[tuple[int, str, float]]:
    return rows((await gql.data(TOP, {"id": pro, **variables}))["professional"]["topReferrers"])


async def test_network_leaderboard_hand_counts(gql, world):
    p, _, net = world
    b, c = sorted([p["b"], p["c"]])
    # Invited i, outsider o and the fraud d->b count for nobody; c has no conversion.
    assert await board(gql, net, metric="REFERRALS") == [
        (1, p["a"], 3.0), (2, b, 2.0), (2, c, 2.0), (4, p["d"], 1.0)]
    b_d = sorted([p["b"], p["d"]])
    assert await board(gql, net, metric="CONVERSIONS") == [
        (1, p["a"], 2.0), (2, b_d[0], 1.0), (2, b_d[1], 1.0)]
    assert await board(gql, net) == await board(gql, net, metric="CONVERSIONS")  # the default
    # d's conversion is worth 0: zero-value entries are left out.
    a_b = sorted([p["a"], p["b"]])
    assert await board(gql, net, metric="VALUE") == [(1, a_b[0], 150.0), (1, a_b[1], 150.0)]


async def test_network_leaderboard_window_edges(gql, world):
    p, _, net = world
    # since inclusive (b->a at exactly Feb 1 12:00 counts), until exclusive (c->d at exactly
    # Mar 5 12:00 does not).
    window = {"since": t("2026-02-01"), "until": t("2026-03-05")}
    b_d = sorted([p["b"], p["d"]])
    assert await board(gql, net, metric="REFERRALS", **window) == [
        (1, p["a"], 2.0), (2, b_d[0], 1.0), (2, b_d[1], 1.0)]
    assert await board(gql, net, metric="VALUE", **window) == [(1, p["a"], 50.0)]
    late = {"since": "2026-03-05T12:00:00+00:00", "until": "2026-03-05T12:00:01+00:00"}
    assert await board(gql, net, metric="REFERRALS", **late) == [(1, p["c"], 1.0)]
    assert await board(gql, net, metric="REFERRALS", limit=1) == [(1, p["a"], 3.0)]


async def test_top_referrers_hand_counts(gql, world):
    p, k, _ = world
    others = sorted([p["b"], p["c"], p["d"], p["i"], p["o"]])  # o's second referral is fraud
    assert await top(gql, p["a"], metric="REFERRALS") == [
        (1, k, 2.0), *[(2, x, 1.0) for x in others]]
    assert await top(gql, p["a"], metric="REFERRALS", limit=3) == [
        (1, k, 2.0), (2, others[0], 1.0), (2, others[1], 1.0)]
    assert await top(gql, p["a"], metric="CONVERSIONS") == [
        (1, x, 1.0) for x in sorted([k, p["d"]])]
    assert await top(gql, p["a"], metric="VALUE") == [(1, k, 80.0)]
    window = {"since": t("2026-01-08"), "until": t("2026-04-01")}
    assert await top(gql, p["a"], metric="REFERRALS", **window) == [
        (1, x, 1.0) for x in sorted([k, p["b"], p["c"], p["d"], p["o"]])]
    assert await top(gql, p["b"], metric="VALUE") == [(1, p["a"], 150.0)]
    assert await top(gql, p["d"], metric="CONVERSIONS") == []


async def test_customers_appear_by_display_name(as_, world):
    p, k, _ = world
    body = await as_("professional", p["a"]).post(TOP, {"id": p["a"], "metric": "REFERRALS"})
    assert "errors" not in body, body
    first = body["data"]["professional"]["topReferrers"][0]["party"]
    # Professional a never had a confirmed job from k: it sees the display name only.
    assert first == {"__typename": "Customer", "id": k, "displayName": "Kim C.",
                     "name": "Kim C."}
    admin = await as_("admin").post(TOP, {"id": p["a"], "metric": "REFERRALS"})
    assert admin["data"]["professional"]["topReferrers"][0]["party"]["name"] == "Kim Customer"


async def test_who_reads_the_network_leaderboard(as_, world):
    p, k, net = world
    for client in (as_("admin"), as_("organiser", None, [net]), as_("professional", p["a"])):
        body = await client.post(BOARD, {"id": net})
        assert "errors" not in body, body
        assert body["data"]["network"]["leaderboard"]
    field = "query($id: ID!) { node(id: $id) { ... on Network { leaderboard { rank } } } }"
    for client in (as_("professional", p["i"]), as_("professional", p["o"]),
                   as_("organiser", None, ["net_other"]), as_("customer", k)):
        for query in (BOARD, field):
            body = await client.post(query, {"id": net})
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
            assert "leaderboard" not in str(body.get("data") or {}).replace("None", "")
    anonymous = await as_(None).raw(BOARD, {"id": net})
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_who_reads_top_referrers(as_, world):
    p, k, net = world
    for client in (as_("admin"), as_("organiser", None, [net]), as_("professional", p["a"])):
        body = await client.post(TOP, {"id": p["a"]})
        assert "errors" not in body, body
        assert body["data"]["professional"]["topReferrers"]
    # i is only invited: the network's organisers read nothing of it beyond its profile.
    refused = [(as_("organiser", None, [net]), p["i"]), (as_("organiser", None, [net]), p["o"]),
               (as_("professional", p["b"]), p["a"]), (as_("customer", k), p["a"]),
               (as_("organiser", None, ["net_other"]), p["a"])]
    for client, target in refused:
        body = await client.post(TOP, {"id": target})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert body["data"]["professional"] is None
        assert body["errors"][0]["message"] == "not allowed"  # the same words for everyone
    anonymous = await as_(None).raw(TOP, {"id": p["a"]})
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(("variables", "argument"), [
    ({"limit": 0}, "limit"), ({"limit": 51}, "limit"),
    ({"since": "2026-03-01T00:00:00+00:00", "until": "2026-03-01T00:00:00+00:00"}, "until"),
    ({"since": "2026-03-02T00:00:00+00:00", "until": "2026-03-01T00:00:00+00:00"}, "until"),
    ({"since": "2026-03-01T00:00:00"}, "since"),
    ({"until": "2026-03-01T00:00:00"}, "until"),
])
async def test_argument_errors(gql, world, variables, argument):
    p, _, net = world
    for query, anchor in ((BOARD, net), (TOP, p["a"])):
        body = await gql.post(query, {"id": anchor, **variables})
        error = body["errors"][0]
        assert error["extensions"]["code"] == "VALIDATION", body
        assert argument in error["message"] + str(error["extensions"]), body
        assert body.get("data") is None
    good = await gql.post(BOARD, {"id": net, "limit": 50, "since": "2026-03-01T00:00:00+00:00",
                                  "until": "2026-03-01T00:00:01+00:00"})
    assert "errors" not in good


def expected_board(counts: dict[str, float], limit: int) -> list[tuple[int, str, float]]:
    order = sorted(((party, v) for party, v in counts.items() if v > 0),
                   key=lambda pv: (-pv[1], pv[0]))[:limit]
    return [(e.rank, e.party_id, e.value) for e in ranked(order)]


async def test_brute_force_on_a_generated_network(gql, store):
    """Every metric, counted in Python over the generated rows, with some referrals marked as
    confirmed fraud and some memberships turned back into invitations."""
    data = synthetic_dataset(30, 120, 200, 260, seed=131)
    await bulk.load(store, data)
    rng = random.Random(131)
    fraud = {r["id"] for r in rng.sample(data.referrals, 25)}
    for rid in sorted(fraud):
        await store.run_write("MATCH (x:Referral {id: $id}) SET x.fraud = true", id=rid)
    members: dict[str, set[str]] = defaultdict(set)
    for m in data.memberships:
        members[m["networkId"]].add(m["professionalId"])
    for net, pros in members.items():
        for pro in rng.sample(sorted(pros), min(2, len(pros))):
            await store.run_write(
                "MATCH (:Professional {id: $p})-[m:MEMBER_OF]->(:Network {id: $n}) "
                "SET m.status = 'INVITED'", p=pro, n=net)
            pros.discard(pro)
    value = {j["id"]: j["value"] for j in data.jobs}
    window = (t("2025-06-01"), t("2026-06-01"))

    def tally(keep, who) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {m: defaultdict(float) for m in
                                            ("REFERRALS", "CONVERSIONS", "VALUE")}
        for r in data.referrals:
            if r["id"] in fraud or not keep(r):
                continue
            party = who(r)
            out["REFERRALS"][party] += 1
            if r["status"] == "CONVERTED":
                out["CONVERSIONS"][party] += 1
                out["VALUE"][party] += value.get(r["jobId"]) or 0.0
        return out

    def cents(rows_: list[tuple[int, str, float]]) -> list[tuple[int, str, int]]:
        return [(rank, party, round(v * 100)) for rank, party, v in rows_]

    checked = 0
    for net, pros in members.items():
        for since, until in ((None, None), window):
            def keep(r, pros=pros, since=since, until=until) -> bool:
                inside = since is None or since <= r["createdAt"] < until
                return (inside and r["referrerId"] in pros and r["professionalId"] in pros
                        and r["referrerId"] != r["professionalId"])
            expected = tally(keep, lambda r: r["referrerId"])
            for metric, counts in expected.items():
                got = await board(gql, net, metric=metric, since=since, until=until, limit=50)
                assert cents(got) == cents(expected_board(counts, 50)), (net, metric)
                checked += len(got)
    targets = sorted({r["professionalId"] for r in data.referrals})[:8]
    for pro in targets:
        expected = tally(lambda r, pro=pro: r["professionalId"] == pro, lambda r: r["referrerId"])
        for metric, counts in expected.items():
            got = await top(gql, pro, metric=metric, limit=5)
            assert cents(got) == cents(expected_board(counts, 5)), (pro, metric)
            checked += len(got)
    assert checked > 50


async def test_a_page_of_leaderboards_costs_the_same_round_trips(gql, store, world):
    _, _, net = world
    bare = """query($id: ID!, $first: Int!) { network(id: $id) { members(first: $first) {
      nodes { id } } } }"""
    boards = """query($id: ID!, $first: Int!) { network(id: $id) { members(first: $first) {
      nodes { id topReferrers(metric: REFERRALS) { rank }
              value: topReferrers(metric: VALUE, limit: 2) { rank } } } } }"""

    async def trips(query: str, first: int) -> int:
        start = store.round_trips
        data = await gql.data(query, {"id": net, "first": first})
        assert len(data["network"]["members"]["nodes"]) == first
        return store.round_trips - start

    # One round trip per metric, whatever the page size.
    for first in (1, 4):
        assert await trips(boards, first) - await trips(bare, first) == 2
