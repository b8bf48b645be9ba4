"""The Spark engine gives the networkx engine's answers: PageRank within 1e-6, co-hiring
counts and lifts exactly, the same stored candidate lists and risk."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.settings import SettingsError, load_settings
from graph import analytics, comparison, staging
from graph.algorithms import partners
from graph.spark import candidates, complementarity, jobs, reputation
from seeds.complementary_trades import CURATED

FEW = hsettings(max_examples=5, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "message"), [
    ({"RG_ANALYTICS_ENGINE": "dask"}, "RG_ANALYTICS_ENGINE must be one of networkx, spark"),
    ({"RG_ANALYTICS_ENGINE": "spark", "RG_SPARK_MASTER": "yarn"}, "RG_SPARK_MASTER must be"),
    ({"RG_SPARK_MASTER": "spark://"}, "RG_SPARK_MASTER must be"),
    ({"RG_SPARK_SHUFFLE_PARTITIONS": "0"}, "RG_SPARK_SHUFFLE_PARTITIONS"),
    ({"RG_SPARK_SHUFFLE_PARTITIONS": "many"}, "RG_SPARK_SHUFFLE_PARTITIONS"),
])
def test_an_unusable_engine_setting_is_refused_at_start_up(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_the_engine_settings_come_down_as_one_engine():
    default = load_settings({"RG_DATA_DIR": "/srv/rg"}).engine
    assert default == analytics.AnalyticsEngine("networkx", "local[*]", "/srv/rg/staging")
    chosen = load_settings({"RG_ANALYTICS_ENGINE": "spark", "RG_SPARK_MASTER": "sc://spark:15002",
                            "RG_SPARK_STAGING": "s3://bucket/rg",
                            "RG_SPARK_SHUFFLE_PARTITIONS": "48"}).engine
    assert chosen == analytics.AnalyticsEngine("spark", "sc://spark:15002", "s3://bucket/rg",
                                               shuffle_partitions=48)


# ---- the jobs on small random graphs ---------------------------------------------------------
# Shaped like the refresh's graph: customers and referrers point at professionals, some of
# which refer others (cycles, dangling nodes), so that PageRank runs its usual few rounds
# (each a few Spark jobs: about a second on local[2], hence few examples).
PROS = [f"pro{i}" for i in range(6)]
PARTIES = [f"cus{i}" for i in range(5)] + PROS[:3]
edge_lists = st.lists(st.tuples(st.sampled_from(PARTIES), st.sampled_from(PROS),
                                st.sampled_from([0.1, 0.2, 0.4, 0.6, 1.0])),
                      min_size=1, max_size=14)


@hsettings(max_examples=3, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edges=edge_lists, professionals=st.sets(st.sampled_from(PROS), max_size=4))
def test_pagerank_gives_networkx_figures(spark, edges, professionals):
    G = nx.DiGraph()
    G.add_nodes_from(sorted(professionals))
    for u, v, w in edges:
        G.add_edge(u, v, weight=G.get_edge_data(u, v, {"weight": 0.0})["weight"] + w)
    expected = partners.reputation(G)
    frame = spark.createDataFrame(edges, "source string, target string, weight double")
    pros = spark.createDataFrame([(p,) for p in sorted(professionals)], "id string")
    ranks = reputation.pagerank(frame, pros)
    found = {r["id"]: r["value"] for r in ranks.ranks.collect()}
    assert found.keys() == expected.keys()
    assert all(abs(found[k] - expected[k]) <= 1e-6 for k in expected)
    assert ranks.nodes == G.number_of_nodes()


TRADES = ["plumbing", "tiling", "roofing", "heating", "electrical"]


@FEW
@given(st.lists(st.sets(st.sampled_from(TRADES), max_size=4), min_size=1, max_size=40))
def test_complementarity_counts_and_lifts_are_the_networkx_ones(spark, customers):
    rows = [(f"c{i}", t) for i, trades in enumerate(customers) for t in sorted(trades)]
    hired = spark.createDataFrame(rows + rows[:3], "customer string, trade string")
    single, both, n = partners.co_hiring_counts(customers)
    assert complementarity.counts(hired) == (dict(single), dict(both), n)
    curated = {frozenset({"plumbing", "heating"}): 0.6}
    assert complementarity.complementarity(hired, curated) == partners.complementarity(
        customers, curated)


def test_candidate_pages_are_the_networkx_lists(spark):
    offers = [(f"p{i:02d}", ["tiling", "plumbing"] if i % 3 else ["tiling"],
               None if i % 4 == 0 else f"area{i % 2}", (i * 7 % 5) / 4) for i in range(23)]
    expected = partners.candidate_lists(offers)
    pros = spark.createDataFrame([(p, t, a) for p, t, a, _ in offers],
                                 "id string, trades array<string>, area string")
    reps = spark.createDataFrame([(p, r) for p, _, _, r in offers], "id string, value double")
    found: dict = {}
    for r in candidates.candidate_pages(pros, reps, page=4).collect():
        found.setdefault((r["trade"], r["area"]), []).append(r)
    assert found.keys() == expected.keys()
    for stream, pages in found.items():
        pages.sort(key=lambda r: r["page"])
        assert [(i, r) for p in pages for i, r in zip(p["ids"], p["reputations"], strict=True)] \
            == expected[stream]
        assert [p["more"] for p in pages] == [True] * (len(pages) - 1) + [False]


# ---- staging and the whole refresh ---------------------------------------------------------
async def small_network(make) -> list[str]:
    pros = [await make.professional(trades=t, area=a) for t, a in
            ((["plumbing"], "Leeds"), (["tiling"], "Leeds"), (["plumbing", "heating"], "York"),
             (["roofing"], None), (["tiling"], "York"))]
    customers = [await make.customer() for _ in range(4)]
    for i, c in enumerate(customers):
        for j, p in enumerate(pros):
            if (i + j) % 2 == 0:
                await make.job(c, p, rating=1 + (i + j) % 5)
    await make.referral(customers[0], pros[1], customers[1])
    await make.referral(pros[2], pros[3], customers[2])
    return pros


async def test_staging_reads_in_bounded_pages_and_keeps_every_row(store, make, tmp_path):
    await small_network(make)
    stage = staging.Staging(str(tmp_path / "staging"))
    count = await stage.stage(store, staging.EDGES, page=2)
    ids = await analytics.professional_ids(store)
    assert stage.files["edges"] >= len(ids) // 2  # a file per page of two professionals
    expected = sorted((r["source"], r["target"], partners.hire_weight(r["rating"]))
                      for r in await analytics.all_rows(store, analytics.HIRING_EDGES))
    expected += [(r["source"], r["target"], partners.OUTCOME_WEIGHT[r["status"]])
                 for r in await analytics.all_rows(store, analytics.REFERRAL_EDGES)]
    found = [(r["source"], r["target"], r["weight"]) for r in stage.rows("edges")]
    assert sorted(found) == sorted(expected) and count == len(found)
    stage.clean()
    assert list((tmp_path / "staging").iterdir()) == []


async def test_the_keyset_pages_cover_every_professional_once(store, make):
    await small_network(make)
    pages = [ids async for ids in analytics.id_pages(store, page=3)]
    flat = [i for ids in pages for i in ids]
    assert all(len(ids) <= 3 for ids in pages)
    assert flat == sorted(set(flat))
    assert len(flat) == (await store.read("MATCH (p:Professional) RETURN count(p) AS n"))[0]["n"]


async def test_the_integrity_tables_have_the_agreed_columns(store, make, spark, tmp_path):
    await small_network(make)
    stage = staging.Staging(str(tmp_path))
    for table in (staging.PROFESSIONAL_TABLE, staging.REFERRALS, staging.CUSTOMERS,
                  staging.JOBS):
        await stage.stage(store, table, page=4)
    tables = jobs.integrity_tables(spark, stage)
    assert {k: v.dtypes for k, v in tables.items()} == {
        "referrals": [("id", "string"), ("referrer", "string"), ("by_professional", "boolean"),
                      ("professional", "string"), ("referee", "string"),
                      ("created", "double"), ("status", "string"), ("converted", "boolean"),
                      ("review", "string")],
        "jobs": [("customer", "string"), ("professional", "string"), ("trade", "string"),
                 ("completed", "double"), ("rating", "bigint")],
        "customers": [("id", "string"), ("created", "double")],
        "professionals": [("id", "string"), ("trades", "array<string>"),
                          ("created", "double")],
    }
    referrals = await analytics.all_rows(store, staging.integrity.PROFESSIONAL_REFERRALS) + \
        await analytics.all_rows(store, staging.integrity.CUSTOMER_REFERRALS)
    confirmed = await analytics.all_rows(store, staging.integrity.CONFIRMED_JOBS)
    clock = 1e12
    assert jobs.present(tables, clock) == min(clock, max(
        [staging._seconds(r["createdAt"]) or 0 for r in referrals]
        + [staging._seconds(j["completedAt"]) or 0 for j in confirmed]))
    stage.clean()


async def test_a_spark_refresh_stores_what_a_networkx_refresh_stores(store, make, spark,
                                                                     tmp_path):
    await small_network(make)
    await analytics.refresh(store, 300, curated=CURATED)
    reference = await comparison.stored(store)
    reputations, pairs, lists, risk = (reference.reputations, reference.pairs,
                                       reference.candidates, reference.risk)
    engine = analytics.AnalyticsEngine("spark", "local[2]", str(tmp_path / "staging"), page=7)
    await analytics.refresh(store, 300, curated=CURATED, engine=engine)
    on_spark = await comparison.stored(store)
    spark_reputations, spark_pairs, spark_lists, spark_risk = (
        on_spark.reputations, on_spark.pairs, on_spark.candidates, on_spark.risk)

    assert spark_reputations.keys() == reputations.keys()
    assert all(abs(spark_reputations[k] - v) <= 1e-6 for k, v in reputations.items())
    assert spark_pairs == pairs
    assert spark_lists.keys() == lists.keys()
    for key, found in spark_lists.items():
        assert (found["ids"], found["more"]) == (lists[key]["ids"], lists[key]["more"])
        assert found["reputations"] == pytest.approx(lists[key]["reputations"], abs=1e-6)
    assert spark_risk == risk
    assert comparison.agree(comparison.differences(reference, on_spark))
    assert list(Path(tmp_path / "staging").iterdir()) == []  # the run's folder is gone
