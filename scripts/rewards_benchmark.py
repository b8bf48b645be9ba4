"""Rewards under load: what earning adds to a status change, and exact rewards under concurrency.

Usage::

    referral-graph seed synthetic --professionals 10000 --customers 50000 --jobs 100000 \\
        --referrals 50000 --seed 1 --programs 20 --data-dir DIR
    python scripts/rewards_benchmark.py --data-dir DIR --rounds 100

(without ``--data-dir`` it generates ``--size`` with ``--programs`` into a temporary folder).
Everything goes through the whole app in process (``updateReferralStatus`` as an admin):

1. **Earning vs none.** Interleaved in one run, the same status change of fresh referrals from
   existing customers: to a professional whose seeded program earns on it (two rewards, with its
   tallies of seeded rewards read), and to one with no program (nothing earned). SENT -> ACCEPTED
   and ACCEPTED -> CONVERTED; p50, p95 and their ratio (target p95 ratio <= 1.3).
2. **100 concurrent conversions** (``asyncio.gather``) of distinct ACCEPTED referrals into
   confirmed jobs, in one program with tiers, a commission and a monthly cap, 10 referrers with
   10 referrals each; the rewards and the totals per recipient are compared with a brute-force
   computation written out here (not graph.rewards): OK or MISMATCH with the figures.
3. Leaderboard p50/p95 (``Network.leaderboard``, ``Professional.topReferrers``), if rounds > 0.

It writes into the store (fresh parties, referrals, jobs and one program, under ids no run
repeats), so it can be re-run on the same folder. Figures only; nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from benchmark import NETWORK_SIZES, SIZES, GraphQL, latencies, open_embedded, pct, print_latencies
from leaderboard_benchmark import BOARD, BUSY, TOP

from graph import bulk, referrals, timeutil
from graph.models import ReferralStatus
from graph.store import Store
from seeds.rewards import with_programs
from seeds.synthetic import SYNTHETIC_NOW, synthetic_dataset

UPDATE = """mutation($input: UpdateReferralStatusInput!) { updateReferralStatus(input: $input) {
  referral { id status } errors { code message } } }"""
CREATE_PROGRAM = """mutation($input: CreateRewardProgramInput!) {
  createRewardProgram(input: $input) { program { id } errors { code message field } } }"""

# Seeded programs that earn two rewards on a change from a customer's referral, per trigger:
# two-sided, active, no cap, not verified-only; the busiest owner first.
EARNING_OWNER = """
MATCH (p:RewardProgram)
WHERE p.trigger = $trigger AND p.ownerId STARTS WITH 'pro_' AND p.endedAt IS NULL
  AND p.endsAt IS NULL AND p.monthlyCap IS NULL AND p.verifiedOnly = false
  AND p.refereeAmount > 0 AND p.referrerAmount > 0
OPTIONAL MATCH (w:Reward {programId: p.id})
WITH p, count(w) AS earned
RETURN p.ownerId AS owner, p.id AS program, earned ORDER BY earned DESC, owner LIMIT 1
"""
OWNERS = "MATCH (p:RewardProgram) RETURN DISTINCT p.ownerId AS id"
SOME_PROFESSIONALS = "MATCH (p:Professional) RETURN p.id AS id LIMIT 2000"
SOME_CUSTOMERS = "MATCH (c:Customer) WHERE c.erased IS NULL RETURN c.id AS id LIMIT 5000"
REWARDS_OF_REFERRALS = """
UNWIND $ids AS id
MATCH (w:Reward {referralId: id})
RETURN count(w) AS n
"""
REWARDS_OF_PROGRAM = """
MATCH (w:Reward {programId: $id})
RETURN w.referralId AS referral, w.recipientId AS recipient, w.role AS role,
       w.amount AS amount, w.slot AS slot, w.status AS status, w.key AS key
