"""Offloaded graph work: off the event loop, and told to stop when its caller stops waiting."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import networkx as nx
import pytest

from graph import compute, partners
from graph.algorithms import partners as partner_algorithms
from graph.algorithms import reciprocity as reciprocity_algorithms
from graph.algorithms.trust import best_paths_from, most_trusted_paths
from graph.compute import offload, stop_requested


async def test_offloaded_work_runs_off_the_event_loop_and_stops_when_abandoned():
    ended = threading.Event()
    loops = 0

    def long_search() -> int:
        nonlocal loops
        try:
            while not stop_requested() and loops < 10_000:
                loops += 1
                time.sleep(0.001)
            return loops
        finally:
            ended.set()

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(ticker())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(offload(long_search), 0.3)
    beat.cancel()
    assert ticks >= 5  # the event loop went on while the search ran
    assert await asyncio.to_thread(ended.wait, 5)
    assert loops < 10_000
    assert await offload(sum, [1, 2, 3]) == 6


def test_a_path_search_told_to_stop_ends_with_what_it_found():
    G = nx.complete_graph(8, create_using=nx.DiGraph)
    nx.set_edge_attributes(G, 0.5, "trust")
    assert len(most_trusted_paths(G, 0, 7, 50, 4)) == 50
    asked = 0

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return asked > 3

    assert len(most_trusted_paths(G, 0, 7, 50, 4, stop=stop)) == 3


def stop_after(calls: int):
    """A ``stop`` that answers true from its ``calls + 1``-th question on."""
    asked = 0

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return asked > calls

    return stop


def abandoned(fn, *args):
    """``fn(*args)`` as offloaded work whose caller has already stopped waiting."""
    stop = threading.Event()
    stop.set()
    context = contextvars.copy_context()
    context.run(compute._STOP.set, stop)
    return context.run(fn, *args)


def test_a_best_paths_search_told_to_stop_keeps_the_rounds_it_finished():
    chain = nx.path_graph(10, create_using=nx.DiGraph)
    nx.set_edge_attributes(chain, 0.9, "trust")
    assert len(best_paths_from(chain, 0, 9)) == 9
    # One node per round on a chain: three rounds done, then stopped.
    assert sorted(best_paths_from(chain, 0, 9, stop=stop_after(3))) == [1, 2, 3]


def test_adamic_adar_and_imbalanced_pairs_told_to_stop_end_early():
    B = nx.Graph([("p", f"c{i}") for i in range(5)])
    B.add_edges_from((f"q{j}", f"c{j % 5}") for j in range(20))
    candidates = [f"q{j}" for j in range(20)]
    assert len(partner_algorithms.adamic_adar(B, "p", candidates)) == 20
    assert len(partner_algorithms.adamic_adar(B, "p", candidates, stop=stop_after(4))) == 4
    G = reciprocity_algorithms.member_graph(
        "abcdef", [(a, b, 5) for a, b in zip("abcde", "bcdef", strict=True)])
    assert len(reciprocity_algorithms.imbalanced_pairs(G, 1)) == 5
    assert len(reciprocity_algorithms.imbalanced_pairs(G, 1, stop=stop_after(2))) == 2


def test_partner_work_offloaded_for_a_request_stops_once_abandoned():
    members = {f"pro_{i:03}": [f"trade{i % 2}"] for i in range(40)}
    table = {frozenset(("trade0", "trade1")): 0.8}
    assert partners._unconnected_pairs(members, set(), table)
    assert abandoned(partners._unconnected_pairs, members, set(), table) == []
    neighbourhood = [{"customer": f"cus_{i}", "professionals": ["pro_a", f"pro_{i}"]}
                     for i in range(10)]
    candidates = [f"pro_{i}" for i in range(10)]
    assert len(partners._adamic_adar(neighbourhood, "pro_a", candidates)) == 10
    assert abandoned(partners._adamic_adar, neighbourhood, "pro_a", candidates) == {}
