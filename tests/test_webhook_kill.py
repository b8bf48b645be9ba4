"""At least once, through a crash: the service is killed (SIGKILL) while it delivers to a slow
receiver, more events are made while no service runs, and a second service, started afresh,
delivers every event, each signed, the first arrivals in seq order."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from tests.clients import free_port
from tests.conftest import TEST_SECRET, TEST_WEBHOOK_KEY
from tests.receivers import receiving, valid, wait_for
from tests.test_cli import cli_env, wait_ready

DELIVERED = """
MATCH (d:Delivery {webhookId: $id})
RETURN d.status AS status, count(d) AS n
"""


def start_service(bolt, port: int, log: Path) -> subprocess.Popen:
    """``referral-graph serve`` as an operator runs it, on the suite's store, with retries and
    timeouts short enough for a test."""
    env = cli_env() | {
        "NEO4J_URI": bolt.uri, "NEO4J_USER": bolt.user, "NEO4J_PASSWORD": bolt.password,
        "NEO4J_DATABASE": bolt.database, "RG_AUTH_SECRET": TEST_SECRET,
        "RG_WEBHOOK_KEY": TEST_WEBHOOK_KEY, "RG_WEBHOOKS_ALLOW_PRIVATE": "true",
        "RG_WEBHOOK_RETRY_BASE": "0.2", "RG_WEBHOOK_TIMEOUT": "1", "RG_EVENT_POLL": "0.1",
        "RG_EVENT_SWEEP_INTERVAL": "0", "RG_ANALYTICS_REFRESH_AFTER": "0", "RG_WORKERS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir",
         str(log.parent / f"data-{port}")],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def test_a_killed_service_loses_no_event(bolt, store, make, hooks, hooks_as, tmp_path):
    pro = await make.professional()
    customers = [await make.customer() for _ in range(12)]
    log = tmp_path / "serve.log"
    with receiving(delay=0.4) as receiver:
        webhook, secret = await hooks.ok(hooks_as("professional", pro), receiver.url,
                                         ["CREATED"], owner=pro)
        port = free_port()
        first, second = start_service(bolt, port, log), None
        try:
            await asyncio.to_thread(wait_ready, port, first)
            refs = [await make.referral(customers[i], pro, customers[i + 6]) for i in range(4)]
            # Killed mid-delivery: after the first arrivals, with the rest still to send.
            await wait_for(lambda: len(receiver.events()) >= 2, seconds=30,
                           what="the first deliveries")
            first.kill()
            first.wait(timeout=10)
            assert len({r.event_id for r in receiver.events()}) < 4, "nothing was left to send"
            # Made while no service runs: pending in the outbox, numbered by the next service.
            refs += [await make.referral(customers[i], pro, customers[i + 6]) for i in (4, 5)]

            port = free_port()
            second = start_service(bolt, port, log)
            await asyncio.to_thread(wait_ready, port, second)
            await wait_for(lambda: {r.event["referralId"] for r in receiver.events()}
                           >= set(refs), seconds=60, what="every event")
            await wait_for(lambda: _all_delivered(store, webhook, len(refs)), seconds=15,
                           what="every delivery recorded")
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(timeout=10)
            if second is not None:
                stop(second)

    got = receiver.events()
    assert all(valid(secret, r) for r in got)
    assert all(r.headers["rg-event-seq"] == str(r.event["seq"]) for r in got)
    firsts = receiver.first_arrivals()
    assert [r.event["referralId"] for r in firsts] == refs
    seqs = [r.event["seq"] for r in firsts]
    assert seqs == sorted(seqs)


async def _all_delivered(store, webhook: str, count: int) -> bool:
    rows = await store.read(DELIVERED, id=webhook)
    return {r["status"]: r["n"] for r in rows} == {"DELIVERED": count}
