"""Webhooks: endpoints that receive signed POSTs of referral events, and their deliveries.

A webhook belongs to a professional (events on referrals naming it or made by it), a network
(referrals whose professional is an active member) or the platform (every event; admins only),
the same reach as a subscriber of that owner (:func:`graph.events.visible_to`). Its secret is
kept sealed (:mod:`graph.sealing`); the API shows it once, when the webhook is made.

``(:Webhook {id, url, events, ownerId, ownerKey, secret, since, createdAt, active})`` with the
sender's bookkeeping: ``busy`` (it has deliveries not yet final), ``wakeAt`` (when its next
delivery is due, seconds since the epoch), ``holder`` and ``leaseUntil`` (the process sending
for it, and until when). ``since`` is the head of the outbox when it was made: it receives
the events numbered after it existed.

``(:Delivery {id: "<webhook>|<event>", webhookId, eventId, seq, kind, body, status, attempts,
lastResponseCode, lastAttemptAt, nextAttemptAt, dueAt, lane, createdAt})``, one per webhook and
event (the unique id). ``lane`` is ``<webhook>|new`` until a first attempt has finished, then
``<webhook>|retry`` until the delivery is final (DELIVERED or FAILED), when it is removed: the
sender reads a webhook's work by equality on it, never by scanning its history.

Fan-out (:func:`fan_out`) walks the numbered outbox with a cursor kept in the store
(``Counter {key: 'webhooks'}``): in one transaction it takes the cursor's lock, reads the next
page of events, matches them to webhooks, creates the deliveries, wakes their webhooks and
moves the cursor. Of several processes fanning out at once one commits at a time, so every
event is fanned out once, in order, whichever process runs; a process that dies mid-page
commits nothing, and the page is fanned out again by the next.

Sending is :mod:`graph.delivery`'s: a process leases a busy webhook (:func:`claim`), sends
its new deliveries in ``seq`` order and its due retries beside them, records each attempt
(:func:`record`) and gives the lease back when nothing is due (:func:`release`). A lease ends
by itself at ``leaseUntil``: a killed process's webhooks are taken over by another, which sends
again what the dead one had not recorded (at least once).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from graph import access, events, timeutil
from graph.access import Principal, Role
from graph.errors import NotFound, ValidationError
from graph.events import Event
from graph.ids import check_id, kind_of, new_id
from graph.lists import ListKey, fetch_pages, highest_first
from graph.pagination import Page, PageRequest, make_page
from graph.rewards import shown
from graph.sealing import SecretBox, new_secret
from graph.ssrf import Refused, check_url
from graph.store import ConstraintError, Row, Store, Tx

T = TypeVar("T")


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


# The owner key of platform-wide webhooks (their ownerId is null).
PLATFORM = "*"
OWNER_LABELS = ("Professional", "Network")
# Webhooks per owner: each is matched against every event its owner sees.
MAX_PER_OWNER = 20
# Events fanned out per transaction, and pages per call of fan_out_some.
FAN_OUT_PAGE = 200
FAN_OUT_PAGES = 10
PURGE_PAGE = 1000
ATTEMPTS = 5

WEBHOOK_MAP = "w {.id, .url, .events, .ownerId, .active, .createdAt}"
DELIVERY_MAP = """x {.id, .eventId, .seq, .kind, .status, .attempts, .lastResponseCode,
  .lastAttemptAt, .nextAttemptAt}"""
PENDING_MAP = "d {.id, .eventId, .seq, .body, .attempts}"

OWNER_EXISTS = {
    "Professional": "MATCH (o:Professional {id: $id}) RETURN o.id AS id",
    "Network": "MATCH (o:Network {id: $id}) RETURN o.id AS id",
}

# A new webhook receives the events numbered after it was made: its ``since`` is the head of
# the outbox, read once the fan-out cursor's lock is taken. A fan-out running at the same time
# either committed before (whatever it covered is at or below that head) or waits for the new
# webhook and then sees it: no event after ``since`` passes it by.
LOCK_CURSOR = """
MERGE (c:Counter {key: 'webhooks'})
ON CREATE SET c.value = 0
SET c.turns = coalesce(c.turns, 0) + 1
WITH c
OPTIONAL MATCH (h:Counter {key: 'events'})
RETURN coalesce(h.value, 0) AS head
"""
OWNED = "MATCH (w:Webhook {ownerKey: $ownerKey}) RETURN count(w) AS n"
CREATE_WEBHOOK = f"""
CREATE (w:Webhook {{id: $id, url: $url, events: $events, ownerId: $ownerId,
  ownerKey: $ownerKey, secret: $secret, since: $since, createdAt: $now, active: true}})
