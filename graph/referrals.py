"""Referrals: a referrer recommends a professional to a referee, through a lifecycle.

SENT -> ACCEPTED | DECLINED | EXPIRED; ACCEPTED -> CONVERTED | DECLINED | EXPIRED; the rest are
final. Every change is appended to the referral's history. An open referral carries ``openKey``
(see ``graph.store``) so that the store refuses a duplicate open referral even under races.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from graph import events, rewards, rules, timeutil
from graph.access import Principal, can_read_referral
from graph.errors import (
    Duplicate,
    InvalidTransition,
    NotFound,
    SelfReferral,
    ValidationError,
)
from graph.idempotent import create_once
from graph.ids import check_id, client_or_new_id, kind_of
from graph.lists import (
    ListKey,
    ListQuery,
    fetch_pages,
    fetch_windowed_page,
    newest_first,
    party_map,
    windowed_newest_first,
    with_parties,
)
from graph.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    Referral,
    ReferralChannel,
    ReferralStatus,
    ReviewDecision,
)
from graph.pagination import Page, PageRequest
from graph.store import ConstraintError, Row, Store, Tx

# Pattern comprehensions start at the bound node: the embedded store scans the whole label
# when a comprehension starts at an unbound one, Neo4j plans either direction well.
REFERRAL_MAP = """x {.id, .status, .verified, .note, .createdAt, .updatedAt, .statusHistory,
  .statusTimes, .fraud, .channel, .reviewDecision, .reviewNote, .reviewAt, .reviewBy,
  referrerId: head([(x)<-[:MADE]-(a) | a.id]),
  professionalId: head([(x)-[:FOR]->(p:Professional) | p.id]),
  refereeId: head([(x)-[:INTRODUCES]->(c:Customer) | c.id]),
  jobId: head([(x)-[:CONVERTED_TO]->(j:Job) | j.id])}"""

REFERRAL_BY_ID = f"MATCH (x:Referral {{id: $id}}) RETURN {REFERRAL_MAP} AS row"

# The rewards a status change earns, created with the read of the changed referral.
CREATE_REWARDS_THEN_READ = rewards.create_then(REFERRAL_BY_ID)

REFERRALS_BY_IDS = f"""
UNWIND $ids AS id
MATCH (x:Referral {{id: id}})
RETURN {REFERRAL_MAP} AS row
"""

# Existence of the three parties (an erased customer counts as none), and whether the referrer
# has a confirmed job with the professional (completed before now, so before the referral; a
# later confirmation of an older job sets verified then, see graph.jobs.VERIFY_REFERRALS).
_PARTIES = """
OPTIONAL MATCH (a:{label} {{id: $referrerId}})
OPTIONAL MATCH (p:Professional {{id: $professionalId}})
OPTIONAL MATCH (c:Customer {{id: $refereeId}})
RETURN a IS NOT NULL AND a.erased IS NULL AS referrer, p IS NOT NULL AS professional,
       c IS NOT NULL AND c.erased IS NULL AS referee,
       size([(a)-[:BOOKED]->(j:Job)-[:DONE_BY]->(p) WHERE j.confirmed = true | 1]) > 0
         AS verified
"""
PARTIES_OF_CUSTOMER_REFERRAL = _PARTIES.format(label="Customer")
PARTIES_OF_PROFESSIONAL_REFERRAL = _PARTIES.format(label="Professional")

OPEN_REFERRAL = "MATCH (x:Referral {openKey: $openKey}) RETURN x.id AS id"

_CREATE = """
MATCH (a:{label} {{id: $referrerId}}), (p:Professional {{id: $professionalId}}),
      (c:Customer {{id: $refereeId}})
CREATE (a)-[:MADE]->(x:Referral {{id: $id, status: 'SENT', verified: $verified, note: $note,
        createdAt: $now, updatedAt: $now, statusHistory: ['SENT'], statusTimes: [$now],
        openKey: $openKey, channel: $channel, referrerId: $referrerId,
        professionalId: $professionalId, refereeId: $refereeId}})-[:FOR]->(p)
CREATE (x)-[:INTRODUCES]->(c)
"""
CREATE_CUSTOMER_REFERRAL = _CREATE.format(label="Customer")
CREATE_PROFESSIONAL_REFERRAL = _CREATE.format(label="Professional")

# Optimistic: the change applies only if nobody moved the referral since it was read.
SET_STATUS = """
MATCH (x:Referral {id: $id})
WHERE x.status = $from
SET x.status = $to, x.updatedAt = $now,
    x.statusHistory = x.statusHistory + [$to], x.statusTimes = x.statusTimes + [$now]
