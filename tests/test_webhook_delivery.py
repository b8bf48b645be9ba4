"""Webhook deliveries against real receivers on loopback, sent by the service's own sender
(pump and deliverer, as the lifespan runs them) over the suite's store: signed, retried with
backoff until delivered or FAILED, in seq order per webhook without a failing event holding
back the rest, only to the webhooks whose owner sees the event, the reward's amount only to
those who may read the reward."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from graph import events, webhooks
from graph.programs import NewProgram, RewardTrigger, create_program
from tests.receivers import (
    DELIVERIES,
    FAST,
    always,
    failing_first,
    receiving,
    sending,
    valid,
    wait_for,
)

DELIVERY_PROPERTIES = "MATCH (d:Delivery {webhookId: $id}) RETURN properties(d) AS p"
BODY_KEYS = {"id", "kind", "at", "seq", "webhookId", "referralId", "status", "fromStatus",
             "rewardId", "rewardStatus", "rewardFromStatus", "amount", "unit"}


async def deliveries(client: Any, webhook: str, status: str | None = None) -> list[dict]:
    data = await client.data(DELIVERIES, {"id": webhook, "status": status})
    return data["node"]["deliveries"]["nodes"]


async def test_a_delivery_is_signed_and_carries_ids_and_statuses_only(
        store, settings, make, hooks, hooks_as):
    pro = await make.professional(name="Pat Private")
    referrer, referee = await make.customer(name="Rita Referrer"), await make.customer()
    owner = hooks_as("professional", pro)
    with receiving() as receiver:
        webhook, secret = await hooks.ok(owner, receiver.url, owner=pro)
        async with sending(store, settings.webhook_key):
            ref = await make.referral(referrer, pro, referee, note="call after six")
            await make.status(ref, "ACCEPTED")
            await wait_for(lambda: len(receiver.events()) >= 2, what="two deliveries")
            done = await wait_for(
                lambda: _all_delivered(owner, webhook, 2), what="both recorded")
    created, accepted = receiver.events()[:2]
    for got in (created, accepted):
        assert valid(secret, got)
        assert not valid(secret + "x", got)
        assert got.headers["content-type"] == "application/json"
        event = got.event
        assert set(event) == BODY_KEYS
        assert got.headers["rg-event-id"] == event["id"]
        assert got.headers["rg-event-seq"] == str(event["seq"])
        assert event["webhookId"] == webhook and event["referralId"] == ref
        for private in (b"Pat", b"Rita", b"six", referrer.encode(), referee.encode()):
            assert private not in got.body
    assert (created.event["kind"], created.event["status"]) == ("CREATED", "SENT")
    assert (accepted.event["kind"], accepted.event["fromStatus"], accepted.event["status"]) == (
        "STATUS_CHANGED", "SENT", "ACCEPTED")
    assert accepted.event["seq"] > created.event["seq"]
    assert [(d["kind"], d["status"], d["attempts"], d["lastResponseCode"], d["nextAttemptAt"])
            for d in done] == [("STATUS_CHANGED", "DELIVERED", 1, 200, None),
                               ("CREATED", "DELIVERED", 1, 200, None)]
    # Response bodies are never kept.
    for row in await store.read(DELIVERY_PROPERTIES, id=webhook):
        assert "must not keep" not in json.dumps(row["p"])


async def _all_delivered(client: Any, webhook: str, count: int) -> list[dict] | None:
    found = await deliveries(client, webhook)
    done = [d for d in found if d["status"] == "DELIVERED"]
    return found if len(found) == count and len(done) == count else None


async def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(
        store, settings, make, hooks, hooks_as):
    pro = await make.professional()
    owner = hooks_as("professional", pro)
    with receiving(failing_first(2)) as receiver:
        webhook, secret = await hooks.ok(owner, receiver.url, ["CREATED"], owner=pro)
        async with sending(store, settings.webhook_key):
            await make.referral(await make.customer(), pro, await make.customer())
            [done] = await wait_for(lambda: _all_delivered(owner, webhook, 1), what="delivered")
    assert (done["status"], done["attempts"], done["lastResponseCode"]) == ("DELIVERED", 3, 204)
    assert done["lastAttemptAt"] is not None and done["nextAttemptAt"] is None
    got = receiver.of(done["eventId"])
    assert [r.answered for r in got] == [500, 500, 204]
    assert all(valid(secret, r) for r in got)
    # Backoff: the second retry waited longer than the first (base 0.05 s, factor 2, equal
    # jitter: at least 0.025 s, then at least 0.05 s).
    assert got[1].at - got[0].at >= FAST.retry_base / 2
    assert got[2].at - got[1].at >= FAST.retry_base


async def test_a_receiver_that_never_answers_well_ends_failed(store, settings, make, hooks,
                                                            hooks_as):
    pro = await make.professional()
    owner = hooks_as("professional", pro)
    with receiving(always(503)) as receiver:
        webhook, _ = await hooks.ok(owner, receiver.url, ["CREATED"], owner=pro)
        async with sending(store, settings.webhook_key):
            await make.referral(await make.customer(), pro, await make.customer())

            async def failed() -> list[dict]:
                return await deliveries(owner, webhook, "FAILED")

            [done] = await wait_for(failed, what="failed")
    assert (done["attempts"], done["lastResponseCode"], done["nextAttemptAt"]) == (
        FAST.max_attempts, 503, None)
    assert len(receiver.of(done["eventId"])) == FAST.max_attempts
    assert await deliveries(owner, webhook, "PENDING") == []


async def test_first_attempts_go_in_seq_order_and_a_failing_event_holds_none_back(
        store, settings, make, hooks, hooks_as):
    pro = await make.professional()
    owner = hooks_as("professional", pro)
    customers = [await make.customer() for _ in range(6)]
    slow_retries = replace(FAST, retry_base=1.0)
    failing: set[str] = set()
    with receiving(failing_first(2, failing)) as receiver:
        webhook, secret = await hooks.ok(owner, receiver.url, ["CREATED"], owner=pro)
        # The events are numbered before the sender starts, so they fan out together.
        refs = [await make.referral(customers[i], pro, customers[i + 3]) for i in range(3)]
        await events.sequence_all(store)
        [second] = [e for e in await _events_of(store, refs) if e.referral_id == refs[1]]
        failing.add(second.id)
        async with sending(store, settings.webhook_key, slow_retries):
            await wait_for(lambda: _all_delivered(owner, webhook, 3), seconds=30,
                           what="all delivered")
    firsts = receiver.first_arrivals()
    seqs = [r.event["seq"] for r in firsts]
    assert seqs == sorted(seqs) and [r.event["referralId"] for r in firsts] == refs
    later = receiver.of(second.id)
    assert [r.answered for r in later] == [500, 500, 204]
    third = receiver.first_arrivals()[2]
    assert third.at < later[1].at, "the failing event held back a later one"
    assert all(valid(secret, r) for r in receiver.events())


async def _events_of(store: Any, refs: list[str]) -> list[events.Event]:
    head = await events.head(store)
    found = await events.events_after(store, max(0, head - 100), head)
    return [e for e in found if e.referral_id in refs]


async def test_a_professionals_webhook_gets_referrals_naming_it_or_made_by_it_only(
        store, settings, make, hooks, hooks_as):
    pro, other = await make.professional(), await make.professional()
    owner = hooks_as("professional", pro)
    with receiving() as receiver:
        webhook, _ = await hooks.ok(owner, receiver.url, ["CREATED"], owner=pro)
        async with sending(store, settings.webhook_key):
            foreign = await make.referral(await make.customer(), other, await make.customer())
            made = await make.referral(pro, other, await make.customer())
            named = await make.referral(await make.customer(), pro, await make.customer())
            await wait_for(lambda: len(receiver.events()) >= 2, what="two deliveries")
            await asyncio.sleep(0.3)
    got = [r.event["referralId"] for r in receiver.events()]
    assert got == [made, named] and foreign not in got
    assert len(await store.read(DELIVERY_PROPERTIES, id=webhook)) == 2


async def test_a_networks_webhook_gets_its_members_referrals_and_the_amount_only_if_readable(
        store, settings, make, hooks, hooks_as):
    """A professional's program rewards the referrer: the professional (it manages the program)
    and the referrer (its recipient) read the reward; an organiser of a network the
    professional belongs to sees the referral but not the reward's amount."""
    pro, referrer, outsider = (await make.professional(), await make.professional(),
                               await make.professional())
    net = await make.network()
    await make.ok("add_member", networkId=net, professionalId=pro)
    await create_program(store, NewProgram(
        owner_id=pro, name="Thanks", unit="GBP", trigger=RewardTrigger.ACCEPTED,
        referrer_amount=12.5), manages=lambda _: True)
    kinds = ["CREATED", "STATUS_CHANGED", "REWARD_CREATED"]
    with receiving() as receiver:
        ids = {}
        for who, client in ((pro, hooks_as("professional", pro)),
                            (referrer, hooks_as("professional", referrer)),
                            (net, hooks_as("organiser", "org_1", [net]))):
            ids[who], _ = await hooks.ok(client, receiver.url, kinds, owner=who)
        async with sending(store, settings.webhook_key):
            await make.referral(await make.customer(), outsider, await make.customer())
            ref = await make.referral(referrer, pro, await make.customer())
            await make.status(ref, "ACCEPTED")
            await wait_for(lambda: len(receiver.events()) >= 9, what="nine deliveries")
            await asyncio.sleep(0.3)
    by_hook: dict[str, list[dict]] = {}
    for r in receiver.events():
        by_hook.setdefault(r.event["webhookId"], []).append(r.event)
    assert {k: len(v) for k, v in by_hook.items()} == {i: 3 for i in ids.values()}
    for who, webhook in ids.items():
        assert all(e["referralId"] == ref for e in by_hook[webhook])
        [reward] = [e for e in by_hook[webhook] if e["kind"] == "REWARD_CREATED"]
        if who == net:
            assert (reward["rewardId"], reward["amount"], reward["unit"]) == (None, None, None)
        else:
            assert reward["rewardId"].startswith("rwd_")
            assert (reward["amount"], reward["unit"], reward["rewardStatus"]) == (
                12.5, "GBP", "PENDING")