RETURN {WEBHOOK_MAP} AS row
"""
WEBHOOKS_BY_IDS = f"""
UNWIND $ids AS id
MATCH (w:Webhook {{id: id}})
WHERE w.active = true
RETURN {WEBHOOK_MAP} AS row
"""
WEBHOOKS_OF_OWNERS = f"""
UNWIND $owners AS owner
MATCH (w:Webhook {{ownerKey: owner}})
WHERE $after IS NULL OR w.id > $after
WITH w ORDER BY w.id LIMIT $limit
RETURN {WEBHOOK_MAP} AS row
"""
COUNT_OF_OWNERS = """
UNWIND $owners AS owner
MATCH (w:Webhook {ownerKey: owner})
RETURN count(w) AS total
"""
# Deleting takes the webhook out of every read and of fan-out at once; its deliveries are
# removed afterwards, a page at a time, by the sender (:func:`purge`).
DELETE_WEBHOOK = """
MATCH (w:Webhook {id: $id})
WHERE w.active = true
SET w.active = false, w.deletedAt = $now, w.busy = false
REMOVE w.ownerKey, w.secret
RETURN w.id AS id
"""

DELIVERIES_OF_WEBHOOKS = highest_first(
    "(x:Delivery {webhookId: k.owner})", "seq", DELIVERY_MAP,
    "k.status IS NULL OR x.status = k.status")

# ---------------------------------------------------------------- fan-out

CURSOR_STATE = """
MATCH (c:Counter {key: 'webhooks'})
OPTIONAL MATCH (h:Counter {key: 'events'})
RETURN c.value AS value, coalesce(h.value, 0) AS head
"""
TAKE_CURSOR = """
MATCH (c:Counter {key: 'webhooks'})
SET c.turns = coalesce(c.turns, 0) + 1
WITH c
OPTIONAL MATCH (h:Counter {key: 'events'})
RETURN c.value AS value, coalesce(h.value, 0) AS head
"""
# Events up to the lowest ``since`` of the live webhooks match none: skipped unread.
LOWEST_SINCE = "MATCH (w:Webhook {active: true}) RETURN min(w.since) AS since"
HOOKS_OF_OWNERS = """
UNWIND $owners AS owner
MATCH (w:Webhook {ownerKey: owner})
RETURN w.id AS id, w.ownerId AS ownerId, w.events AS events, w.since AS since
"""
CREATE_DELIVERIES = """
UNWIND $rows AS r
MERGE (d:Delivery {id: r.id})
ON CREATE SET d.webhookId = r.webhookId, d.eventId = r.eventId, d.seq = r.seq, d.kind = r.kind,
  d.body = r.body, d.status = 'PENDING', d.attempts = 0, d.lane = r.lane, d.createdAt = $now,
  d.nextAttemptAt = $now, d.dueAt = $epoch
