"""``RG_RATE_LIMIT_SCOPE=store``: several instances on one store limit a client together, as
one instance would, where per-instance limits let it through once per instance."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import httpx
import pytest

from app.settings import SettingsError, load_settings
from tests.clients import live_server

PER_INSTANCE = 40


def counted(settings, scope: str):
    # A small rate and a burst larger than what one instance gets: the burst lets each
    # instance through on its own; only the shared count can hold the sum back.
    return replace(settings, rate_limit_scope=scope, rate_limit_sync=0.1,
                   rate_limit_address=6, rate_burst_address=PER_INSTANCE)


async def spread(bases: list[str]) -> list[int]:
    """PER_INSTANCE requests to each instance, taking turns; the status of each."""
    statuses = []
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(PER_INSTANCE):
            for base in bases:
                statuses.append((await http.get(f"{base}/readyz")).status_code)
            await asyncio.sleep(0.02)
    return statuses


@pytest.mark.parametrize("scope", ["host", "store"])
async def test_instances_limit_a_client_together_only_with_the_store_scope(settings, bolt,
                                                                           scope):
    with contextlib.ExitStack() as stack:
        bases = [stack.enter_context(live_server(counted(settings, scope), bolt))
                 for _ in range(2)]
        statuses = await spread(bases)
    passed = statuses.count(200)
    assert set(statuses) <= {200, 429}
    if scope == "host":
        # Each instance lets its share through: the client got about twice what one allows
        # (the start-up's readiness probes spent a token or two of each burst).
        assert passed >= 2 * PER_INSTANCE - 4, passed
    else:
        # About the rate plus the burst over both (a sync's worth of slack).
        allowed = 6 + PER_INSTANCE
        assert PER_INSTANCE <= passed <= allowed + 10, passed
        assert 429 in statuses[::2] and 429 in statuses[1::2]  # refused by both instances


def test_the_scope_is_checked_at_start_up():
    with pytest.raises(SettingsError, match="RG_RATE_LIMIT_SCOPE"):
        load_settings({"RG_RATE_LIMIT_SCOPE": "cluster"})
    assert load_settings({"RG_RATE_LIMIT_SCOPE": "store"}).rate_limit_scope == "store"