async def test_a_platform_webhook_gets_every_event_of_its_kinds(store, settings, make, hooks,
                                                              hooks_as):
    admin = hooks_as("admin")
    with receiving() as receiver:
        webhook, _ = await hooks.ok(admin, receiver.url, ["STATUS_CHANGED"])
        async with sending(store, settings.webhook_key):
            ref = await make.referral(await make.customer(), await make.professional(),
                                      await make.customer())
            await make.status(ref, "DECLINED")
            await wait_for(lambda: receiver.events(), what="a delivery")
            await asyncio.sleep(0.2)
    [got] = receiver.events()
    assert (got.event["kind"], got.event["status"], got.event["referralId"]) == (
        "STATUS_CHANGED", "DECLINED", ref)
    assert webhook == got.event["webhookId"]


async def test_a_slow_receiver_holds_up_neither_the_api_nor_another_webhook(
        store, settings, make, hooks, hooks_as):
    pro = await make.professional()
    owner = hooks_as("professional", pro)
    with receiving(delay=0.8) as slow, receiving() as quick:
        await hooks.ok(owner, slow.url, ["CREATED"], owner=pro)
        fast_hook, _ = await hooks.ok(owner, quick.url, ["CREATED"], owner=pro)
        async with sending(store, settings.webhook_key):
            loop = asyncio.get_running_loop()
            started = loop.time()
            for _ in range(3):
                await make.referral(await make.customer(), pro, await make.customer())
            assert loop.time() - started < 3.0
            await wait_for(lambda: len(quick.events()) == 3, seconds=3,
                           what="the quick receiver's three")
            assert len(slow.events()) <= 2
            await wait_for(lambda: len(slow.events()) == 3, seconds=15, what="the slow ones")
    assert fast_hook