"""
WAKE = """
UNWIND $ids AS id
MATCH (w:Webhook {id: id})
SET w.busy = true, w.wakeAt = $epoch
"""
MOVE_CURSOR = "MATCH (c:Counter {key: 'webhooks'}) SET c.value = $value"

# ---------------------------------------------------------------- leases and sending

# Busy webhooks whose next delivery is due and that no live lease holds.
DUE = """
MATCH (w:Webhook {busy: true})
WHERE w.wakeAt <= $now AND (w.leaseUntil IS NULL OR w.leaseUntil < $now)
RETURN w.id AS id
ORDER BY w.wakeAt
LIMIT $limit
"""
# The lock is taken (SET) before the lease is read: of two processes claiming one webhook, the
# second reads the first one's lease once the first has committed (the embedded store refuses
# the second commit instead, and it is retried).
CLAIM = """
UNWIND $ids AS id
MATCH (w:Webhook {id: id})
SET w.turns = coalesce(w.turns, 0) + 1
WITH w
WHERE w.busy = true AND w.active = true AND w.wakeAt <= $now
  AND (w.leaseUntil IS NULL OR w.leaseUntil < $now)
SET w.holder = $holder, w.leaseUntil = $until
RETURN w.id AS id, w.url AS url, w.secret AS secret
"""
RENEW = """
UNWIND $ids AS id
MATCH (w:Webhook {id: id})
SET w.turns = coalesce(w.turns, 0) + 1
WITH w
WHERE w.holder = $holder
SET w.leaseUntil = $until
RETURN w.id AS id
"""
# Leases given back by a process that stops: their webhooks are due again at once.
DROP_LEASES = """
UNWIND $ids AS id
MATCH (w:Webhook {id: id})
WHERE w.holder = $holder
SET w.holder = null, w.leaseUntil = null, w.wakeAt = $now
"""
NEXT_WORK = f"""
MATCH (w:Webhook {{id: $id}})
CALL (w) {{
  MATCH (d:Delivery {{lane: $fresh}})
  WHERE d.webhookId = w.id AND ($after IS NULL OR d.seq > $after)
  WITH d ORDER BY d.seq LIMIT $freshLimit
  RETURN collect({PENDING_MAP}) AS fresh
}}
CALL (w) {{
  MATCH (d:Delivery {{lane: $retry}})
  WHERE d.webhookId = w.id AND d.dueAt <= $now
  WITH d ORDER BY d.dueAt LIMIT $retryLimit
  RETURN collect({PENDING_MAP}) AS due
}}
RETURN w.holder AS holder, w.active AS active, w.url AS url, fresh, due
"""
RECORD = """
UNWIND $rows AS r
MATCH (d:Delivery {id: r.id})
WHERE d.status = 'PENDING'
SET d.status = r.status, d.attempts = r.attempts, d.lastResponseCode = r.code,
    d.lastAttemptAt = r.at, d.nextAttemptAt = r.next, d.dueAt = r.dueAt, d.lane = r.lane
