"""Offloaded graph work: off the event loop, and told to stop when its caller stops waiting."""

from __future__ import annotations

import asyncio
import threading
import time

import networkx as nx
import pytest

from graph.algorithms.trust import most_trusted_paths
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
