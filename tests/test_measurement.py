"""Measurement: funnels, grouped statistics, a network's matrix and trend, counted by hand on a
small network (loaded with explicit times), against a brute-force count over generated
referrals, who may read them, and argument errors."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from graph import bulk, migrations, timeutil
from graph.ids import new_id
from graph.measurement import median
from graph.reciprocity import month_start
from graph.referrals import open_key

FUNNEL = ("referrals accepted converted declined expired open conversionRate "
          "medianDaysToConvert value")
PRO_FUNNEL = f"""query($id: ID!, $since: DateTime, $until: DateTime) {{ professional(id: $id) {{
  referralFunnel(since: $since, until: $until) {{ {FUNNEL} }} }} }}"""
NET_FUNNEL = f"""query($id: ID!, $since: DateTime, $until: DateTime) {{ network(id: $id) {{
  referralFunnel(since: $since, until: $until) {{ {FUNNEL} }} }} }}"""
MATRIX = """query($id: ID!, $since: DateTime, $until: DateTime) { network(id: $id) {
  reciprocityMatrix(since: $since, until: $until) {
    giver { id } receiver { id } referrals converted value } } }"""
TREND = """query($id: ID!, $months: Int) { network(id: $id) {
  reciprocityTrend(months: $months) { month referrals converted } } }"""
STATS = f"""query($groupBy: [StatsDimension!]!, $since: DateTime, $until: DateTime,
  $networkId: ID, $professionalId: ID) {{
  referralStats(groupBy: $groupBy, since: $since, until: $until, networkId: $networkId,
                professionalId: $professionalId) {{ key funnel {{ {FUNNEL} }} }} }}"""

# The hand-counted network, and each generated one, lives in a year of its own that held no
# referral before, so that statistics over all referrals can be windowed to it whatever else
# the session's store holds. YEAR is the hand-counted network's, chosen when it is built.
YEAR = "1901"
_YEARS = iter(range(1901, 2000))
REFERRALS_IN = """MATCH (r:Referral) WHERE r.createdAt >= $since AND r.createdAt < $until
RETURN count(r) AS n"""


def year_window(year: int | str | None = None) -> dict[str, str]:
    chosen = int(YEAR if year is None else year)
    return {"since": f"{chosen}-01-01T00:00:00+00:00",
            "until": f"{chosen + 1}-01-01T00:00:00+00:00"}


async def free_year(store: Any) -> int:
    """The next year in which the store holds no referral."""
    for year in _YEARS:
        window = {k: timeutil.to_store(datetime.fromisoformat(v))
                  for k, v in year_window(year).items()}
        if (await store.read(REFERRALS_IN, **window))[0]["n"] == 0:
            return year
    raise AssertionError("no free year left")
HISTORIES = {
    "SENT": ["SENT"], "ACCEPTED": ["SENT", "ACCEPTED"],
    "CONVERTED": ["SENT", "ACCEPTED", "CONVERTED"], "DECLINED": ["SENT", "DECLINED"],
    "ACCEPTED_DECLINED": ["SENT", "ACCEPTED", "DECLINED"], "EXPIRED": ["SENT", "EXPIRED"],
    "ACCEPTED_EXPIRED": ["SENT", "ACCEPTED", "EXPIRED"],
}


def t(day: str, hours: float = 12.0) -> str:
    """Store text of ``day`` (MM-DD of YEAR, or a full date) at ``hours`` past midnight."""
    date = day if len(day) > 5 else f"{YEAR}-{day}"
    return timeutil.to_store(datetime.fromisoformat(f"{date}T00:00:00+00:00")
                             + timedelta(hours=hours))


def funnel(referrals: int, accepted: int, converted: int, declined: int, expired: int,
           open_: int, median_days: float | None, value: float) -> dict[str, Any]:
    return {"referrals": referrals, "accepted": accepted, "converted": converted,
            "declined": declined, "expired": expired, "open": open_,
            "conversionRate": converted / referrals if referrals else 0.0,
            "medianDaysToConvert": median_days, "value": value}


EMPTY = funnel(0, 0, 0, 0, 0, 0, None, 0.0)


class Builder:
    """Rows of a small network for ``bulk.load``: every referral has a referee of its own."""

    def __init__(self, uid: Any) -> None:
        self.uid = uid
        self.data = bulk.Dataset()
        self.fraud: list[str] = []
        self.code: list[str] = []

    def professional(self, trades: list[str], area: str | None = None) -> str:
        pid = self.uid("pro")
        self.data.professionals.append({"id": pid, "name": "Pro", "trades": trades, "area": area,
                                        "createdAt": t("1980-01-01")})
        return pid

    def customer(self) -> str:
        cid = self.uid("cus")
        self.data.customers.append({"id": cid, "name": "Kim Customer", "area": None,
                                    "createdAt": t("1980-01-01")})
        return cid

    def network(self, active: list[str], invited: tuple[str, ...] = ()) -> str:
        net = self.uid("net")
        self.data.networks.append({"id": net, "name": "Circle", "createdAt": t("1980-01-01")})
        self.data.memberships += [{"networkId": net, "professionalId": p,
                                   "since": t("1980-01-02")} for p in active]
        self.invited = [(net, p) for p in invited]
        return net

    def referral(self, src: str, dst: str, created: str, kind: str, days: list[float],
                 value: float | None = None, fraud: bool = False, code: bool = False) -> str:
        """``days``: for each status after SENT, days since the previous one."""
        referee = self.customer()
        history = HISTORIES[kind]
        times = [created]
        for gap in days:
            times.append(timeutil.to_store(datetime.fromisoformat(times[-1])
                                           + timedelta(days=gap)))
        assert len(times) == len(history)
        rid = self.uid("ref")
        job_id = None
        if history[-1] == "CONVERTED":
            job_id = self.uid("job")
            self.data.jobs.append({"id": job_id, "customerId": referee, "professionalId": dst,
                                   "trade": "plumbing", "completedAt": times[-1], "rating": 5,
                                   "value": value, "createdAt": times[-1]})
        self.data.referrals.append({
            "id": rid, "referrerId": src, "professionalId": dst, "refereeId": referee,
            "status": history[-1], "verified": False, "note": None, "createdAt": created,
            "updatedAt": times[-1], "statusHistory": history, "statusTimes": times,
            "openKey": open_key(src, dst, referee) if history[-1] in ("SENT", "ACCEPTED")
            else None, "jobId": job_id})
        if fraud:
            self.fraud.append(rid)
        if code:
            self.code.append(rid)
        return rid

    async def load(self, store: Any) -> None:
        await bulk.load(store, self.data)
        for net, pro in getattr(self, "invited", []):
            await store.run_write(
                "MATCH (p:Professional {id: $p}), (n:Network {id: $n}) "
                "CREATE (p)-[:MEMBER_OF {since: $since, status: 'INVITED'}]->(n)",
                p=pro, n=net, since=t("1980-06-01"))
        for rid in self.fraud:
            await store.run_write("MATCH (x:Referral {id: $id}) SET x.fraud = true", id=rid)
        for rid in self.code:
            await store.run_write("MATCH (x:Referral {id: $id}) SET x.channel = 'CODE'", id=rid)


@pytest.fixture(scope="module")
async def world(store):
    """Active members a, b, c, d of one network; i only invited; o outside it; customer k.

    Referrals (referrer -> named, created at noon of the day in YEAR, history, days between
    statuses, job value):
       1 a->b 01-10 SENT,ACCEPTED,CONVERTED 1+1 days, 100
       2 a->b 02-10 SENT,ACCEPTED,CONVERTED 2+3, 50
       3 k->b 01-20 SENT,ACCEPTED,CONVERTED 1+2.5, 30 (channel CODE)
       4 c->b 03-01 SENT,ACCEPTED,DECLINED
       5 b->a 01-15 SENT,ACCEPTED,CONVERTED 4+6, no value
       6 b->c 02-01 SENT
       7 c->a 02-05 SENT,DECLINED
       8 d->a 03-05 SENT,EXPIRED
       9 d->b 02-20 SENT,ACCEPTED
      10 d->c 03-10 SENT,ACCEPTED,CONVERTED 0.5+0.5, 1000 (confirmed fraud)
      11 o->b 01-12 SENT,ACCEPTED,CONVERTED 3+4, 70
      12 i->b 01-13 SENT
      13 k->a 03-20 SENT (channel CODE)
      14 b->o 02-15 SENT,EXPIRED
    Trades and areas: a plumbing+heating in Leeds, b electrics, c plumbing in York, d and o
    roofing."""
    global YEAR
    YEAR = str(await free_year(store))
    w = Builder(new_id)
    p = {"a": w.professional(["plumbing", "heating"], "Leeds"), "b": w.professional(["electrics"]),
         "c": w.professional(["plumbing"], "York"), "d": w.professional(["roofing"]),
         "i": w.professional(["roofing"]), "o": w.professional(["roofing"])}
    k = w.customer()
    net = w.network([p[x] for x in "abcd"], (p["i"],))
    ref = w.referral
    ref(p["a"], p["b"], t("01-10"), "CONVERTED", [1, 1], 100.0)
    ref(p["a"], p["b"], t("02-10"), "CONVERTED", [2, 3], 50.0)
    ref(k, p["b"], t("01-20"), "CONVERTED", [1, 2.5], 30.0, code=True)
    ref(p["c"], p["b"], t("03-01"), "ACCEPTED_DECLINED", [1, 1])
    ref(p["b"], p["a"], t("01-15"), "CONVERTED", [4, 6], None)
    ref(p["b"], p["c"], t("02-01"), "SENT", [])
    ref(p["c"], p["a"], t("02-05"), "DECLINED", [1])
    ref(p["d"], p["a"], t("03-05"), "EXPIRED", [30])
    ref(p["d"], p["b"], t("02-20"), "ACCEPTED", [1])
    ref(p["d"], p["c"], t("03-10"), "CONVERTED", [0.5, 0.5], 1000.0, fraud=True)
    ref(p["o"], p["b"], t("01-12"), "CONVERTED", [3, 4], 70.0)
    ref(p["i"], p["b"], t("01-13"), "SENT", [])
    ref(k, p["a"], t("03-20"), "SENT", [], code=True)
    ref(p["b"], p["o"], t("02-15"), "EXPIRED", [30])
    await w.load(store)
    return {"pro": p, "k": k, "net": net}


async def pro_funnel(client, pro: str, **window) -> dict[str, Any]:
    return (await client.data(PRO_FUNNEL, {"id": pro, **window}))["professional"][
        "referralFunnel"]


async def net_funnel(client, net: str, **window) -> dict[str, Any]:
    return (await client.data(NET_FUNNEL, {"id": net, **window}))["network"]["referralFunnel"]


async def stats(client, group_by: list[str], **variables) -> list[tuple[list[str], dict]]:
    rows = (await client.data(STATS, {"groupBy": group_by, **variables}))["referralStats"]
    return [(r["key"], r["funnel"]) for r in rows]


async def test_professional_funnels_hand_counts(gql, world):
    p = world["pro"]
    # b: 1, 2, 3, 4, 9, 11, 12 name it; days to convert 2, 5, 3.5, 7: median (3.5 + 5) / 2.
    assert await pro_funnel(gql, p["b"]) == funnel(7, 6, 4, 1, 0, 2, 4.25, 250.0)
    # a: 5 (converted in 10 days, no job value), 7 declined, 8 expired, 13 open.
    assert await pro_funnel(gql, p["a"]) == funnel(4, 1, 1, 1, 1, 1, 10.0, 0.0)
    # c: the fraud 10 counts nowhere; 6 is open.
    assert await pro_funnel(gql, p["c"]) == funnel(1, 0, 0, 0, 0, 1, None, 0.0)
    assert await pro_funnel(gql, p["d"]) == EMPTY


async def test_funnel_window_edges(gql, world):
    p = world["pro"]
    # since inclusive (12 at exactly 01-13 noon counts), until exclusive (9 at 02-20 noon not).
    window = {"since": t("01-13"), "until": t("02-20")}
    assert await pro_funnel(gql, p["b"], **window) == funnel(3, 2, 2, 0, 0, 1, 4.25, 80.0)
    one = {"since": t("02-20"), "until": t("02-20", 12.001)}
    assert await pro_funnel(gql, p["b"], **one) == funnel(1, 1, 0, 0, 0, 1, None, 0.0)
    # An offset other than UTC means the same instant.
    shifted = {"since": f"{YEAR}-01-13T14:00:00+02:00", "until": f"{YEAR}-02-20T14:00:00+02:00"}
    assert await pro_funnel(gql, p["b"], **shifted) == funnel(3, 2, 2, 0, 0, 1, 4.25, 80.0)


async def test_network_funnel_hand_counts(gql, world):
    # Between active members only: 1, 2, 4, 5, 6, 7, 8, 9 (not the customer's, the outsider's,
    # the invited one's, nor the fraud); days 2, 5, 10.
    net = world["net"]
    assert await net_funnel(gql, net) == funnel(8, 5, 3, 2, 1, 2, 5.0, 150.0)
    window = {"since": t("02-01"), "until": t("03-01")}  # 2, 6, 7, 9
    assert await net_funnel(gql, net, **window) == funnel(4, 2, 1, 1, 0, 2, 5.0, 50.0)


async def test_reciprocity_matrix_hand_counts(gql, world):
    p, net = world["pro"], world["net"]

    async def cells(**window) -> list[tuple[str, str, int, int, float]]:
        found = (await gql.data(MATRIX, {"id": net, **window}))["network"]["reciprocityMatrix"]
        return [(c["giver"]["id"], c["receiver"]["id"], c["referrals"], c["converted"],
                 c["value"]) for c in found]

    expected = sorted([
        (p["a"], p["b"], 2, 2, 150.0), (p["b"], p["a"], 1, 1, 0.0), (p["b"], p["c"], 1, 0, 0.0),
        (p["c"], p["b"], 1, 0, 0.0), (p["c"], p["a"], 1, 0, 0.0), (p["d"], p["a"], 1, 0, 0.0),
        (p["d"], p["b"], 1, 0, 0.0)])
    assert await cells() == expected  # by giver, then receiver
    assert await cells(since=t("02-01"), until=t("03-01")) == sorted([
        (p["a"], p["b"], 1, 1, 50.0), (p["b"], p["c"], 1, 0, 0.0), (p["c"], p["a"], 1, 0, 0.0),
        (p["d"], p["b"], 1, 0, 0.0)])
    assert await cells(since=t("1999-01-01")) == []


async def test_referral_stats_hand_counts(gql, world):
    p, net = world["pro"], world["net"]
    # Every referral of the year but the fraud: 13; days 2, 5, 3.5, 10, 7.
    assert await stats(gql, [], **year_window()) == [([], funnel(13, 7, 5, 2, 2, 4, 5.0, 250.0))]
    by_kind = await stats(gql, ["REFERRER_KIND", "CHANNEL"], **year_window())
    assert by_kind == [(["CUSTOMER", "CODE"], funnel(2, 1, 1, 0, 0, 1, 3.5, 30.0)),
                       (["PROFESSIONAL", "DIRECT"], funnel(11, 6, 4, 2, 2, 3, 6.0, 220.0))]
    by_month = await stats(gql, ["MONTH"], **year_window())
    assert by_month == [([f"{YEAR}-01"], funnel(5, 4, 4, 0, 0, 1, 5.25, 200.0)),
                        ([f"{YEAR}-02"], funnel(5, 2, 1, 1, 1, 2, 5.0, 50.0)),
                        ([f"{YEAR}-03"], funnel(3, 1, 0, 1, 1, 1, None, 0.0))]
    by_trade = await stats(gql, ["TRADE", "AREA"], **year_window())
    assert [(key, f["referrals"]) for key, f in by_trade] == [
        (["electrics", ""], 7), (["plumbing", "Leeds"], 4), (["plumbing", "York"], 1),
        (["roofing", ""], 1)]
    by_status = await stats(gql, ["STATUS"], **year_window())
    assert [(key, f["referrals"]) for key, f in by_status] == [
        (["ACCEPTED"], 1), (["CONVERTED"], 5), (["DECLINED"], 2), (["EXPIRED"], 2), (["SENT"], 3)]
    # The order of the dimensions is the order of the key.
    flipped = await stats(gql, ["CHANNEL", "REFERRER_KIND"], **year_window())
    assert [key for key, _ in flipped] == [["CODE", "CUSTOMER"], ["DIRECT", "PROFESSIONAL"]]
    # A network: referrals between its active members, by month.
    in_net = await stats(gql, ["MONTH"], networkId=net)
    assert [(key, f["referrals"], f["converted"]) for key, f in in_net] == [
        ([f"{YEAR}-01"], 2, 2), ([f"{YEAR}-02"], 4, 1), ([f"{YEAR}-03"], 2, 0)]
    # A professional: referrals naming it; within a network, those from its members.
    assert await stats(gql, ["CHANNEL"], professionalId=p["b"]) == [
        (["CODE"], funnel(1, 1, 1, 0, 0, 0, 3.5, 30.0)),
        (["DIRECT"], funnel(6, 5, 3, 1, 0, 2, 5.0, 220.0))]
    assert await stats(gql, [], networkId=net, professionalId=p["b"]) == [
        ([], funnel(4, 4, 2, 1, 0, 1, 3.5, 150.0))]
    # Nothing in the window: no rows with dimensions, one empty row without.
    assert await stats(gql, ["MONTH"], since=t("1986-01-01"), until=t("1986-02-01")) == []
    assert await stats(gql, [], since=t("1986-01-01"), until=t("1986-02-01")) == [([], EMPTY)]


def _months_back(n: int) -> str:
    """Store text of a moment ``n`` calendar months before this one, never in the future (a
    referral from the future would head every newest-first list of the session)."""
    now = timeutil.now()
    if n == 0:
        return timeutil.to_store(max(month_start(now, 0), now - timedelta(minutes=1)))
    return timeutil.to_store(month_start(now, n) + timedelta(days=9, hours=12))


async def test_network_trend_hand_counts(gql, store, uid):
    w = Builder(uid)
    a, b, outside = (w.professional(["plumbing"]) for _ in range(3))
    net = w.network([a, b])
    w.referral(a, b, _months_back(2), "CONVERTED", [1, 1], 10.0)
    w.referral(b, a, _months_back(2), "SENT", [])
    # This month's statuses follow within seconds, so none lies in the future either.
    w.referral(a, b, _months_back(0), "DECLINED", [1e-4])
    w.referral(a, b, _months_back(0), "CONVERTED", [1e-4, 1e-4], 5.0, fraud=True)
    w.referral(a, outside, _months_back(0), "SENT", [])
    w.referral(b, a, _months_back(3), "CONVERTED", [1, 1], 5.0)  # before the trend
    await w.load(store)
    months = [month_start(timeutil.now(), n).strftime("%Y-%m") for n in (2, 1, 0)]
    found = (await gql.data(TREND, {"id": net, "months": 3}))["network"]["reciprocityTrend"]
    assert found == [{"month": months[0], "referrals": 2, "converted": 1},
                     {"month": months[1], "referrals": 0, "converted": 0},
                     {"month": months[2], "referrals": 1, "converted": 0}]
    default = (await gql.data(TREND, {"id": net}))["network"]["reciprocityTrend"]
    assert len(default) == 12 and default[-3:] == found
    assert sum(m["referrals"] for m in default) == 4


# ---------------------------------------------------------------------------- stored figures

CONVERTED_FIGURES = """MATCH (x:Referral {id: $id})
RETURN x.statusTimes AS times, x.convertedDays AS days, x.convertedValue AS value"""
DROP_FIGURES = "MATCH (x:Referral {id: $id}) REMOVE x.convertedDays, x.convertedValue"


async def test_a_conversion_through_the_api_keeps_its_days_and_value(make, store):
    pro, referee, referrer = await make.professional(), await make.customer(), await make.customer()
    job = await make.job(referee, pro, value=120.5)
    rid = await make.referral(referrer, pro, referee)
    assert (await make.status(rid, "ACCEPTED"))["errors"] == []
    assert (await store.read(CONVERTED_FIGURES, id=rid))[0]["days"] is None
    assert (await make.status(rid, "CONVERTED", jobId=job))["errors"] == []
    row = (await store.read(CONVERTED_FIGURES, id=rid))[0]
    assert len(row["times"]) == 3
    assert row["days"] == timeutil.days_between(row["times"][0], row["times"][-1]) > 0
    assert row["value"] == 120.5


async def test_figures_are_the_same_with_or_without_stored_conversions(gql, store):
    """Seeded conversions store their days and value; one without them (older data) counts
    the same from its times and job, and the migration gives it them, exactly."""
    year = await free_year(store)
    w = Builder(new_id)
    a, b = w.professional(["plumbing"]), w.professional(["roofing"])
    start = datetime.fromisoformat(f"{year}-03-01T08:00:00+00:00")

    def on(day: int) -> str:
        return timeutil.to_store(start + timedelta(days=day, microseconds=day * 7919))

    # Days to convert chosen to need every microsecond: 1/3 and 2/7 are no exact floats.
    converted = [w.referral(a, b, on(0), "CONVERTED", [1 / 3, 2 / 7], 40.0),
                 w.referral(a, b, on(1), "CONVERTED", [5.000001, 0.25], None),
                 w.referral(b, a, on(2), "CONVERTED", [0.1, 0.2], 12.25),
                 w.referral(b, b, on(3), "CONVERTED", [3, 1e-6], 7.0)]
    w.referral(a, b, on(4), "ACCEPTED", [1])
    await w.load(store)
    window = year_window(year)
    groups = ["MONTH", "TRADE"]
    want = await stats(gql, groups, **window)
    assert sum(f["converted"] for _, f in want) == 4
    stored = {rid: (await store.read(CONVERTED_FIGURES, id=rid))[0] for rid in converted}
    for row, value in zip(stored.values(), (40.0, 0.0, 12.25, 7.0), strict=True):
        assert row["days"] == timeutil.days_between(row["times"][0], row["times"][-1])
        assert row["value"] == value

    for rid in converted[:3]:
        await store.run_write(DROP_FIGURES, id=rid)
    assert await stats(gql, groups, **window) == want
    assert await pro_funnel(gql, b, **window) == dict(next(f for k, f in want if k[1] == "roofing"))

    assert await migrations.store_converted_figures(store) >= 3
    for rid, before in stored.items():
        assert (await store.read(CONVERTED_FIGURES, id=rid))[0] == before
    assert await stats(gql, groups, **window) == want
    assert await migrations.store_converted_figures(store) == 0


# ---------------------------------------------------------------------------- access


async def test_who_reads_a_professionals_funnel(as_, world):
    p, k, net = world["pro"], world["k"], world["net"]
    for client in (as_("admin"), as_("professional", p["b"]), as_("organiser", None, [net])):
        assert (await pro_funnel(client, p["b"]))["referrals"] == 7
    # i is only invited and o outside: the network's organisers read neither.
    refused = [(as_("organiser", None, [net]), p["i"]), (as_("organiser", None, [net]), p["o"]),
               (as_("professional", p["a"]), p["b"]), (as_("customer", k), p["b"]),
               (as_("organiser", None, ["net_other"]), p["b"])]
    for client, target in refused:
        body = await client.post(PRO_FUNNEL, {"id": target})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert body["errors"][0]["message"] == "not allowed"
        assert body["data"]["professional"] is None
    anonymous = await as_(None).raw(PRO_FUNNEL, {"id": p["b"]})
    assert anonymous.status_code == 401


@pytest.mark.parametrize("query", [NET_FUNNEL, MATRIX, TREND])
async def test_who_reads_a_networks_funnel_matrix_and_trend(as_, world, query):
    p, k, net = world["pro"], world["k"], world["net"]
    for client in (as_("admin"), as_("organiser", None, [net])):
        body = await client.post(query, {"id": net})
        assert "errors" not in body, body
        assert body["data"]["network"] is not None
    # Members read the network itself but not its figures, as for its reciprocity.
    for client in (as_("professional", p["a"]), as_("professional", p["o"]),
                   as_("organiser", None, ["net_other"]), as_("customer", k)):
        body = await client.post(query, {"id": net})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert body["errors"][0]["message"] == "not allowed"
        assert "referrals" not in str(body.get("data"))
    anonymous = await as_(None).raw(query, {"id": net})
    assert anonymous.status_code == 401


async def test_who_reads_referral_stats(as_, world):
    p, k, net = world["pro"], world["k"], world["net"]
    allowed = [
        (as_("admin"), {**year_window()}),
        (as_("admin"), {"networkId": net}),
        (as_("organiser", None, [net]), {"networkId": net}),
        (as_("organiser", None, [net]), {"networkId": net, "professionalId": p["b"]}),
        (as_("professional", p["b"]), {"professionalId": p["b"]}),
        (as_("professional", p["b"]), {"professionalId": p["b"], "networkId": net}),
    ]
    for client, variables in allowed:
        rows = await stats(client, [], **variables)
        assert rows[0][1]["referrals"] > 0, variables
    # Refusals are the same whether or not the network or professional exists.
    refused = [
        (as_("organiser", None, [net]), {}),
        (as_("organiser", None, [net]), {"professionalId": p["b"]}),
        (as_("organiser", None, [net]), {"networkId": "net_other"}),
        (as_("organiser", None, ["net_other"]), {"networkId": net}),
        (as_("professional", p["b"]), {}),
        (as_("professional", p["b"]), {"networkId": net}),
        (as_("professional", p["b"]), {"professionalId": p["a"]}),
        (as_("professional", p["b"]), {"professionalId": "pro_nobody"}),
        (as_("professional", p["o"]), {"professionalId": p["o"], "networkId": net}),
        (as_("customer", k), {}),
        (as_("customer", k), {"professionalId": p["b"]}),
    ]
    for client, variables in refused:
        body = await client.post(STATS, {"groupBy": ["MONTH"], **variables})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (variables, body)
        assert body["errors"][0]["message"] == "not allowed"
        assert body["data"] is None
    anonymous = await as_(None).raw(STATS, {"groupBy": []})
    assert anonymous.status_code == 401


# ---------------------------------------------------------------------------- bad input

BAD_WINDOWS = [
    ({"since": "1990-03-01T00:00:00+00:00", "until": "1990-03-01T00:00:00+00:00"}, "until"),
    ({"since": "1990-03-02T00:00:00+00:00", "until": "1990-03-01T00:00:00+00:00"}, "until"),
    ({"since": "1990-03-01T00:00:00"}, "since"),
    ({"until": "1990-03-01T00:00:00"}, "until"),
]


def assert_validation(body: dict[str, Any], argument: str) -> None:
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION", body
    assert argument in error["message"] + str(error["extensions"]), body
    assert body.get("data") is None


@pytest.mark.parametrize(("variables", "argument"), BAD_WINDOWS)
async def test_bad_windows_are_validation_errors(gql, world, store, variables, argument):
    p, net = world["pro"], world["net"]
    before = await store.read("MATCH (r:Referral) RETURN count(r) AS n")
    for query, anchor in ((PRO_FUNNEL, p["b"]), (NET_FUNNEL, net), (MATRIX, net)):
        assert_validation(await gql.post(query, {"id": anchor, **variables}), argument)
    assert_validation(await gql.post(STATS, {"groupBy": ["MONTH"], **variables}), argument)
    assert await store.read("MATCH (r:Referral) RETURN count(r) AS n") == before
    good = {"since": "1990-03-01T00:00:00+00:00", "until": "1990-03-01T00:00:01+00:00"}
    for query, anchor in ((PRO_FUNNEL, p["b"]), (NET_FUNNEL, net), (MATRIX, net)):
        assert "errors" not in await gql.post(query, {"id": anchor, **good})


@pytest.mark.parametrize(("group_by", "message"), [
    (["MONTH", "MONTH"], "only once"),
    (["TRADE", "MONTH", "TRADE"], "only once"),
    (["MONTH", "TRADE", "AREA", "STATUS", "CHANNEL"], "at most 4"),
])
async def test_bad_group_by_is_a_validation_error(as_, gql, world, group_by, message):
    body = await gql.post(STATS, {"groupBy": group_by})
    assert_validation(body, "groupBy")
    assert message in body["errors"][0]["message"]
    # Checked before access: a refused caller learns nothing more from a bad groupBy.
    literal = "{ referralStats(groupBy: [MONTH, MONTH]) { key } }"
    assert_validation(await as_("customer", world["k"]).post(literal), "groupBy")
    assert "errors" not in await gql.post(STATS, {"groupBy": ["MONTH", "TRADE", "AREA",
                                                            "STATUS"], **year_window()})


@pytest.mark.parametrize("months", [0, -1, 121])
async def test_bad_trend_months_are_validation_errors(gql, world, months):
    assert_validation(await gql.post(TREND, {"id": world["net"], "months": months}), "months")
    good = await gql.data(TREND, {"id": world["net"], "months": 120})
    assert len(good["network"]["reciprocityTrend"]) == 120


async def test_an_unknown_dimension_is_refused_by_graphql(gql):
    body = await gql.post(STATS, {"groupBy": ["WEEKDAY"]})
    assert body["data"] is None and body["errors"]


# ---------------------------------------------------------------------------- batching


async def test_a_page_of_funnels_costs_one_round_trip(gql, store, world):
    net = world["net"]
    bare = """query($id: ID!, $first: Int!) { network(id: $id) { members(first: $first) {
      nodes { id } } } }"""
    funnels = """query($id: ID!, $first: Int!) { network(id: $id) { members(first: $first) {
      nodes { id referralFunnel { referrals } late: referralFunnel(since: "1990-02-01T00:00:00Z")
        { referrals } } } } }"""

    async def trips(query: str, first: int) -> int:
        start = store.round_trips
        data = await gql.data(query, {"id": net, "first": first})
        assert len(data["network"]["members"]["nodes"]) == first
        return store.round_trips - start

    for first in (1, 4):
        assert await trips(funnels, first) - await trips(bare, first) == 1


# ---------------------------------------------------------------------------- brute force

STATUSES = sorted(HISTORIES)
DIMENSIONS = ["MONTH", "TRADE", "AREA", "STATUS", "CHANNEL", "REFERRER_KIND"]


def _days(times: list[str]) -> float:
    return (datetime.fromisoformat(times[-1]) - datetime.fromisoformat(times[0])
            ).total_seconds() / 86400


def expected_funnel(rows: list[dict[str, Any]], value: dict[str, float]) -> dict[str, Any]:
    converted = [r for r in rows if r["status"] == "CONVERTED"]
    return funnel(
        len(rows), sum("ACCEPTED" in r["statusHistory"] for r in rows), len(converted),
        sum(r["status"] == "DECLINED" for r in rows), sum(r["status"] == "EXPIRED" for r in rows),
        sum(r["status"] in ("SENT", "ACCEPTED") for r in rows),
        median([_days(r["statusTimes"]) for r in converted]),
        sum(value.get(r["jobId"]) or 0.0 for r in converted))


def close(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """Equal counts; medians, rates and sums equal up to float rounding."""
    return all(got[k] == pytest.approx(want[k], rel=1e-9, abs=1e-9) if want[k] is not None
               else got[k] is None for k in want)


referral_rows = st.lists(st.tuples(
    st.integers(0, 6),  # referrer: professionals 0..4, customers 5..6
    st.integers(0, 4),  # named professional
    st.integers(0, 364 * 86400),  # seconds into the year of creation
    st.sampled_from(STATUSES),
    st.lists(st.integers(1, 40 * 86400 * 1000), min_size=2, max_size=2),  # milliseconds
    st.sampled_from([None, 0.0, 12.5, 300.0]),
    st.booleans(),  # confirmed fraud
    st.booleans(),  # made from a code
), min_size=0, max_size=30)


# Without shrinking: each example loads rows into the store, and a failure shows its example.
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(rows=referral_rows, active=st.sets(st.integers(0, 4), min_size=2),
       group_by=st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=3))
async def test_figures_match_a_brute_force_count(gql, store, rows, active, group_by):
    year = await free_year(store)
    w = Builder(new_id)
    pros = [w.professional([["plumbing", "roofing"][n % 2], "heating"],
                           [None, "Leeds", "York"][n % 3]) for n in range(5)]
    trades = {pid: ["plumbing", "roofing"][n % 2] for n, pid in enumerate(pros)}
    areas = {pid: [None, "Leeds", "York"][n % 3] or "" for n, pid in enumerate(pros)}
    parties = [*pros, w.customer(), w.customer()]
    net = w.network([pros[n] for n in sorted(active)])
    start = datetime.fromisoformat(f"{year}-01-01T00:00:00+00:00")
    for src, dst, at, kind, gaps, value, fraud, code in rows:
        if parties[src] == pros[dst]:
            continue  # a self-referral is refused when made
        created = timeutil.to_store(start + timedelta(seconds=at))
        n = len(HISTORIES[kind]) - 1
        w.referral(parties[src], pros[dst], created, kind,
                   [g / 86400000 for g in gaps[:n]], value, fraud=fraud, code=code)
    await w.load(store)
    value = {j["id"]: j["value"] for j in w.data.jobs}
    counted = [r for r in w.data.referrals if r["id"] not in w.fraud]
    members = {pros[n] for n in active}
    window = year_window(year)

    for pid in pros:
        want = expected_funnel([r for r in counted if r["professionalId"] == pid], value)
        assert close(await pro_funnel(gql, pid), want), pid
    between = [r for r in counted if r["referrerId"] in members and r["professionalId"] in members]
    assert close(await net_funnel(gql, net), expected_funnel(between, value))

    pairs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in between:
        pairs[(r["referrerId"], r["professionalId"])].append(r)
    cells = (await gql.data(MATRIX, {"id": net}))["network"]["reciprocityMatrix"]
    assert [(c["giver"]["id"], c["receiver"]["id"], c["referrals"], c["converted"],
             pytest.approx(c["value"])) for c in cells] == [
        (a, b, len(rs), sum(r["status"] == "CONVERTED" for r in rs),
         sum(value.get(r["jobId"]) or 0.0 for r in rs if r["status"] == "CONVERTED"))
        for (a, b), rs in sorted(pairs.items())]

    def key_of(r: dict[str, Any]) -> list[str]:
        values = {"MONTH": r["createdAt"][:7], "TRADE": trades[r["professionalId"]],
                  "AREA": areas[r["professionalId"]], "STATUS": r["status"],
                  "CHANNEL": "CODE" if r["id"] in w.code else "DIRECT",
                  "REFERRER_KIND": "CUSTOMER" if r["referrerId"].startswith("cus_")
                  else "PROFESSIONAL"}
        return [values[d] for d in group_by]

    named = pros[len(rows) % len(pros)]
    for scope, selected in (({**window}, counted), ({"networkId": net}, between),
                            ({"professionalId": named},
                             [r for r in counted if r["professionalId"] == named]),
                            ({"networkId": net, "professionalId": named},
                             [r for r in between if r["professionalId"] == named])):
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for r in selected:
            groups[tuple(key_of(r))].append(r)
        if not group_by and not groups:
            groups[()] = []
        got = await stats(gql, group_by, **scope)
        assert [key for key, _ in got] == [list(k) for k in sorted(groups)], scope
        for (key, found), k in zip(got, sorted(groups), strict=True):
            assert close(found, expected_funnel(groups[k], value)), (scope, key)


ORGANISER_PAGE = f"""query($id: ID!) {{ network(id: $id) {{
  referralFunnel {{ {FUNNEL} }}
  reciprocityMatrix {{ giver {{ id name }} receiver {{ id name }} referrals converted value }}
  reciprocityTrend(months: 36) {{ month referrals converted }}
  members(first: 50) {{ nodes {{ id name referralFunnel {{ referrals converted }} }} }} }}
  referralStats(groupBy: [MONTH, TRADE], networkId: $id) {{ key funnel {{ {FUNNEL} }} }} }}"""


async def test_an_organiser_pages_measurement_calls_fit_under_the_default_cost_limit(
        as_, world, settings):
    assert settings.max_cost == 25000  # the default
    body = await as_("organiser", None, [world["net"]]).post(ORGANISER_PAGE,
                                                             {"id": world["net"]})
    assert "errors" not in body, body
    network = body["data"]["network"]
    assert network["referralFunnel"]["referrals"] == 8
    assert len(network["reciprocityMatrix"]) == 7
    assert sum(row["funnel"]["referrals"] for row in body["data"]["referralStats"]) == 8