"""
LOCK_HOOK = """
MATCH (w:Webhook {id: $id})
SET w.turns = coalesce(w.turns, 0) + 1
RETURN w.holder AS holder, w.active AS active
"""
LANE = "MATCH (d:Delivery {lane: $lane}) RETURN count(d) AS n, min(d.dueAt) AS dueAt"
RELEASE = """
MATCH (w:Webhook {id: $id})
SET w.holder = null, w.leaseUntil = null, w.busy = $busy, w.wakeAt = $wakeAt
"""

DELETED = "MATCH (w:Webhook {active: false}) RETURN w.id AS id LIMIT $limit"
PURGE = """
MATCH (d:Delivery {webhookId: $id})
WITH d LIMIT $limit
DELETE d
RETURN count(*) AS n
"""
DROP_WEBHOOK = "MATCH (w:Webhook {id: $id}) WHERE w.active = false DELETE w"


# ---------------------------------------------------------------- domain objects

@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    owner_id: str | None
    active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Webhook:
        return cls(id=row["id"], url=row["url"], events=tuple(row["events"]),
                   owner_id=row.get("ownerId"), active=bool(row["active"]),
                   created_at=timeutil.from_store(row["createdAt"]))


@dataclass(frozen=True)
class Created:
    """A new webhook and its secret, in the clear this once."""

    webhook: Webhook
    secret: str


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    seq: int
    kind: str
    status: DeliveryStatus
    attempts: int
    last_response_code: int | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        last, due = row.get("lastAttemptAt"), row.get("nextAttemptAt")
        code = row.get("lastResponseCode")
        return cls(id=row["id"], event_id=row["eventId"], seq=int(row["seq"]),
                   kind=row["kind"], status=DeliveryStatus(row["status"]),
                   attempts=int(row["attempts"]),
                   last_response_code=None if code is None else int(code),
                   last_attempt_at=None if last is None else timeutil.from_store(last),
                   next_attempt_at=None if due is None else timeutil.from_store(due))


@dataclass(frozen=True)
class NewWebhook:
    url: str
    events: Sequence[str]
    owner_id: str | None = None


@dataclass(frozen=True)
class Config:
    """What making a webhook needs beside the store: the key box that seals its secret, and
    whether private addresses and plain http are allowed (RG_WEBHOOKS_ALLOW_PRIVATE)."""

    box: SecretBox
    allow_private: bool = False


# ---------------------------------------------------------------- who and what

def owner_kind(owner_id: str | None, field: Sequence[str]) -> str | None:
    """The owner's label by its id: a professional, a network, or None (platform-wide)."""
    if owner_id is None:
        return None
    kind = kind_of(owner_id)
    if kind not in OWNER_LABELS:
        raise ValidationError("a webhook's owner is a professional (pro_...), a network "
                              "(net_...), or null for platform-wide", field)
    return kind


def owner_key(owner_id: str | None) -> str:
    return PLATFORM if owner_id is None else owner_id


def owner_principal(owner_id: str | None) -> Principal:
    """Whom a webhook receives events as: its professional, an organiser of its network, or an
    admin for a platform-wide one. The reward rule asks this principal.

    >>> owner_principal("net_1").networks, owner_principal(None).admin
    (frozenset({'net_1'}), True)
    """
    if owner_id is None:
        return Principal(Role.ADMIN)
    if kind_of(owner_id) == "Network":
        return Principal(Role.ORGANISER, None, frozenset({owner_id}))
    return Principal(Role.PROFESSIONAL, owner_id)


def own_owners(p: Principal) -> list[str] | None:
    """The owner keys of the webhooks ``p`` lists when it names no owner: a professional its
    own, an organiser its networks', an admin the platform-wide ones; None for a customer."""
    if p.admin:
        return [PLATFORM]
    if p.role is Role.PROFESSIONAL and p.sub is not None:
        return [p.sub]
    if p.role is Role.ORGANISER:
        return sorted(p.networks)
    return None


def clean_events(kinds: Sequence[str], field: Sequence[str]) -> list[str]:
    """The kinds a webhook receives, each once, in the order of :data:`graph.events.KINDS`.

    >>> clean_events(["STATUS_CHANGED", "CREATED", "CREATED"], ["events"])
    ['CREATED', 'STATUS_CHANGED']
    """
    chosen = {str(k) for k in kinds}
    unknown = chosen - set(events.KINDS)
    if unknown:
        raise ValidationError(f"unknown event kinds: {', '.join(sorted(unknown))}", field)
    if not chosen:
        raise ValidationError("a webhook receives at least one kind of event", field)
    return [k for k in events.KINDS if k in chosen]


def event_owners(event: Event) -> set[str]:
    """The owner keys of the webhooks that may receive ``event``."""
    keys = {PLATFORM, *event.networks}
    keys.update(p for p in (event.professional_id, event.referrer_id) if p is not None)
    return keys