"""


class Fresh:
    """Parties and jobs made for this run, bulk-loaded (loaded jobs are confirmed)."""

    def __init__(self, store: Store, tag: str) -> None:
        self.store = store
        self.tag = tag
        self.n = 0
        self.data = bulk.Dataset()

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_rb{self.tag}_{self.n:06d}"

    def customer(self) -> str:
        cid = self._id("cus")
        self.data.customers.append({"id": cid, "name": f"Bench Customer{self.n}",
                                    "area": "Bench", "createdAt": self.now()})
        return cid

    def professional(self) -> str:
        pid = self._id("pro")
        self.data.professionals.append({"id": pid, "name": f"Bench Pro{self.n}",
                                        "trades": ["plumbing"], "area": "Bench",
                                        "createdAt": self.now()})
        return pid

    def job(self, customer: str, professional: str, value: float) -> str:
        jid = self._id("job")
        self.data.jobs.append({"id": jid, "customerId": customer, "professionalId": professional,
                               "trade": "plumbing", "completedAt": self.now(), "rating": 5,
                               "value": value, "createdAt": self.now()})
        return jid

    @staticmethod
    def now() -> str:
        return timeutil.to_store(timeutil.now())

    async def load(self) -> None:
        await bulk.load(self.store, self.data)
        self.data = bulk.Dataset()


async def referral(store: Store, referrer: str, professional: str, referee: str,
                   accepted: bool) -> str:
    made = await referrals.create_referral(
        store, referrals.NewReferral(referrer, professional, referee))
    if accepted:
        await referrals.update_status(store, made.id, ReferralStatus.ACCEPTED)
    return made.id


async def earning_vs_none(store: Store, client: GraphQL, rounds: int, tag: str) -> None:
    rng = random.Random(5)
    owners = {r["id"] for r in await store.read(OWNERS)}
    quiet = next(r["id"] for r in await store.read(SOME_PROFESSIONALS) if r["id"] not in owners)
    customers = [r["id"] for r in await store.read(SOME_CUSTOMERS)]
    rows = []
    for status in ("ACCEPTED", "CONVERTED"):
        found = await store.read(EARNING_OWNER, trigger=status)
        if not found:
            print(f"\n(no seeded {status} program to earn in: seed with --programs 20)")
            continue
        earner, program, earned = found[0]["owner"], found[0]["program"], found[0]["earned"]
        fresh = Fresh(store, f"{tag}{status[0]}")
        # Per round and side: a referrer among the seeded customers, a fresh referee, and for a
        # conversion its confirmed job.
        plan: list[tuple[str, str, str, str | None]] = []
        total = rounds + 5
        for i in range(2 * total):
            professional = earner if i % 2 == 0 else quiet
            referee = fresh.customer()
            job = fresh.job(referee, professional, 200.0) if status == "CONVERTED" else None
            plan.append((professional, rng.choice(customers), referee, job))
        await fresh.load()
        ids = [await referral(store, a, p, c, accepted=status == "CONVERTED")
               for p, a, c, _ in plan]
        times: dict[str, list[float]] = {"earn": [], "none": []}
        for i in range(total):
            pair = [("earn", ids[2 * i], plan[2 * i][3]), ("none", ids[2 * i + 1],
                                                           plan[2 * i + 1][3])]
            if i % 2:
                pair.reverse()  # neither side always runs first
            for side, rid, job in pair:
                params = {"input": {"id": rid, "status": status, "jobId": job}}
                start = time.perf_counter()
                body = await client(UPDATE, params)
                ms = (time.perf_counter() - start) * 1000
                errors = body["updateReferralStatus"]["errors"]
                if errors:
                    raise RuntimeError(errors)
                if i >= 5:  # the first few warm up
                    times[side].append(ms)
        made = await store.read(REWARDS_OF_REFERRALS, ids=ids[0::2])
        quiet_made = await store.read(REWARDS_OF_REFERRALS, ids=ids[1::2])
        print(f"\n{status}: earning in {program} of {earner} ({earned} seeded rewards), "
              f"{made[0]['n']} rewards made for {total} changes; none for {quiet}: "
              f"{quiet_made[0]['n']} made")
        e, n = times["earn"], times["none"]
        rows.append((status, pct(e, .5), pct(e, .95), pct(n, .5), pct(n, .95)))
    print()
    print("| change | earns p50 ms | earns p95 ms | none p50 ms | none p95 ms "
          "| p50 ratio | p95 ratio (target <= 1.3) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for status, ep50, ep95, np50, np95 in rows:
        print(f"| -> {status} | {ep50:.1f} | {ep95:.1f} | {np50:.1f} | {np95:.1f} "
              f"| {ep50 / np50:.2f}x | {ep95 / np95:.2f}x |")


# -- 100 concurrent conversions, checked by brute force ------------------------------------------
REFERRERS = 10
EACH = 10
BASE, REFEREE = 10.0, 5.0  # GBP
TIERS = ((3, 15.0), (6, 20.0))
RATE = 0.05
CAP = 8
# One job value per referrer, so that which of its referrals the cap leaves out changes no
# amount; chosen to hit half-pennies (0.05 x 12.30 = 0.615) and other roundings.
VALUES = (12.30, 12.50, 250.10, 99.99, 1000.00, 45.45, 7.70, 333.33, 18.90, 64.25)


def pence(amount: float | Decimal) -> int:
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def brute_force() -> tuple[dict[int, list[int]], int]:
    """Per referrer (by index), the amounts of its rewards in slot order, and each referee
    reward's amount, in pence: the rules spelled out by hand."""
    per_referrer = {}
    for i, value in enumerate(VALUES):
        commission = pence(Decimal(str(RATE)) * Decimal(str(value)))
        amounts = []
        for n in range(1, min(EACH, CAP) + 1):
            base = BASE
            for from_count, amount in TIERS:
                if n >= from_count:
                    base = amount
            amounts.append(pence(base) + commission)
        per_referrer[i] = amounts
    return per_referrer, pence(REFEREE)


