"""Partner recommendations and network gaps that hold up: gaps ranked by fit with the members,
candidates found wherever they are, and the stated decisions, on planted data with known
answers."""

from __future__ import annotations

import pytest

from graph import analytics, bulk, partners
from graph.referrals import open_key
from seeds.complementary_trades import CURATED

GAPS = """query($id: ID!, $since: DateTime, $until: DateTime) { network(id: $id) {
  gaps(since: $since, until: $until) { missingTrades { trade demand fit score } } } }"""
RECOMMEND = """query($id: ID!, $limit: Int, $same: Boolean) { professional(id: $id) {
  partnerRecommendations(limit: $limit, includeSameTrade: $same) {
    partner { id trades area reputation } score sharedCustomers reasons } } }"""
REFRESH = "mutation { refreshAnalytics { professionals trades seconds } }"
CUSTOMERS_WITH_JOBS = """
MATCH (c:Customer)-[:BOOKED]->(j:Job) WHERE j.confirmed = true RETURN count(DISTINCT c) AS n
"""


def t(day: str) -> str:
    return f"{day}T12:00:00.000000+00:00"


class Plan:
    """A dataset built by name: professionals, customers and their jobs."""

    def __init__(self, uid, tag: str) -> None:
        self.uid = uid
        self.tag = tag
        self.data = bulk.Dataset()
        self.ids: dict[str, str] = {}
        self.trade: dict[str, str] = {}

    def pro(self, name: str, trade: str, area: str = "Near", *more: str) -> str:
        pid = self.ids[name] = self.uid("pro")
        self.trade[name] = f"{trade} {self.tag}"
        self.data.professionals.append({
            "id": pid, "name": f"Pro {name}",
            "trades": [f"{trade} {self.tag}", *(f"{m} {self.tag}" for m in more)],
            "area": f"{area} {self.tag}", "createdAt": t("2025-01-01")})
        return pid

    def customers(self, n: int) -> list[str]:
        made = [self.uid("cus") for _ in range(n)]
        self.data.customers += [{"id": c, "name": "Cus Tomer", "area": None,
                                 "createdAt": t("2025-01-01")} for c in made]
        return made

    def hire(self, customers: list[str], name: str, day: str = "2026-05-01") -> None:
        self.data.jobs += [{"id": self.uid("job"), "customerId": c,
                            "professionalId": self.ids[name], "trade": self.trade[name],
                            "completedAt": t(day), "rating": 5, "value": 100.0,
                            "createdAt": t(day)} for c in customers]

    def network(self, *members: str) -> str:
        net = self.uid("net")
        self.data.networks.append({"id": net, "name": "Planted", "createdAt": t("2025-01-01")})
        self.data.memberships += [{"networkId": net, "professionalId": self.ids[m],
                                   "since": t("2025-01-02")} for m in members]
        return net


@pytest.fixture
def plan(uid):
    return Plan(uid, uid("x")[-8:].lower())


async def test_a_renovation_network_is_told_of_renovation_gaps_first(store, gql, plan):
    """A plumber, a tiler and a kitchen fitter. Their customers hire accountants (15) and
    solicitors (12) more often than heating engineers (8) and bathroom fitters (6); but the
    accountants and solicitors serve everyone, so hiring one with a member is chance, while
    heating goes with plumbing and bathrooms with tiling."""
    before = (await store.read(CUSTOMERS_WITH_JOBS))[0]["n"]
    for name, trade in [("plumber", "plumbing"), ("tiler", "tiling"), ("fitter", "kitchen"),
                        ("heat", "heating"), ("bath", "bathroom"), ("acc", "accounting"),
                        ("legal", "legal")]:
        plan.pro(name, trade, "Far" if name in ("acc", "legal") else "Near")
    c = plan.customers(30)
    plan.hire(c[:10], "plumber")
    plan.hire(c[10:20], "tiler")
    plan.hire(c[20:], "fitter")
    plan.hire(c[:8], "heat")
    plan.hire(c[10:16], "bath")
    plan.hire(c[0:5] + c[10:15] + c[20:25], "acc")
    plan.hire(c[5:9] + c[15:19] + c[25:29], "legal")
    # Enough other customers of both that five of a member's ten customers is below chance,
    # whatever else the store holds.
    everyone = plan.customers(before + 100)
    plan.hire(everyone, "acc")
    plan.hire(everyone, "legal")
    net = plan.network("plumber", "tiler", "fitter")
    await bulk.load(store, plan.data)
    await gql.data(REFRESH)

    gaps = (await gql.data(GAPS, {"id": net}))["network"]["gaps"]["missingTrades"]
    by_trade = {g["trade"].split()[0]: g for g in gaps}
    assert {k: g["demand"] for k, g in by_trade.items()} == {
        "accounting": 15, "legal": 12, "heating": 8, "bathroom": 6}
    assert [g["trade"].split()[0] for g in gaps] == ["heating", "bathroom", "accounting",
                                                     "legal"]
    for g in gaps:
        assert 0 <= g["fit"] <= 1
        assert g["score"] == pytest.approx(g["demand"] * g["fit"])
    assert by_trade["heating"]["fit"] > 0 and by_trade["bathroom"]["fit"] > 0
    assert by_trade["accounting"]["fit"] == 0 and by_trade["legal"]["fit"] == 0
    # Heating complements one member of three: its fit is a third of plumbing's complement.
    assert by_trade["heating"]["fit"] < 0.34