def body(event: Event, webhook_id: str, with_reward: bool) -> str:
    """The JSON a delivery POSTs: ids, statuses and the reward's amount, no personal data.
    The reward's fields are null unless the webhook's owner may read the reward."""
    reward = with_reward and event.reward_id is not None
    document = {
        "id": event.id, "kind": event.kind, "at": timeutil.to_store(event.at),
        "seq": event.seq, "webhookId": webhook_id, "referralId": event.referral_id,
        "status": event.status, "fromStatus": event.from_status,
        "rewardId": event.reward_id if reward else None,
        "rewardStatus": event.reward_status if reward else None,
        "rewardFromStatus": event.reward_from if reward else None,
        "amount": (shown(event.amount, event.unit or "")
                   if reward and event.amount is not None else None),
        "unit": event.unit if reward else None,
    }
    return json.dumps(document, separators=(",", ":"))


def plan(found: Sequence[Event], hooks: Sequence[Row]) -> list[Row]:
    """The deliveries of ``found`` events to the candidate ``hooks`` (rows of
    :data:`HOOKS_OF_OWNERS`): kinds chosen, numbered after the webhook was made, on referrals
    its owner may see; the reward in the body only where the owner may read it."""
    by_owner: dict[str, list[Row]] = {}
    for hook in hooks:
        by_owner.setdefault(owner_key(hook["ownerId"]), []).append(hook)
    rows = []
    for event in found:
        for key in sorted(event_owners(event)):
            for hook in by_owner.get(key, ()):
                if event.kind not in hook["events"] or event.seq <= int(hook["since"]):
                    continue
                owner = owner_principal(hook["ownerId"])
                if not events.visible_to(owner, event):
                    continue
                with_reward = event.reward_id is not None and access.can_read_reward(
                    owner, event.recipient_id or "", event.owner_id or "")
                rows.append({
                    "id": f"{hook['id']}|{event.id}", "webhookId": hook["id"],
                    "eventId": event.id, "seq": event.seq, "kind": event.kind,
                    "body": body(event, hook["id"], with_reward), "lane": fresh_lane(hook["id"]),
                })
    return rows


def fresh_lane(webhook_id: str) -> str:
    return f"{webhook_id}|new"


def retry_lane(webhook_id: str) -> str:
    return f"{webhook_id}|retry"


# ---------------------------------------------------------------- the API's writes and reads

async def _url(url: str, config: Config) -> str:
    cleaned = url.strip()
    try:
        await check_url(cleaned, allow_private=config.allow_private)
    except Refused as exc:
        raise ValidationError(str(exc), ["input", "url"]) from None
    return cleaned


async def create_webhook(store: Store, new: NewWebhook, config: Config) -> Created:
    """Checks every rule, then writes; the caller has checked that it manages the owner."""
    kind = owner_kind(new.owner_id, ["input", "ownerId"])
    kinds = clean_events(new.events, ["input", "events"])
    url = await _url(new.url, config)
    secret = new_secret()
    params = {"id": new_id("whk"), "url": url, "events": kinds, "ownerId": new.owner_id,
              "ownerKey": owner_key(new.owner_id), "secret": config.box.seal(secret)}

    async def work(tx: Tx) -> Webhook:
        if kind is not None and await tx.one(OWNER_EXISTS[kind], id=new.owner_id) is None:
            raise NotFound(f"no {kind.lower()} {new.owner_id}", ["input", "ownerId"])
        owned = await tx.one(OWNED, ownerKey=params["ownerKey"])
        if owned is not None and int(owned["n"]) >= MAX_PER_OWNER:
            raise ValidationError(f"at most {MAX_PER_OWNER} webhooks per owner",
                                  ["input", "ownerId"])
        cursor = await tx.one(LOCK_CURSOR)
        since = 0 if cursor is None else int(cursor["head"])
        row = await tx.one(CREATE_WEBHOOK, **params, since=since,
                           now=timeutil.to_store(timeutil.now()))
        assert row is not None
        return Webhook.from_row(row["row"])

    webhook = await _retrying(store, work)
    return Created(webhook, secret)