async def concurrent_conversions(store: Store, client: GraphQL, tag: str) -> bool:
    fresh = Fresh(store, f"{tag}X")
    owner = fresh.professional()
    referrers = [fresh.customer() for _ in range(REFERRERS)]
    plan = []  # (referrer index, referee, job)
    for i in range(REFERRERS):
        for _ in range(EACH):
            referee = fresh.customer()
            plan.append((i, referee, fresh.job(referee, owner, VALUES[i])))
    await fresh.load()
    made = await client(CREATE_PROGRAM, {"input": {
        "ownerId": owner, "name": "Benchmark partners", "trigger": "CONVERTED",
        "referrerAmount": BASE, "refereeAmount": REFEREE, "referrerRate": RATE, "unit": "GBP",
        "tiers": [{"fromCount": f, "referrerAmount": a} for f, a in TIERS],
        "monthlyCapPerReferrer": CAP}})
    payload = made["createRewardProgram"]
    if payload["errors"]:
        raise RuntimeError(payload["errors"])
    program = payload["program"]["id"]
    ids = [await referral(store, referrers[i], owner, referee, accepted=True)
           for i, referee, _ in plan]
    start = time.perf_counter()
    bodies = await asyncio.gather(*(
        client(UPDATE, {"input": {"id": rid, "status": "CONVERTED", "jobId": job}})
        for rid, (_, _, job) in zip(ids, plan, strict=True)))
    wall = time.perf_counter() - start
    failed = [b["updateReferralStatus"]["errors"] for b in bodies
              if b["updateReferralStatus"]["errors"]]
    rows = await store.read(REWARDS_OF_PROGRAM, id=program)

    expected, referee_amount = brute_force()
    index = {r: i for i, r in enumerate(referrers)}
    referral_of = dict(zip(ids, plan, strict=True))
    got: dict[int, list[tuple[int, int]]] = defaultdict(list)
    referee_rewards = []
    for r in rows:
        if r["role"] == "REFERRER":
            got[index[r["recipient"]]].append((int(r["slot"].rsplit("|", 1)[1]), r["amount"]))
        else:
            referee_rewards.append(r)
    problems = []
    if failed:
        problems.append(f"{len(failed)} conversions failed: {failed[:3]}")
    if len({r["key"] for r in rows}) != len(rows):
        problems.append("two rewards share a (program, referral, role) key")
    for i, amounts in expected.items():
        slots = sorted(got[i])
        if [a for _, a in slots] != amounts or [s for s, _ in slots] != list(
                range(1, len(amounts) + 1)):
            problems.append(f"referrer {i}: got {slots}, expected {amounts}")
    rewarded = {r["referral"] for r in rows if r["role"] == "REFERRER"}
    if {r["referral"] for r in referee_rewards} != rewarded:
        problems.append("referee rewards are not those of the rewarded referrals")
    if any(r["amount"] != referee_amount for r in referee_rewards):
        problems.append("a referee reward of the wrong amount")
    per_referee = Counter(referral_of[r["referral"]][1] for r in referee_rewards)
    if any(n != 1 for n in per_referee.values()):
        problems.append("a referee rewarded twice")
    if any(r["status"] != "PENDING" for r in rows):
        problems.append(f"statuses {Counter(r['status'] for r in rows)}")
    total_expected = sum(sum(a) for a in expected.values())
    total_got = sum(r["amount"] for r in rows if r["role"] == "REFERRER")
    referee_total = sum(r["amount"] for r in referee_rewards)
    print(f"\n100 concurrent conversions in {program} (tiers {TIERS}, rate {RATE}, cap {CAP}, "
          f"{REFERRERS} referrers x {EACH}): {wall:.2f} s wall, {len(rows)} rewards "
          f"(expected {REFERRERS * min(EACH, CAP) * 2})")
    print("| referrer | job value | rewards | total GBP | expected GBP |")
    print("|---|---:|---:|---:|---:|")
    for i, value in enumerate(VALUES):
        have = sum(a for _, a in got[i])
        print(f"| {referrers[i]} | {value:.2f} | {len(got[i])} | {have / 100:.2f} "
              f"| {sum(expected[i]) / 100:.2f} |")
    print(f"referrers' total GBP {total_got / 100:.2f} (expected {total_expected / 100:.2f}); "
          f"referees' total GBP {referee_total / 100:.2f} (expected "
          f"{REFERRERS * min(EACH, CAP) * referee_amount / 100:.2f})")
    if total_got != total_expected or referee_total != REFERRERS * min(EACH, CAP) * referee_amount:
        problems.append("totals differ")
    print("OK" if not problems else "MISMATCH: " + "; ".join(problems))
    return not problems