async def test_gap_demand_counts_outside_hires_in_the_window_whenever_the_member_hire(
        store, gql, plan):
    """Only the non-member hire must fall in the window; the member's customer may have hired
    the member before or after it."""
    plan.pro("member", "plumbing")
    plan.pro("outsider", "roofing")
    early, late, outside = plan.customers(3)
    plan.hire([early], "member", "2024-03-01")  # long before the window
    plan.hire([late], "member", "2026-11-01")  # after it
    plan.hire([outside], "member", "2026-05-01")
    plan.hire([early, late], "outsider", "2026-05-01")  # in the window
    plan.hire([outside], "outsider", "2025-05-01")  # before the window
    net = plan.network("member")
    await bulk.load(store, plan.data)
    window = {"id": net, "since": "2026-01-01T00:00:00Z", "until": "2026-07-01T00:00:00Z"}
    gaps = (await gql.data(GAPS, window))["network"]["gaps"]["missingTrades"]
    assert [(g["trade"], g["demand"]) for g in gaps] == [(plan.trade["outsider"], 2)]
    ever = (await gql.data(GAPS, {"id": net}))["network"]["gaps"]["missingTrades"]
    assert [(g["trade"], g["demand"]) for g in ever] == [(plan.trade["outsider"], 3)]


@pytest.fixture
async def crowded(store, plan):
    """A plumber with no customers yet. 101 tilers in its area (a curated complement of 0.3,
    halved without evidence) and one heating engineer in another area (0.9, halved): the heating
    engineer is the best partner although the tilers fill any first hundred read area first.
    A second plumber far away also fits kitchens (1.0); a third plumber is already a partner."""
    pl, ti, he, ki = (f"{t} {plan.tag}" for t in ("plumbing", "tiling", "heating", "kitchen"))
    curated = {**CURATED, frozenset({pl, ti}): 0.3, frozenset({pl, he}): 0.9,
               frozenset({pl, ki}): 1.0}
    me = plan.pro("me", "plumbing", "Near")
    for i in range(101):
        plan.pro(f"tiler{i}", "tiling", "Near")
    plan.pro("heat", "heating", "Far")
    plan.pro("rival", "plumbing", "Far", "kitchen")
    plan.pro("partner", "plumbing", "Near")
    referee = plan.customers(1)[0]
    plan.data.referrals.append({
        "id": plan.uid("ref"), "referrerId": plan.ids["partner"], "professionalId": me,
        "refereeId": referee, "status": "SENT", "verified": False, "note": None,
        "createdAt": t("2026-06-01"), "updatedAt": t("2026-06-01"), "statusHistory": ["SENT"],
        "statusTimes": [t("2026-06-01")], "openKey": open_key(plan.ids["partner"], me, referee),
        "jobId": None})
    await bulk.load(store, plan.data)
    await analytics.refresh(store, curated=curated)
    return plan.ids