async def _bookkeeping(store: Store, query: str, **params: object) -> list[Row]:
    """One statement of the sender's own bookkeeping: not a change of data, so it neither
    counts towards the analytics refresh nor nudges the pumps."""

    async def work(tx: Tx) -> list[Row]:
        return await tx.run(query, **params)

    return await store.write(work, counted=False)


async def _retrying(store: Store, work: Callable[[Tx], Awaitable[T]]) -> T:
    for attempt in range(ATTEMPTS):
        try:
            return await store.write(work, counted=False)
        except ConstraintError:
            # The embedded store refuses one of two concurrent MERGEs creating the cursor.
            if attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")


async def delete_webhook(store: Store, webhook_id: str) -> str:
    check_id(webhook_id, "Webhook", ["id"])

    async def work(tx: Tx) -> str:
        row = await tx.one(DELETE_WEBHOOK, id=webhook_id, now=timeutil.to_store(timeutil.now()))
        if row is None:
            raise NotFound(f"no webhook {webhook_id}", ["id"])
        return str(row["id"])

    return await store.write(work, counted=False)


async def webhooks_by_ids(store: Store, ids: Sequence[str]) -> list[Webhook | None]:
    rows = await store.read(WEBHOOKS_BY_IDS, ids=list(ids))
    found = {r["row"]["id"]: Webhook.from_row(r["row"]) for r in rows}
    return [found.get(i) for i in ids]


async def webhooks_of_owners(store: Store, owners: Sequence[str], page: PageRequest,
                             total: bool = True) -> Page[Webhook]:
    """Webhooks of these owner keys, oldest first (ids sort by creation)."""
    after = page.after[0] if page.after else None
    rows = await store.read(WEBHOOKS_OF_OWNERS, owners=list(owners), after=after,
                            limit=page.first + 1)
    found = sorted((Webhook.from_row(r["row"]) for r in rows), key=lambda w: w.id)
    count = 0
    if total:
        counted = await store.read(COUNT_OF_OWNERS, owners=list(owners))
        count = sum(int(r["total"]) for r in counted)
    return make_page(found[: page.first + 1], page, count, lambda w: (w.id,))


async def delivery_pages(store: Store, keys: Sequence[ListKey]) -> list[Page[Delivery]]:
    """Pages of each webhook's deliveries, newest event first; ``ListKey.status`` filters."""
    return await fetch_pages(store, DELIVERIES_OF_WEBHOOKS, keys, Delivery.from_row,
                             lambda d: (str(d.seq),))


# ---------------------------------------------------------------- fan-out

async def fan_out(store: Store, page: int = FAN_OUT_PAGE, woken: set[str] | None = None) -> int:
    """Fan the next page of numbered events out into deliveries; how many events it covered
    (0 when the cursor is at the head, or no webhook was ever made). The webhooks that got
    deliveries are added to ``woken``."""
    rows = await store.read(CURSOR_STATE)
    if not rows or rows[0]["value"] is None or int(rows[0]["value"]) >= int(rows[0]["head"]):
        return 0

    got: list[str] = []

    async def work(tx: Tx) -> int:
        got.clear()  # a retried transaction starts again
        state = await tx.one(TAKE_CURSOR)
        if state is None:
            return 0
        cursor, head = int(state["value"]), int(state["head"])
        if cursor >= head:
            return 0
        lowest = await tx.one(LOWEST_SINCE)
        since = None if lowest is None or lowest["since"] is None else int(lowest["since"])
        start = head if since is None else max(cursor, min(since, head))
        last = min(head, start + page)
        if last > start:
            found = await tx.run(events.EVENTS_BY_SEQ, seqs=list(range(start + 1, last + 1)))
            numbered = _contiguous([Event.from_row(r["row"], r["networks"]) for r in found],
                                   start)
            if not numbered:
                return 0  # numbered but not readable yet: next time
            last = numbered[-1].seq
            got.extend(await _deliver(tx, numbered))
        await tx.run(MOVE_CURSOR, value=last)
        return last - cursor

    covered = await _retrying(store, work)
    if woken is not None:
        woken.update(got)
    return covered


