"""Small hand-made scenes for the integrity tests: organic activity, planted patterns and their
legitimate look-alikes, as a detection projection (algorithm tests) or as store rows (batch
tests). Times are seconds since the epoch; ``NOW`` is the scenes' present."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime

from graph.algorithms import integrity as I
from graph.bulk import Dataset, Row
from graph.ids import new_id
from graph.referrals import open_key
from graph.timeutil import to_store

DAY = 86400.0
NOW = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
TRADES = ("plumbing", "electrics", "tiling", "heating", "roofing", "painting")


def stamp(ts: float) -> str:
    return to_store(datetime.fromtimestamp(ts, UTC))


class Scene:
    """A growing world; every id is fresh, so scenes loaded into one store never collide."""

    def __init__(self, seed: int = 0, now: float = NOW) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.pros: dict[str, tuple[tuple[str, ...], float]] = {}
        self.customers: dict[str, float] = {}
        self.jobs: list[Row] = []
        self.referrals: list[Row] = []

    # -- parties and records -------------------------------------------------------------
    def professional(self, trades: Sequence[str] | None = None,
                     created: float | None = None) -> str:
        pid = new_id("pro")
        self.pros[pid] = (tuple(trades or (self.rng.choice(TRADES),)),
                          self.now - 700 * DAY if created is None else created)
        return pid

    def customer(self, created: float | None = None) -> str:
        cid = new_id("cus")
        self.customers[cid] = self.now - 700 * DAY if created is None else created
        return cid

    def job(self, customer: str, professional: str, at: float, rating: int | None = 5) -> str:
        jid = new_id("job")
        self.jobs.append({"id": jid, "customerId": customer, "professionalId": professional,
                          "trade": self.pros[professional][0][0], "completedAt": stamp(at),
                          "rating": rating, "value": 300.0, "createdAt": stamp(at)})
        return jid

    def referral(self, referrer: str, professional: str, referee: str, at: float,
                 status: str = "EXPIRED", review: str | None = None) -> str:
        """A referral; CONVERTED ones get their confirmed job between referee and professional."""
        rid = new_id("ref")
        history, times = ["SENT"], [at]
        job = None
        if status in ("ACCEPTED", "CONVERTED", "DECLINED"):
            history.append("ACCEPTED")
            times.append(at + DAY)
        if status == "CONVERTED":
            job = self.job(referee, professional, at + 5 * DAY, rating=5)
            history.append("CONVERTED")
            times.append(at + 6 * DAY)
        elif status in ("DECLINED", "EXPIRED"):
            history.append(status)
            times.append(at + (2 if status == "DECLINED" else 30) * DAY)
        self.referrals.append({
            "id": rid, "referrerId": referrer, "professionalId": professional,
            "refereeId": referee, "status": status, "verified": False, "note": None,
            "createdAt": stamp(at), "updatedAt": stamp(times[-1]), "statusHistory": history,
            "statusTimes": [stamp(t) for t in times], "jobId": job, "review": review,
            "openKey": open_key(referrer, professional, referee)
            if status in ("SENT", "ACCEPTED") else None,
        })
        return rid

    def outcome(self, share: float) -> str:
        roll = self.rng.random()
        return "CONVERTED" if roll < share else ("DECLINED" if roll < share + 0.25 else "EXPIRED")

    # -- organic activity ------------------------------------------------------------------
    def background(self, pros: int = 40, customers: int = 200) -> list[str]:
        """Professionals with customers, hires, customer referrals and a few partnerships, all
        converting at about 40%, spread over the last two years."""
        ps = [self.professional() for _ in range(pros)]
        cs = [self.customer() for _ in range(customers)]
        for p in ps:
            for _ in range(self.rng.randint(2, 8)):
                self.job(self.rng.choice(cs), p, self.now - self.rng.uniform(60, 650) * DAY,
                         rating=self.rng.choice((3, 4, 5, None)))
            for _ in range(self.rng.randint(1, 5)):
                a, b = self.rng.sample(cs, 2)
                self.referral(a, p, b, self.now - self.rng.uniform(60, 600) * DAY,
                              self.outcome(0.4))
        for _ in range(pros // 2):
            a, b = self.rng.sample(ps, 2)
            for _ in range(self.rng.randint(1, 3)):
                self.referral(a, b, self.rng.choice(cs),
                              self.now - self.rng.uniform(60, 600) * DAY, self.outcome(0.4))
        return ps

    def real_customer(self) -> str:
        """A customer with a life of its own: an earlier confirmed job elsewhere."""
        c = self.customer()
        other = self.professional()
        self.job(c, other, self.now - 400 * DAY)
        return c

    def fake_customer(self, at: float) -> str:
        """A referee signed up minutes before its referral and never seen again."""
        return self.customer(created=at - 600)

    # -- planted patterns --------------------------------------------------------------------
    def ring(self, size: int = 4, per_edge: int = 9, days: float = 9) -> list[str]:
        """``size`` new professionals referring fake referees around a loop, nothing converting."""
        start = self.now - 20 * DAY
        ms = [self.professional(created=start - 30 * DAY) for _ in range(size)]
        for i, m in enumerate(ms):
            for _ in range(per_edge):
                at = start + self.rng.uniform(0, days) * DAY
                self.referral(m, ms[(i + 1) % size], self.fake_customer(at), at, "SENT")
        return ms

    def reciprocal_pair(self, each: int = 10) -> list[str]:
        start = self.now - 120 * DAY
        a, b = (self.professional(created=start - 10 * DAY) for _ in range(2))
        for x, y in ((a, b), (b, a)):
            for _ in range(each):
                at = start + self.rng.uniform(0, 60) * DAY
                self.referral(x, y, self.customer(created=at - 20 * DAY), at, "EXPIRED")
        return [a, b]

    def hollow(self, count: int = 12, targets: Sequence[str] = ()) -> str:
        """A professional inventing referees and referring them to established professionals."""
        p = self.professional()
        for i in range(count):
            at = self.now - self.rng.uniform(60, 200) * DAY
            self.referral(p, targets[i % len(targets)], self.fake_customer(at), at,
                          self.outcome(0.0))
        return p

    def burst(self, count: int = 25, targets: Sequence[str] = ()) -> str:
        """An established professional with a quiet history, then a week of referrals to
        lifeless referees."""
        p = self.professional()
        for _ in range(4):
            at = self.now - self.rng.uniform(100, 600) * DAY
            self.referral(p, self.rng.choice(targets), self.real_customer(), at, "CONVERTED")
        start = self.now - 60 * DAY
        for _ in range(count):
            at = start + self.rng.uniform(0, 5) * DAY
            self.referral(p, self.rng.choice(targets), self.customer(created=at - 40 * DAY),
                          at, "EXPIRED")
        return p

    def no_outcomes(self, count: int = 40) -> str:
        """A professional whose customers' referrals of real customers never convert."""
        p = self.professional()
        for _ in range(count):
            at = self.now - self.rng.uniform(60, 600) * DAY
            self.referral(self.real_customer(), p, self.real_customer(), at,
                          self.rng.choice(("EXPIRED", "DECLINED")))
        return p

    # -- look-alikes -------------------------------------------------------------------------
    def partners(self, each: int = 15) -> list[str]:
        """Long-standing partners referring each other both ways, converting into rated jobs."""
        a, b = self.professional(("plumbing",)), self.professional(("tiling",))
        for x, y in ((a, b), (b, a)):
            for _ in range(each):
                at = self.now - self.rng.uniform(60, 650) * DAY
                self.referral(x, y, self.real_customer(), at, self.outcome(0.55))
        return [a, b]

    def partner_loop(self, size: int = 4, per_edge: int = 8) -> list[str]:
        """A loop of partners whose referrals convert: structure without collusion."""
        ms = [self.professional() for _ in range(size)]
        for i, m in enumerate(ms):
            for _ in range(per_edge):
                at = self.now - self.rng.uniform(60, 400) * DAY
                self.referral(m, ms[(i + 1) % size], self.real_customer(), at,
                              self.outcome(0.55))
        return ms

    def busy_referrer(self, count: int = 80, targets: Sequence[str] = ()) -> str:
        p = self.professional()
        for _ in range(count):
            at = self.now - self.rng.uniform(60, 650) * DAY
            self.referral(p, self.rng.choice(targets), self.real_customer(), at,
                          self.outcome(0.5))
        return p

    def new_member_burst(self, count: int = 25, targets: Sequence[str] = ()) -> str:
        """A member who joined recently and referred a burst of real, converting work."""
        start = self.now - 70 * DAY
        p = self.professional(created=start - 2 * DAY)
        for _ in range(count):
            at = start + self.rng.uniform(0, 6) * DAY
            self.referral(p, self.rng.choice(targets), self.real_customer(), at,
                          self.outcome(0.6))
        return p

    # -- views -----------------------------------------------------------------------------
    def projection(self) -> I.Projection:
        def ts(text: str) -> float:
            return datetime.fromisoformat(text).timestamp()

        refs = [I.Referral(r["id"], r["referrerId"], r["referrerId"] in self.pros,
                           r["professionalId"], r["refereeId"], ts(r["createdAt"]), r["status"],
                           converted=r["jobId"] is not None, review=r["review"])
                for r in self.referrals]
        jobs = [I.Job(j["customerId"], j["professionalId"], j["trade"], ts(j["completedAt"]),
                      j["rating"]) for j in self.jobs]
        return I.Projection(refs, jobs, dict(self.customers),
                            {p: t for p, (t, _) in self.pros.items()},
                            {p: c for p, (_, c) in self.pros.items()}, self.now)

    def dataset(self) -> Dataset:
        return Dataset(
            professionals=[{"id": p, "name": "Pat Pro", "trades": list(t), "area": "Leeds",
                            "createdAt": stamp(c)} for p, (t, c) in self.pros.items()],
            customers=[{"id": c, "name": "Cat Customer", "area": "Leeds",
                        "createdAt": stamp(t)} for c, t in self.customers.items()],
            jobs=list(self.jobs), referrals=list(self.referrals))


def projection_of(data: Dataset, now: float) -> I.Projection:
    """The detection projection of a data set's rows, as the batch would read them once loaded
    (loaded jobs are confirmed)."""

    def ts(text: str) -> float:
        return datetime.fromisoformat(text).timestamp()

    pros = {p["id"]: p for p in data.professionals}
    refs = [I.Referral(r["id"], r["referrerId"], r["referrerId"] in pros, r["professionalId"],
                       r["refereeId"], ts(r["createdAt"]), r["status"],
                       converted=r.get("jobId") is not None) for r in data.referrals]
    jobs = [I.Job(j["customerId"], j["professionalId"], j["trade"], ts(j["completedAt"]),
                  j["rating"]) for j in data.jobs]
    return I.Projection(refs, jobs, {c["id"]: ts(c["createdAt"]) for c in data.customers},
                        {p: tuple(row["trades"]) for p, row in pros.items()},
                        {p: ts(row["createdAt"]) for p, row in pros.items()}, now)