async def leaderboards(store: Store, rounds: int) -> None:
    rng = random.Random(11)
    sizes = await store.read(NETWORK_SIZES)
    if not sizes:
        return
    median = statistics.median(r["members"] for r in sizes)
    near = [r["id"] for r in sizes if abs(r["members"] - median) <= median * 0.2]
    pros = [r["id"] for r in await store.read(BUSY)]
    specs = [
        (f"Network.leaderboard CONVERSIONS, ~{median:.0f} members", BOARD,
         lambda: {"id": rng.choice(near), "metric": "CONVERSIONS"}),
        ("Professional.topReferrers CONVERSIONS", TOP,
         lambda: {"id": rng.choice(pros), "metric": "CONVERSIONS"}),
    ]
    print_latencies("leaderboards (target p95 100)", await latencies(store, specs, rounds))


async def run(store: Store, args: argparse.Namespace) -> bool:
    tag = f"{random.randrange(36**4):04x}"
    client = GraphQL(store)
    async with client.http:
        await earning_vs_none(store, client, args.rounds, tag)
        ok = await concurrent_conversions(store, client, tag)
    if args.leaderboard_rounds:
        await leaderboards(store, args.leaderboard_rounds)
    return ok


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.data_dir) if args.data_dir else Path(tmp) / "store"
        server, store = await open_embedded(folder)
        try:
            if not args.data_dir:
                counts = SIZES[args.size]
                data = with_programs(synthetic_dataset(*counts, seed=args.seed), args.programs,
                                     args.seed, SYNTHETIC_NOW)
                print(f"# size {args.size} {counts}, {len(data.reward_programs)} programs, "
                      f"{len(data.rewards)} seeded rewards")
                await bulk.load(store, data)
                del data
            print(f"# rewards benchmark: {args.rounds} rounds per side, "
                  f"store {args.data_dir or 'temporary'}")
            ok = await run(store, args)
        finally:
            await store.close()
            await asyncio.to_thread(server.stop)
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--data-dir", help="an embedded store already seeded (see above); "
                                           "otherwise --size is generated into a temporary one")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--programs", type=int, default=20,
                        help="programs to seed with --size (default 20)")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--leaderboard-rounds", type=int, default=50,
                        help="0 skips the leaderboards")
    sys.exit(asyncio.run(main(parser.parse_args())))