async def test_the_address_is_checked_again_before_each_delivery(store, settings, make, hooks,
                                                                 hooks_as):
    """Made while private addresses were allowed, sent while they are not: refused at
    delivery, the receiver never reached, the attempt recorded without a response code."""
    pro = await make.professional()
    owner = hooks_as("professional", pro)
    with receiving() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        webhook, _ = await hooks.ok(owner, f"https://localhost:{port}/hook", ["CREATED"],
                                    owner=pro)
        strict = replace(FAST, allow_private=False, max_attempts=2)
        async with sending(store, settings.webhook_key, strict):
            await make.referral(await make.customer(), pro, await make.customer())

            async def failed() -> list[dict]:
                return await deliveries(owner, webhook, "FAILED")

            [done] = await wait_for(failed, what="failed")
    assert (done["attempts"], done["lastResponseCode"]) == (2, None)
    assert receiver.events() == []


async def test_a_deleted_webhook_gets_nothing_more(store, settings, make, hooks, hooks_as):
    pro = await make.professional()
    owner = hooks_as("professional", pro)
    with receiving() as receiver:
        webhook, _ = await hooks.ok(owner, receiver.url, ["CREATED"], owner=pro)
        await webhooks.delete_webhook(store, webhook)
        async with sending(store, settings.webhook_key):
            await make.referral(await make.customer(), pro, await make.customer())
            await asyncio.sleep(0.5)
    assert receiver.events() == []


async def test_events_one_after_another_go_out_once_each_in_order_under_one_lease(
        store, settings, make, hooks, hooks_as):
    # The webhook's task keeps its lease while events keep coming and writes its successes in
    # batches, reading on after the last one it sent: nothing is sent twice, nothing skipped.
    pro = await make.professional()
    owner = hooks_as("professional", pro)
    customers = [await make.customer() for _ in range(16)]
    with receiving() as receiver:
        webhook, secret = await hooks.ok(owner, receiver.url, ["CREATED"], owner=pro)
        async with sending(store, settings.webhook_key):
            refs = []
            for i in range(8):
                refs.append(await make.referral(customers[i], pro, customers[i + 8]))
                await asyncio.sleep(0.1)
            await wait_for(lambda: _all_delivered(owner, webhook, 8), what="all recorded")
    got = receiver.events()
    assert [r.event["referralId"] for r in got] == refs
    seqs = [r.event["seq"] for r in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(valid(secret, r) for r in got)
    [lease] = await store.read(HOOK_TURNS, id=webhook)
    assert lease["turns"] <= 2, "the lease was given back between events a moment apart"


HOOK_TURNS = "MATCH (w:Webhook {id: $id}) RETURN coalesce(w.turns, 0) AS turns"