def _contiguous(found: Sequence[Event], after: int) -> list[Event]:
    """The events numbered ``after + 1`` onwards without a gap."""
    out: list[Event] = []
    for event in sorted(found, key=lambda e: e.seq):
        if event.seq != after + len(out) + 1:
            break
        out.append(event)
    return out


async def _deliver(tx: Tx, numbered: Sequence[Event]) -> list[str]:
    """Deliveries of ``numbered`` to the webhooks that want them; those webhooks' ids."""
    owners = sorted(set().union(*(event_owners(e) for e in numbered)))
    hooks = await tx.run(HOOKS_OF_OWNERS, owners=owners)
    rows = plan(numbered, hooks)
    if not rows:
        return []
    now, epoch = timeutil.to_store(timeutil.now()), time.time()
    ids = sorted({r["webhookId"] for r in rows})
    await tx.run(CREATE_DELIVERIES, rows=rows, now=now, epoch=epoch)
    await tx.run(WAKE, ids=ids, epoch=epoch)
    return ids


async def fan_out_some(store: Store, pages: int = FAN_OUT_PAGES,
                       woken: set[str] | None = None) -> int:
    """Up to ``pages`` pages of fan-out; how many events they covered (the webhooks that got
    deliveries are added to ``woken``)."""
    done = 0
    for _ in range(pages):
        covered = await fan_out(store, woken=woken)
        if covered == 0:
            break
        done += covered
    return done


# ---------------------------------------------------------------- leases and attempts

@dataclass(frozen=True)
class Held:
    """A webhook this process holds the lease of."""

    id: str
    url: str
    secret: str  # sealed


@dataclass(frozen=True)
class Pending:
    id: str
    event_id: str
    seq: int
    body: str
    attempts: int

    @classmethod
    def from_row(cls, row: Row) -> Pending:
        return cls(id=row["id"], event_id=row["eventId"], seq=int(row["seq"]),
                   body=row["body"], attempts=int(row["attempts"]))


@dataclass(frozen=True)
class Work:
    """A held webhook's next work: new deliveries in seq order, and retries now due."""

    url: str
    fresh: list[Pending]
    due: list[Pending]


@dataclass(frozen=True)
class Attempt:
    """What an attempt came to. ``next_at``: when to try again (None when final)."""

    delivery_id: str
    webhook_id: str
    attempts: int
    status: DeliveryStatus
    code: int | None
    at: datetime
    next_at: datetime | None

    def row(self) -> Row:
        lane = retry_lane(self.webhook_id) if self.status is DeliveryStatus.PENDING else None
        return {"id": self.delivery_id, "status": self.status.value, "attempts": self.attempts,
                "code": self.code, "at": timeutil.to_store(self.at),
                "next": None if self.next_at is None else timeutil.to_store(self.next_at),
                "dueAt": None if self.next_at is None else self.next_at.timestamp(),
                "lane": lane}


async def due(store: Store, limit: int, now: float | None = None) -> list[str]:
    """Busy webhooks with work due that no live lease holds."""
    rows = await store.read(DUE, now=time.time() if now is None else now, limit=limit)
    return [r["id"] for r in rows]


async def claim(store: Store, ids: Sequence[str], holder: str, lease: float) -> list[Held]:
    """Lease those of ``ids`` that are still due and free; the ones leased."""
    if not ids:
        return []
    now = time.time()

    async def work(tx: Tx) -> list[Held]:
        rows = await tx.run(CLAIM, ids=list(ids), holder=holder, now=now, until=now + lease)
        return [Held(r["id"], r["url"], r["secret"]) for r in rows]

    return await store.write(work, counted=False)