async def test_a_strong_partner_in_another_area_is_not_dropped(gql, crowded, store,
                                                                 monkeypatch):
    reads: list[int] = []
    real = store.read

    async def counted(query, **params):
        if query is partners.PROFILES:
            reads.append(len(params["ids"]))
        return await real(query, **params)

    monkeypatch.setattr(store, "read", counted)
    recs = (await gql.data(RECOMMEND, {"id": crowded["me"], "limit": 3}))["professional"][
        "partnerRecommendations"]
    assert recs[0]["partner"]["id"] == crowded["heat"]
    assert any("Heating" in r and "complements your plumbing" in r for r in recs[0]["reasons"])
    assert all(r["partner"]["id"].startswith("pro_") for r in recs)
    assert [r["partner"]["trades"][0].split()[0] for r in recs] == ["heating", "tiling",
                                                                   "tiling"]
    # The tilers' pages past the first are never read: no unread tiler could make the top 3.
    assert sum(reads) <= 2 * analytics.CANDIDATE_PAGE + 1 < 103


async def test_include_same_trade_adds_competitors_by_their_other_trades(gql, crowded):
    """Without it, no plumber is a candidate; with it, plumbers come from the plumbing lists,
    scored by the complementarity of their other trades; a current partner never does."""
    plain = (await gql.data(RECOMMEND, {"id": crowded["me"], "limit": 50}))["professional"][
        "partnerRecommendations"]
    ids = [r["partner"]["id"] for r in plain]
    assert crowded["rival"] not in ids and crowded["partner"] not in ids
    same = (await gql.data(RECOMMEND, {"id": crowded["me"], "limit": 50, "same": True}))[
        "professional"]["partnerRecommendations"]
    rows = {r["partner"]["id"]: r for r in same}
    assert crowded["rival"] in rows and crowded["partner"] not in rows
    assert crowded["me"] not in rows
    rival = rows[crowded["rival"]]
    assert rival["score"] == pytest.approx(0.4 * 0.5 + 0.2 * rival_reputation(same, crowded))
    assert same[0]["partner"]["id"] == crowded["rival"]
    assert any("Kitchen" in r and "complements your plumbing" in r for r in rival["reasons"])
    scores = [r["score"] for r in same]
    assert scores == sorted(scores, reverse=True)


def rival_reputation(rows, ids) -> float:
    return next(r["partner"]["reputation"] for r in rows if r["partner"]["id"] == ids["rival"])


PAIRS = """query($id: ID!) { network(id: $id) { gaps {
  unconnectedPairs { a { id } b { id } score } } } }"""


async def test_three_customers_do_not_make_the_top_unconnected_pair(store, gql, plan):
    """A locksmith and a heating engineer share 3 customers, far above chance; a busy plumber
    (70 customers) and the heating engineer share 10, and the pair is curated. The
    well-supported pair comes first, whatever else the store holds."""
    for name, trade in [("lock", "locksmith"), ("heat", "heating"), ("plumber", "plumbing"),
                        ("gardener", "gardening")]:
        plan.pro(name, trade)
    c = plan.customers(13)
    plan.hire(c[:3], "lock")
    plan.hire(c, "heat")
    plan.hire(c[3:] + plan.customers(60), "plumber")
    plan.hire(plan.customers(110), "gardener")  # at least 183 customers in all
    net = plan.network("lock", "heat", "plumber")
    await bulk.load(store, plan.data)
    curated = {**CURATED, frozenset({plan.trade["plumber"], plan.trade["heat"]}): 0.9}
    await analytics.refresh(store, curated=curated)
    pairs = (await gql.data(PAIRS, {"id": net}))["network"]["gaps"]["unconnectedPairs"]
    named = {v: k for k, v in plan.ids.items()}
    got = [({named[p["a"]["id"]], named[p["b"]["id"]]}, p["score"]) for p in pairs]
    assert [names for names, _ in got] == [{"plumber", "heat"}, {"lock", "heat"}]
    assert got[1][1] < 0.2 < 0.45 < got[0][1]


async def test_fit_and_score_are_the_organisers_to_read(store, as_, plan):
    plan.pro("member", "plumbing")
    plan.pro("outsider", "heating")
    c = plan.customers(2)
    plan.hire(c, "member")
    plan.hire(c, "outsider")
    net = plan.network("member")
    await bulk.load(store, plan.data)
    mine = await as_("organiser", None, [net]).data(GAPS, {"id": net})
    (gap,) = mine["network"]["gaps"]["missingTrades"]
    assert gap["demand"] == 2 and 0 <= gap["fit"] <= 1
    assert gap["score"] == pytest.approx(2 * gap["fit"])
    for refused in (as_("organiser", None, [plan.uid("net")]),
                    as_("professional", plan.ids["member"])):
        body = await refused.post(GAPS, {"id": net})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["data"] is None or body["data"]["network"] is None