RETURN count(x) AS changed
"""

# A referral made from a referral code points at it: its uses are the referrals via it.
LINK_CODE = """
MATCH (x:Referral {id: $id}), (k:ReferralCode {code: $code})
CREATE (x)-[:VIA]->(k)
"""

CLOSE_REFERRAL = "MATCH (x:Referral {id: $id}) REMOVE x.openKey"

# step: "<referral>|step|<n>" for the n-th status; conversion: "<job>|converted".
CLAIM = """
MATCH (x:Referral {id: $id})
UNWIND $keys AS key
CREATE (x)-[:CLAIMED]->(:Claim {key: key, at: $now})
"""

JOB_FOR_CONVERSION = """
MATCH (j:Job {id: $jobId})
RETURN j.value AS value, head([(j)<-[:BOOKED]-(c:Customer) | c.id]) AS customerId,
       head([(j)-[:DONE_BY]->(p:Professional) | p.id]) AS professionalId,
       head([(j)<-[:CONVERTED_TO]-(r:Referral) | r.id]) AS referralId,
       j.confirmed = true AS confirmed
"""

# A conversion also keeps its days from SENT and the job's value on the referral, so that
# statistics over many referrals read two numbers rather than parse times and walk to the job
# (graph.measurement).
LINK_JOB = """
MATCH (x:Referral {id: $id}), (j:Job {id: $jobId})
CREATE (x)-[:CONVERTED_TO]->(j)
SET x.convertedDays = $days, x.convertedValue = coalesce(j.value, 0.0), x.jobId = j.id
"""

# Tries of a status change that a unique key refuses (see update_status).
STATUS_ATTEMPTS = 25

_FILTERS = """(k.status IS NULL OR x.status = k.status)
  AND (k.referrer IS NULL OR size([(x)<-[:MADE]-(a) WHERE a.id = k.referrer | 1]) > 0)"""


REFERRAL_PAGE_MAP = with_parties(REFERRAL_MAP, [
    f"head([(x)<-[:MADE]-(a) | {party_map('a')}])",
    f"head([(x)-[:FOR]->(p:Professional) | {party_map('p')}])",
    f"head([(x)-[:INTRODUCES]->(c:Customer) | {party_map('c')}])",
])


def _list(anchor: str) -> ListQuery:
    return newest_first(anchor, "createdAt", REFERRAL_PAGE_MAP, _FILTERS)


REFERRALS_FOR_PROFESSIONALS = _list("(:Professional {id: k.owner})<-[:FOR]-(x:Referral)")
REFERRALS_BY_PROFESSIONALS = _list("(:Professional {id: k.owner})-[:MADE]->(x:Referral)")
REFERRALS_BY_CUSTOMERS = _list("(:Customer {id: k.owner})-[:MADE]->(x:Referral)")
REFERRALS_TO_CUSTOMERS = _list("(:Customer {id: k.owner})<-[:INTRODUCES]-(x:Referral)")
# Over all referrals, read in widening windows of createdAt (see graph.lists).
ALL_REFERRALS = windowed_newest_first(
    "Referral", "createdAt", REFERRAL_PAGE_MAP, "$status IS NULL OR x.status = $status"
)


@dataclass(frozen=True)
class NewReferral:
    referrer_id: str
    professional_id: str
    referee_id: str
    note: str | None = None
    id: str | None = None
    # The normalised referral code it is made from (channel CODE); None for a direct referral.
    code: str | None = None


def _referrer_label(referrer_id: str) -> str:
    label = kind_of(referrer_id)
    if label not in ("Customer", "Professional"):
        raise ValidationError(
            f"{referrer_id!r} is neither a Customer nor a Professional id", ["input", "referrerId"]
        )
    return label


def open_key(referrer_id: str, professional_id: str, referee_id: str) -> str:
    return f"{referrer_id}|{professional_id}|{referee_id}"


async def create_referral(
    store: Store, data: NewReferral, viewer: Principal | None = None
) -> Referral:
    """Create a referral. ``viewer`` is the caller, when it may not read every referral: a
    re-used id of a referral it may not read is a CONFLICT that says only that the id is taken."""
    node_id = client_or_new_id(data.id, "Referral", ["input", "id"])
    label = _referrer_label(data.referrer_id)
    referrer_id = data.referrer_id
    professional_id = check_id(data.professional_id, "Professional", ["input", "professionalId"])
    referee_id = check_id(data.referee_id, "Customer", ["input", "refereeId"])
    note = rules.clean_note(data.note, ["input", "note"])
    if referrer_id == professional_id:
        raise SelfReferral("a professional cannot refer itself", ["input", "professionalId"])
    if referrer_id == referee_id:
        raise SelfReferral("a customer cannot be referred by itself", ["input", "refereeId"])
    key = open_key(referrer_id, professional_id, referee_id)
    ids = {"referrerId": referrer_id, "professionalId": professional_id, "refereeId": referee_id}

    def duplicate() -> Duplicate:
        return Duplicate(
            "an open referral for the same referrer, professional and referee exists"
        )

    async def create(tx: Tx) -> None:
        parties_query = (
            PARTIES_OF_CUSTOMER_REFERRAL if label == "Customer"
            else PARTIES_OF_PROFESSIONAL_REFERRAL
        )
        parties = await tx.one(parties_query, **ids)
        assert parties is not None
        for role, field in (
            ("referrer", "referrerId"), ("professional", "professionalId"), ("referee", "refereeId")
        ):
            if not parties[role]:
                # Fixed words: an unknown and an erased party give byte-identical errors.
                raise NotFound(f"no {role} with this id", ["input", field])
        if await tx.one(OPEN_REFERRAL, openKey=key) is not None:
            raise duplicate()
        create_query = (
            CREATE_CUSTOMER_REFERRAL if label == "Customer" else CREATE_PROFESSIONAL_REFERRAL
        )
        at = timeutil.now()
        await tx.run(
            create_query, id=node_id, verified=bool(parties["verified"]), note=note,
            now=timeutil.to_store(at), openKey=key,
            channel=(ReferralChannel.DIRECT if data.code is None else ReferralChannel.CODE).value,
            **ids,
        )
        if data.code is not None:
            await tx.run(LINK_CODE, id=node_id, code=data.code)
        await events.emit(tx, [events.referral_event(events.CREATED, node_id, at)])

    def readable(row: Row) -> bool:
        parties = (row["referrerId"], row["professionalId"], row["refereeId"])
        return viewer is None or can_read_referral(viewer, parties)

    return await create_once(
        store, label="Referral", node_id=node_id, read=REFERRAL_BY_ID, create=create,
        same={**ids, "note": note}, convert=Referral.from_row, on_constraint=duplicate,
        readable=readable,
    )


async def update_status(
    store: Store, referral_id: str, status: ReferralStatus, job_id: str | None = None
) -> Referral:
    check_id(referral_id, "Referral", ["input", "id"])
    if status is ReferralStatus.CONVERTED:
        if job_id is None:
            raise ValidationError("CONVERTED needs the id of the job", ["input", "jobId"])
        check_id(job_id, "Job", ["input", "jobId"])
    elif job_id is not None:
        raise ValidationError("jobId goes only with CONVERTED", ["input", "jobId"])

    async def work(tx: Tx) -> Referral:
        row = await tx.one(REFERRAL_BY_ID, id=referral_id)
        if row is None:
            raise NotFound(f"no referral {referral_id}", ["input", "id"])
        current = Referral.from_row(row["row"])
        if status not in TRANSITIONS[current.status]:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current.status])) or "none"
            raise InvalidTransition(
                f"a {current.status.value} referral cannot become {status.value} "
                f"(allowed: {allowed})",
                ["input", "status"],
            )
        job_value = None
        if job_id is not None:
            job_value = await _check_conversion_job(tx, current, job_id)
        at = timeutil.now()
        now = timeutil.to_store(at)
        keys = [f"{referral_id}|step|{len(current.history)}"]
        if job_id is not None:
            keys.append(f"{job_id}|converted")
        await tx.run(CLAIM, id=referral_id, keys=keys, now=now)
        changed = await tx.one(
            SET_STATUS, id=referral_id, **{"from": current.status.value}, to=status.value, now=now
        )
        if not changed or changed["changed"] != 1:
            raise InvalidTransition(
                "the referral changed meanwhile; read it again", ["input", "status"]
            )
        if status not in OPEN_STATUSES:
            await tx.run(CLOSE_REFERRAL, id=referral_id)
        if job_id is not None:
            await tx.run(LINK_JOB, id=referral_id, jobId=job_id,
                         days=(at - current.history[0].at) / timeutil.DAY)
        trigger = rewards.Trigger(
            referral_id=referral_id, referrer_id=current.referrer_id,
            professional_id=current.professional_id, referee_id=current.referee_id,
            status=status.value, verified=current.verified, counts=current.counts,
            cleared=current.review is not None
            and current.review.decision is ReviewDecision.CLEARED,
            job_value=job_value, at=at,
        )
        earned = await rewards.earnings(tx, trigger, store.review_threshold)
        await events.emit(tx, [
            events.referral_event(events.STATUS_CHANGED, referral_id, at, current.status.value),
            *(events.reward_event(events.REWARD_CREATED, {**row, "referralId": referral_id}, at)
              for row in earned),
        ])
        if earned:
            updated = await tx.one(CREATE_REWARDS_THEN_READ, id=referral_id,
                                   **rewards.params(trigger, earned))
        else:
            updated = await tx.one(REFERRAL_BY_ID, id=referral_id)
        assert updated is not None
        return Referral.from_row(updated["row"])

    # A unique key refused the change: another change of this referral (or of the job) got
    # there first, or another earning for the same referrer in the same program took the slot
    # this one read (graph.rewards). Read again and retry: the first case then ends in the
    # typed error that the new state gives, the second earns the next slot.
    for attempt in range(STATUS_ATTEMPTS):
        try:
            return await store.write(work)
        except ConstraintError:
            if attempt == STATUS_ATTEMPTS - 1:
                break
            await asyncio.sleep(random.uniform(0.005, 0.03) * min(attempt + 1, 8))
    raise InvalidTransition(
        "the referral (or the job) changed meanwhile; read it again", ["input", "status"]
    )


async def _check_conversion_job(tx: Tx, referral: Referral, job_id: str) -> float | None:
    """The job's value, if the referral may convert into it; a typed error otherwise."""
    job = await tx.one(JOB_FOR_CONVERSION, jobId=job_id)
    # A job of another professional is one the caller may not read: it gets the very error of
    # an unknown job, so that conversions cannot probe for jobs.
    if job is None or job["professionalId"] != referral.professional_id:
        raise NotFound("no job with this id", ["input", "jobId"])
    parties = (job["customerId"], job["professionalId"])
    if parties != (referral.referee_id, referral.professional_id):
        raise ValidationError(
            "the job must be between the referee and the referred professional", ["input", "jobId"]
        )
    if job["referralId"] is not None:
        raise ValidationError(
            f"the job already converted referral {job['referralId']}", ["input", "jobId"]
        )
    if not job["confirmed"]:
        # A referral converts only into a verified experience, never into a claim.
        raise ValidationError(
            "the job is not confirmed by its customer; a referral converts only into a "
            "confirmed job", ["input", "jobId"]
        )
    return None if job["value"] is None else float(job["value"])


