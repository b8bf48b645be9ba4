"""The event outbox: each change writes its event in its own transaction, a refused change
writes none, numbers are gapless and given once however many sequencers run, each process's
pump hands every event out once and in order, and the sweep closes the loop by itself."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import pytest

from graph import events, referrals, rewards, sweep, timeutil
from graph.models import ReferralStatus
from graph.programs import NewProgram, RewardTrigger, create_program
from graph.rewards import RewardStatus
from graph.store import connect

OF_REFERRAL = """
MATCH (e:Event {referralId: $id})
RETURN e.kind AS kind, e.status AS status, e.fromStatus AS fromStatus, e.rewardId AS rewardId,
       e.rewardStatus AS rewardStatus, e.rewardFrom AS rewardFrom, e.amount AS amount,
       e.referrerId AS referrerId, e.professionalId AS professionalId, e.refereeId AS refereeId,
       e.seq AS seq, e.pending AS pending, e.id AS id
ORDER BY e.at, e.kind
"""
AGE = """
MATCH (x:Referral {id: $id})
SET x.createdAt = $at, x.statusTimes = [t IN x.statusTimes | $at]
"""


async def of_referral(store: Any, ref: str) -> list[dict[str, Any]]:
    return await store.read(OF_REFERRAL, id=ref)


async def three(make: Any) -> tuple[str, str, str]:
    return (await make.customer(), await make.professional(trades=["plumbing"]),
            await make.customer())


async def test_a_referral_and_its_changes_write_their_events(store, make):
    referrer, pro, referee = await three(make)
    ref = await make.referral(referrer, pro, referee)
    [created] = await of_referral(store, ref)
    assert created["kind"] == events.CREATED and created["status"] == "SENT"
    assert (created["referrerId"], created["professionalId"], created["refereeId"]) == (
        referrer, pro, referee)

    assert (await make.status(ref, "ACCEPTED"))["errors"] == []
    kinds = [(e["kind"], e["fromStatus"], e["status"]) for e in await of_referral(store, ref)]
    assert kinds == [(events.CREATED, None, "SENT"),
                     (events.STATUS_CHANGED, "SENT", "ACCEPTED")]


async def test_a_refused_change_writes_no_event(store, make):
    referrer, pro, referee = await three(make)
    ref = await make.referral(referrer, pro, referee)
    # The same open referral again: DUPLICATE, and nothing written.
    again = await make.call("referral", referrerId=referrer, professionalId=pro,
                            refereeId=referee)
    assert [e["code"] for e in again["errors"]] == ["DUPLICATE"]
    # SENT cannot become CONVERTED: INVALID_TRANSITION, and no event.
    moved = await make.status(ref, "CONVERTED", jobId="job_" + "0" * 26)
    assert moved["errors"]
    assert [e["kind"] for e in await of_referral(store, ref)] == [events.CREATED]


async def test_earned_and_moved_rewards_write_their_events(store, make):
    referrer, pro, referee = await three(make)
    program = await create_program(store, NewProgram(
        owner_id=pro, name="Thanks", unit="GBP", trigger=RewardTrigger.ACCEPTED,
        referrer_amount=12.5), manages=lambda _: True)
    ref = await make.referral(referrer, pro, referee)
    await referrals.update_status(store, ref, ReferralStatus.ACCEPTED)
    found = await of_referral(store, ref)
    [made] = [e for e in found if e["kind"] == events.REWARD_CREATED]
    assert made["amount"] == 1250 and made["rewardStatus"] == "PENDING"
    assert made["rewardId"].startswith("rwd_")

    await rewards.change_status(store, made["rewardId"], RewardStatus.APPROVED, by=pro)
    moved = [e for e in await of_referral(store, ref) if e["kind"] == events.REWARD_STATUS_CHANGED]
    assert [(e["rewardFrom"], e["rewardStatus"], e["amount"]) for e in moved] == [
        ("PENDING", "APPROVED", 1250)]
    assert program.id


async def test_numbers_are_gapless_and_given_once_under_concurrent_sequencers(store, bolt, make):
    others = [connect(bolt.uri, bolt.user, bolt.password, bolt.database) for _ in range(2)]
    try:
        await events.sequence_all(store)
        before = await events.head(store)
        pro = await make.professional(trades=["plumbing"])
        pairs = [(await make.customer(), await make.customer()) for _ in range(8)]

        async def create(i: int) -> str:
            a, b = pairs[i]
            return await make.referral(a, pro, b)

        async def sequencers() -> None:
            for _ in range(6):
                await asyncio.gather(*(events.sequence(s) for s in (store, *others)))
                await asyncio.sleep(0.01)

        refs, _ = await asyncio.gather(asyncio.gather(*(create(i) for i in range(8))),
                                       sequencers())
        await events.sequence_all(store)
        after = await events.head(store)
        numbered = await events.events_after(store, before, after)
        assert [e.seq for e in numbered] == list(range(before + 1, after + 1))
        mine = [e for e in numbered if e.referral_id in set(refs)]
        assert sorted(e.referral_id for e in mine) == sorted(refs)
        for ref in refs:
            [row] = await of_referral(store, ref)
            assert row["pending"] is None and row["seq"] is not None
    finally:
        for s in others:
            await s.close()


async def test_every_pump_hands_out_each_event_once_in_order(store, bolt, make):
    second = connect(bolt.uri, bolt.user, bolt.password, bolt.database)
    pumps = [events.Pump(store, poll=0.05), events.Pump(second, poll=0.05)]
    seen: list[list[events.Event]] = [[], []]
    try:
        for pump, into in zip(pumps, seen, strict=True):
            pump.listen(into.extend)
            await pump.step()  # starts at the head: nothing old is handed out
            into.clear()
            pump.start()
        referrer, pro, referee = await three(make)
        ref = await make.referral(referrer, pro, referee)
        await make.status(ref, "ACCEPTED")
        await make.status(ref, "DECLINED")
        for _ in range(200):
            if all(len([e for e in s if e.referral_id == ref]) == 3 for s in seen):
                break
            await asyncio.sleep(0.05)
        for s in seen:
            assert [e.seq for e in s] == sorted({e.seq for e in s})  # once each, in order
            mine = [(e.kind, e.status) for e in s if e.referral_id == ref]
            assert mine == [(events.CREATED, "SENT"), (events.STATUS_CHANGED, "ACCEPTED"),
                            (events.STATUS_CHANGED, "DECLINED")]
    finally:
        for pump in pumps:
            await pump.stop()
        await second.close()


async def test_subscribe_yields_new_events_to_one_reader(store, make):
    pump = events.Pump(store, poll=0.05)
    pump.start()
    try:
        stream = pump.subscribe()
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.2)
        referrer, pro, referee = await three(make)
        ref = await make.referral(referrer, pro, referee)
        event = await asyncio.wait_for(first, 10)
        while event.referral_id != ref:
            event = await asyncio.wait_for(anext(stream), 10)
        assert event.kind == events.CREATED and event.parties == (referrer, pro, referee)
        await stream.aclose()
    finally:
        await pump.stop()


async def test_the_sweep_reminds_once_and_expires_open_referrals(store, make):
    referrer, pro, referee = await three(make)
    old = timeutil.to_store(timeutil.now() - timedelta(days=10))
    ancient = timeutil.to_store(timeutil.now() - timedelta(days=100))
    fresh = await make.referral(referrer, pro, referee)
    due = await make.referral(await make.customer(), pro, referee)
    accepted_long_ago = await make.referral(await make.customer(), pro, referee)
    sent_long_ago = await make.referral(await make.customer(), pro, referee)
    converted = await make.referral(await make.customer(), pro, referee)
    await make.status(accepted_long_ago, "ACCEPTED")
    await make.status(converted, "DECLINED")
    for ref, at in ((due, old), (accepted_long_ago, ancient), (sent_long_ago, ancient),
                    (converted, ancient)):
        await store.run_write(AGE, id=ref, at=at)

    await sweep.sweep(store, reminder_days=7, ttl_days=90)
    await sweep.sweep(store, reminder_days=7, ttl_days=90)  # a second sweep changes nothing

    def kinds(rows: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
        return [(r["kind"], r["fromStatus"], r["status"]) for r in rows]

    assert kinds(await of_referral(store, fresh)) == [(events.CREATED, None, "SENT")]
    assert kinds(await of_referral(store, due)) == [(events.CREATED, None, "SENT"),
                                                    (events.REMINDER, None, "SENT")]
    assert kinds(await of_referral(store, accepted_long_ago))[-1] == (
        events.STATUS_CHANGED, "ACCEPTED", "EXPIRED")
    assert kinds(await of_referral(store, sent_long_ago))[1:] == [
        (events.REMINDER, None, "SENT"), (events.STATUS_CHANGED, "SENT", "EXPIRED")]
    assert kinds(await of_referral(store, converted))[-1] == (
        events.STATUS_CHANGED, "SENT", "DECLINED")
    [expired] = await referrals.referrals_by_ids(store, [accepted_long_ago])
    assert expired is not None and expired.status is ReferralStatus.EXPIRED
    assert [h.status for h in expired.history] == [ReferralStatus.SENT, ReferralStatus.ACCEPTED,
                                                   ReferralStatus.EXPIRED]
    # An expired referral is closed: the same three parties may refer again.
    [closed] = await referrals.referrals_by_ids(store, [sent_long_ago])
    assert closed is not None
    await make.referral(closed.referrer_id, closed.professional_id, closed.referee_id)


async def test_a_sweep_and_a_change_of_the_same_referral_do_not_both_commit(store, make):
    _, pro, referee = await three(make)
    refs = [await make.referral(await make.customer(), pro, referee) for _ in range(4)]
    ancient = timeutil.to_store(timeutil.now() - timedelta(days=100))
    for ref in refs:
        await store.run_write(AGE, id=ref, at=ancient)

    async def accept(ref: str) -> None:
        with contextlib.suppress(Exception):  # the sweep got there first: the change is refused
            await referrals.update_status(store, ref, ReferralStatus.ACCEPTED)

    await asyncio.gather(sweep.sweep(store, 7, 90), *(accept(r) for r in refs))
    await sweep.sweep(store, 7, 90)
    for ref in refs:
        changes = [r for r in await of_referral(store, ref)
                   if r["kind"] == events.STATUS_CHANGED]
        [found] = await referrals.referrals_by_ids(store, [ref])
        assert found is not None
        # The history and the events agree, whoever won: one step per event.
        assert [c["status"] for c in changes] == [h.status.value for h in found.history[1:]]
        assert found.status is ReferralStatus.EXPIRED


def _hand(pump: events.Pump, handed: list[events.Event]) -> None:
    """What the pump's step does with new events."""
    for listener in list(pump._listeners):
        listener(handed)


def _event(n: int, professional: str) -> events.Event:
    return events.Event(f"evt_{n}", n, events.CREATED, timeutil.now(), f"ref_{n}", "cus_1",
                        professional, "cus_2", "SENT")


async def test_a_feed_takes_what_it_accepts_and_cuts_off_a_subscriber_that_falls_behind(store):
    pump = events.Pump(store)  # not started: the test hands the events out itself
    mine = events.Feed(pump, lambda e: e.professional_id == "pro_1", backlog=3)
    assert len(pump._listeners) == 1  # listening from the moment it is made
    _hand(pump, [_event(1, "pro_1"), _event(2, "pro_2"), _event(3, "pro_1")])
    assert [(await anext(mine)).seq for _ in range(2)] == [1, 3]

    # More than the backlog waiting: what waited is read, then the feed ends; it listens no more.
    _hand(pump, [_event(n, "pro_1") for n in range(4, 9)])
    assert pump._listeners == set()
    assert [(await anext(mine)).seq for _ in range(3)] == [4, 5, 6]
    with pytest.raises(events.Overflow):
        await anext(mine)

    closed = events.Feed(pump, lambda e: True, backlog=3)
    closed.close()
    assert pump._listeners == set()