async def renew(store: Store, ids: Iterable[str], holder: str, lease: float) -> set[str]:
    """Extend the leases ``holder`` still has among ``ids``; those it still has."""
    wanted = sorted(ids)
    if not wanted:
        return set()

    async def work(tx: Tx) -> set[str]:
        rows = await tx.run(RENEW, ids=wanted, holder=holder, until=time.time() + lease)
        return {r["id"] for r in rows}

    return await store.write(work, counted=False)


async def drop_leases(store: Store, ids: Iterable[str], holder: str) -> None:
    wanted = sorted(ids)
    if wanted:
        await _bookkeeping(store, DROP_LEASES, ids=wanted, holder=holder, now=time.time())


async def next_work(store: Store, webhook_id: str, holder: str, fresh: int,
                    retries: int, after: int | None = None) -> Work | None:
    """The held webhook's next work (new deliveries numbered after ``after``, when given);
    None when the lease is lost or the webhook deleted."""
    rows = await store.read(NEXT_WORK, id=webhook_id, fresh=fresh_lane(webhook_id),
                            retry=retry_lane(webhook_id), freshLimit=fresh,
                            retryLimit=retries, now=time.time(), after=after)
    if not rows or rows[0]["holder"] != holder or not rows[0]["active"]:
        return None
    row = rows[0]
    return Work(url=row["url"], fresh=sorted((Pending.from_row(d) for d in row["fresh"]),
                                             key=lambda p: p.seq),
                due=[Pending.from_row(d) for d in row["due"]])


async def record(store: Store, attempts: Sequence[Attempt]) -> None:
    if attempts:
        await _bookkeeping(store, RECORD, rows=[a.row() for a in attempts])


async def release(store: Store, webhook_id: str, holder: str) -> float | None:
    """Give the lease back; when the webhook has work left, when it is due (seconds since the
    epoch, now or later), else None. The lanes are counted after the webhook's lock is taken:
    a fan-out that committed first is seen, one that commits later wakes the webhook itself."""

    async def work(tx: Tx) -> float | None:
        state = await tx.one(LOCK_HOOK, id=webhook_id)
        if state is None or state["holder"] != holder:
            return None
        now = time.time()
        fresh = await tx.one(LANE, lane=fresh_lane(webhook_id))
        retry = await tx.one(LANE, lane=retry_lane(webhook_id))
        wake: float | None = None
        if state["active"] and fresh is not None and int(fresh["n"]) > 0:
            wake = now
        elif state["active"] and retry is not None and int(retry["n"]) > 0:
            wake = float(retry["dueAt"]) if retry["dueAt"] is not None else now
        await tx.run(RELEASE, id=webhook_id, busy=wake is not None, wakeAt=wake)
        return wake

    return await store.write(work, counted=False)


async def purge(store: Store, limit: int = PURGE_PAGE) -> int:
    """Remove up to ``limit`` deliveries of deleted webhooks, and the deleted webhooks left
    with none; how many deliveries went."""
    removed = 0
    while removed < limit:
        rows = await store.read(DELETED, limit=10)
        if not rows:
            break
        for row in rows:
            page = max(1, limit - removed)
            gone = await _bookkeeping(store, PURGE, id=row["id"], limit=page)
            n = int(gone[0]["n"]) if gone else 0
            removed += n
            if n < page:
                await _bookkeeping(store, DROP_WEBHOOK, id=row["id"])
            if removed >= limit:
                break
    return removed


__all__ = ["PLATFORM", "Attempt", "Config", "Created", "Delivery", "DeliveryStatus", "Held",
           "NewWebhook", "Pending", "Webhook", "Work", "body", "claim", "clean_events",
           "create_webhook", "delete_webhook", "delivery_pages", "drop_leases", "due",
           "fan_out", "fan_out_some", "next_work", "own_owners", "owner_kind", "owner_principal",
           "plan", "purge", "record", "release", "renew", "webhooks_by_ids",
           "webhooks_of_owners"]