async def referrals_by_ids(store: Store, ids: Sequence[str]) -> list[Referral | None]:
    rows = await store.read(REFERRALS_BY_IDS, ids=list(ids))
    found = {r["row"]["id"]: Referral.from_row(r["row"]) for r in rows}
    return [found.get(i) for i in ids]


def _referral_key(referral: Referral) -> tuple[str, str]:
    return (timeutil.to_store(referral.created_at), referral.id)


LIST_QUERIES = {
    "received": REFERRALS_FOR_PROFESSIONALS,
    "given": REFERRALS_BY_PROFESSIONALS,
    "made": REFERRALS_BY_CUSTOMERS,
    "introduced": REFERRALS_TO_CUSTOMERS,
}


async def referral_pages(store: Store, which: str, keys: Sequence[ListKey]) -> list[Page[Referral]]:
    """Pages of one kind of referral list (see ``LIST_QUERIES``), one round trip for all keys."""
    return await fetch_pages(store, LIST_QUERIES[which], keys, Referral.from_row, _referral_key)


async def list_referrals(
    store: Store,
    page: PageRequest,
    status: ReferralStatus | None = None,
    professional_id: str | None = None,
    referrer_id: str | None = None,
    total: bool = True,
) -> Page[Referral]:
    """Referrals newest first, anchored at the most selective filter given."""
    status_value = None if status is None else status.value
    if professional_id is not None:
        check_id(professional_id, "Professional", ["professionalId"])
        key = ListKey(professional_id, page, status_value, referrer_id, total)
        which = "received"
    elif referrer_id is not None:
        label = kind_of(referrer_id)
        if label not in ("Customer", "Professional"):
            raise ValidationError(f"{referrer_id!r} is not a referrer id", ["referrerId"])
        key = ListKey(referrer_id, page, status_value, total=total)
        which = "made" if label == "Customer" else "given"
    else:
        key = ListKey(None, page, status_value, total=total)
        return await fetch_windowed_page(
            store, ALL_REFERRALS, key, {"status": status_value}, Referral.from_row, _referral_key
        )
    return (await referral_pages(store, which, [key]))[0]
