"""Referral events: an outbox in the store, numbered, and read by any service process.

Every change of a referral or a reward writes an ``Event`` node in the transaction that makes
the change (:func:`emit`), so that a change never commits without its event nor an event without
its change. The event is written ``pending``: it has no number yet.

Numbers come from a sequencer (:func:`sequence`), which every process runs: in one transaction
it takes the counter's write lock, numbers the pending events it finds (oldest first) with the
next numbers and clears their mark. A transaction that commits late leaves its event pending
until then, and it is numbered after everything numbered before: readers that walk the numbers
one after another (subscriptions, webhook fan-out) never skip an event, whatever the order in
which the writing transactions committed. Of two sequencers, the counter lets one commit at a
time (Neo4j's lock; the embedded store refuses the second, which is retried).

Numbers are read by equality (``UNWIND $seqs``): the embedded store serves an equality lookup
from the index, not a range over it.

:class:`Pump` is one process's reader: it sequences, reads each new event once and hands it to
the process's subscribers (subscriptions, webhook fan-out). Its poll (``RG_EVENT_POLL``) bounds how
late another process's event arrives; a write of this process nudges it at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from graph import timeutil
from graph.access import Principal, Role
from graph.ids import new_id
from graph.store import ConstraintError, Row, Store, Tx

log = logging.getLogger(__name__)



class EventKind(StrEnum):
    CREATED = "CREATED"
    STATUS_CHANGED = "STATUS_CHANGED"
    REWARD_CREATED = "REWARD_CREATED"
    REWARD_STATUS_CHANGED = "REWARD_STATUS_CHANGED"
    REMINDER = "REMINDER"


CREATED = EventKind.CREATED.value
STATUS_CHANGED = EventKind.STATUS_CHANGED.value
REWARD_CREATED = EventKind.REWARD_CREATED.value
REWARD_STATUS_CHANGED = EventKind.REWARD_STATUS_CHANGED.value
REMINDER = EventKind.REMINDER.value
KINDS = tuple(k.value for k in EventKind)

# The parties of the referral are read where the event is written, so that a reader needs no
# second look at the referral to decide who may see the event.
EMIT = """
UNWIND $events AS e
MATCH (x:Referral {id: e.referralId})
WITH e, x, head([(x)<-[:MADE]-(a) | a.id]) AS referrerId,
     head([(x)-[:FOR]->(p:Professional) | p.id]) AS professionalId,
     head([(x)-[:INTRODUCES]->(c:Customer) | c.id]) AS refereeId
CREATE (:Event {id: e.id, kind: e.kind, at: e.at, referralId: x.id, referrerId: referrerId,
  professionalId: professionalId, refereeId: refereeId, status: x.status,
  fromStatus: e.fromStatus, rewardId: e.rewardId, rewardStatus: e.rewardStatus,
  rewardFrom: e.rewardFrom, amount: e.amount, unit: e.unit, recipientId: e.recipientId,
  ownerId: e.ownerId, pending: true})
"""

ANY_PENDING = "MATCH (e:Event {pending: true}) RETURN e.id AS id LIMIT 1"

# The counter's lock is taken (SET) before the pending events are read: a second sequencer
# waits for the first to commit and then sees its events numbered.
SEQUENCE = """
MERGE (c:Counter {key: 'events'})
ON CREATE SET c.value = 0
SET c.turns = coalesce(c.turns, 0) + 1
WITH c
MATCH (e:Event {pending: true})
WITH c, e ORDER BY e.at, e.id LIMIT $limit
WITH c, collect(e) AS events
WITH c, events, c.value AS base
UNWIND range(0, size(events) - 1) AS i
WITH c, base, events[i] AS e, base + i + 1 AS seq
SET e.seq = seq
REMOVE e.pending
WITH c, base, count(e) AS n
SET c.value = base + n
RETURN base, n
"""

HEAD = "MATCH (c:Counter {key: 'events'}) RETURN c.value AS value"

EVENT_MAP = """e {.id, .seq, .kind, .at, .referralId, .referrerId, .professionalId, .refereeId,
  .status, .fromStatus, .rewardId, .rewardStatus, .rewardFrom, .amount, .unit, .recipientId,
  .ownerId}"""

# With the networks the professional is an active member of now: their organisers may read.
EVENTS_BY_SEQ = f"""
UNWIND $seqs AS n
MATCH (e:Event {{seq: n}})
OPTIONAL MATCH (p:Professional {{id: e.professionalId}})
RETURN {EVENT_MAP} AS row,
       [(p)-[m:MEMBER_OF]->(w:Network) WHERE m.status = 'ACTIVE' | w.id] AS networks
ORDER BY row.seq
"""

EVENTS_BY_IDS = f"""
UNWIND $ids AS id
MATCH (e:Event {{id: id}})
OPTIONAL MATCH (p:Professional {{id: e.professionalId}})
RETURN {EVENT_MAP} AS row,
       [(p)-[m:MEMBER_OF]->(w:Network) WHERE m.status = 'ACTIVE' | w.id] AS networks
"""

# Events numbered per sequencing transaction, and read per page.
SEQUENCE_BATCH = 500
READ_PAGE = 500
SEQUENCE_ATTEMPTS = 5


@dataclass(frozen=True)
class Event:
    id: str
    seq: int
    kind: str
    at: datetime
    referral_id: str
    referrer_id: str | None
    professional_id: str | None
    referee_id: str | None
    # The referral's status after the change, and before it (STATUS_CHANGED).
    status: str | None
    from_status: str | None = None
    reward_id: str | None = None
    reward_status: str | None = None
    reward_from: str | None = None
    amount: int | None = None
    unit: str | None = None
    recipient_id: str | None = None
    # The reward program's owner (a professional or a network).
    owner_id: str | None = None
    networks: frozenset[str] = frozenset()

    @classmethod
    def from_row(cls, row: Row, networks: Sequence[str] = ()) -> Event:
        return cls(
            id=row["id"], seq=int(row["seq"]), kind=row["kind"],
            at=timeutil.from_store(row["at"]), referral_id=row["referralId"],
            referrer_id=row.get("referrerId"), professional_id=row.get("professionalId"),
            referee_id=row.get("refereeId"), status=row.get("status"),
            from_status=row.get("fromStatus"), reward_id=row.get("rewardId"),
            reward_status=row.get("rewardStatus"), reward_from=row.get("rewardFrom"),
            amount=None if row.get("amount") is None else int(row["amount"]),
            unit=row.get("unit"), recipient_id=row.get("recipientId"),
            owner_id=row.get("ownerId"), networks=frozenset(networks),
        )

    @property
    def parties(self) -> tuple[str | None, str | None, str | None]:
        return (self.referrer_id, self.professional_id, self.referee_id)


# ---------------------------------------------------------------- writing

def referral_event(kind: str, referral_id: str, at: datetime,
                   from_status: str | None = None) -> Row:
    """A row of :data:`EMIT` for a referral's creation, status change or reminder."""
    return {"id": new_id("evt"), "kind": kind, "at": timeutil.to_store(at),
            "referralId": referral_id, "fromStatus": from_status}


def reward_event(kind: str, reward: Row, at: datetime, from_status: str | None = None) -> Row:
    """A row of :data:`EMIT` for a reward (``reward``: id, referralId, status, amount, unit,
    recipientId, ownerId) created or moved from ``from_status``."""
    return {"id": new_id("evt"), "kind": kind, "at": timeutil.to_store(at),
            "referralId": reward["referralId"], "rewardId": reward["id"],
            "rewardStatus": reward["status"], "rewardFrom": from_status,
            "amount": int(reward["amount"]), "unit": reward["unit"],
            "recipientId": reward["recipientId"], "ownerId": reward["ownerId"]}


async def emit(tx: Tx, events: Sequence[Row]) -> None:
    """Write ``events`` in the transaction ``tx`` that makes their changes."""
    if events:
        await tx.run(EMIT, events=list(events))


# ---------------------------------------------------------------- numbering and reading

async def sequence(store: Store, limit: int = SEQUENCE_BATCH) -> int:
    """Number pending events, oldest first, up to ``limit`` in one transaction; how many."""

    async def work(tx: Tx) -> int:
        row = await tx.one(SEQUENCE, limit=limit)
        return 0 if row is None else int(row["n"])

    for attempt in range(SEQUENCE_ATTEMPTS):
        try:
            # Not a change of data: it neither counts towards the analytics refresh nor
            # nudges the pumps.
            return await store.write(work, counted=False)
        except ConstraintError:
            # The embedded store refuses one of two concurrent MERGEs creating the counter.
            if attempt == SEQUENCE_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.02 * (attempt + 1))
    return 0


async def sequence_all(store: Store) -> int:
    """Number every pending event; how many."""
    total = 0
    while await store.read(ANY_PENDING):
        numbered = await sequence(store)
        total += numbered
        if numbered == 0:
            break
    return total


async def head(store: Store) -> int:
    """The number of the last numbered event (0 before the first)."""
    rows = await store.read(HEAD)
    return int(rows[0]["value"]) if rows and rows[0]["value"] is not None else 0


async def events_after(store: Store, after: int, upto: int,
                       page: int = READ_PAGE) -> list[Event]:
    """Events numbered ``after + 1`` to ``upto`` (at most ``page`` of them), in order."""
    last = min(upto, after + page)
    if last <= after:
        return []
    rows = await store.read(EVENTS_BY_SEQ, seqs=list(range(after + 1, last + 1)))
    return [Event.from_row(r["row"], r["networks"]) for r in rows]


async def events_by_ids(store: Store, ids: Sequence[str]) -> list[Event | None]:
    rows = await store.read(EVENTS_BY_IDS, ids=list(ids))
    found = {r["row"]["id"]: r for r in rows}
    out: list[Event | None] = []
    for i in ids:
        r = found.get(i)
        out.append(None if r is None or r["row"].get("seq") is None
                   else Event.from_row(r["row"], r["networks"]))
    return out


# ---------------------------------------------------------------- who sees what

def visible_to(p: Principal, event: Event) -> bool:
    """Events on referrals ``p`` may read: a party to them, an organiser of a network its
    professional is an active member of, an admin.

    >>> e = Event("evt_1", 1, CREATED, timeutil.now(), "ref_1", "cus_1", "pro_1", "cus_2",
    ...           "SENT", networks=frozenset({"net_1"}))
    >>> org = Principal(Role.ORGANISER, "o", frozenset({"net_1"}))
    >>> [visible_to(p, e) for p in (Principal(Role.CUSTOMER, "cus_2"),
    ...                             Principal(Role.PROFESSIONAL, "pro_2"), org)]
    [True, False, True]
    """
    if p.admin or any(p.is_(party) for party in event.parties):
        return True
    return p.role is Role.ORGANISER and bool(p.networks & event.networks)


def narrowed(event: Event, professional_id: str | None, network_id: str | None) -> bool:
    """Whether ``event`` passes a subscription's narrowing: a professional (named by the
    referral, or its referrer) and a network (its professional an active member)."""
    if professional_id is not None and professional_id not in (
        event.professional_id, event.referrer_id
    ):
        return False
    return network_id is None or network_id in event.networks


# ---------------------------------------------------------------- one process's reader

async def poll_loop(step: Callable[[], Awaitable[object]], wake: asyncio.Event, poll: float,
                    what: str, gather: float = 0.0) -> None:
    """Run ``step`` forever, each time after ``wake`` is set or ``poll`` seconds, whichever
    comes first; a failing step is logged and tried again (the store may be away a while).
    Woken, it first waits ``gather`` seconds more: the changes that follow one another closely
    (a busy API, a batch) are then taken in one step rather than one step each."""
    while True:
        wake.clear()
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(f"{what} step failed", extra={"error": str(exc)})
        woken = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(poll):
                await wake.wait()
                woken = True
        if woken and gather > 0:
            await asyncio.sleep(gather)


Listener = Callable[[Sequence[Event]], None]

# Seconds the pump waits, once nudged, for more changes to take in the same step.
GATHER = 0.02


class Pump:
    """Sequences and reads the outbox for one process; hands new events to its listeners.

    It starts at the head of the outbox: a subscriber receives the events numbered after it
    subscribed. Listeners are called in the pump's task and must not block (they put events
    on queues)."""

    def __init__(self, store: Store, poll: float = 0.25) -> None:
        self.store = store
        self.poll = poll
        self.cursor: int | None = None
        self._listeners: set[Listener] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def nudge(self) -> None:
        """Look now rather than at the next poll (a write of this process may have made
        events)."""
        self._wake.set()

    def listen(self, listener: Listener) -> Callable[[], None]:
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    async def subscribe(self) -> AsyncIterator[Event]:
        """Every event numbered from now on, in order, as long as the iterator is open."""
        queue: asyncio.Queue[Event] = asyncio.Queue()

        def put(events: Sequence[Event]) -> None:
            for event in events:
                queue.put_nowait(event)

        stop = self.listen(put)
        self.nudge()
        try:
            while True:
                yield await queue.get()
        finally:
            stop()

    async def step(self) -> int:
        """Sequence what is pending, then hand out what is new; how many were handed out."""
        if self.cursor is None:
            self.cursor = await head(self.store)
        if await self.store.read(ANY_PENDING):
            await sequence(self.store)
        last = await head(self.store)
        handed = 0
        while self.cursor < last:
            events = await events_after(self.store, self.cursor, last)
            if not events:
                break  # numbered but not yet readable here: next time
            self.cursor = events[-1].seq
            handed += len(events)
            for listener in list(self._listeners):
                try:
                    listener(events)
                except Exception:
                    log.exception("event listener failed")
        return handed

    async def run(self) -> None:
        await poll_loop(self.step, self._wake, self.poll, "event pump", GATHER)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="event-pump")
            self.store.after_write.append(self.nudge)

    async def stop(self) -> None:
        if self.nudge in self.store.after_write:
            self.store.after_write.remove(self.nudge)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Overflow(Exception):
    """A subscriber fell more than its backlog behind: its feed stopped taking events."""

    def __init__(self, backlog: int) -> None:
        super().__init__(f"more than {backlog} events waited for this subscriber")
        self.backlog = backlog


class Feed:
    """One subscriber's events from a pump: those ``accept`` lets through, in order, from the
    moment the feed is made (it listens at once, not at its first read).

    ``accept`` runs in the pump's task for every event and must be cheap. A subscriber that
    lets more than ``backlog`` events wait is cut off rather than let its queue grow: it
    reads what waited, then :class:`Overflow`. :meth:`close` stops listening (an overflow
    does too), so a feed that nobody reads any more holds at most ``backlog`` events."""

    def __init__(self, pump: Pump, accept: Callable[[Event], bool], backlog: int) -> None:
        self.accept = accept
        self.backlog = backlog
        self.overflowed = False
        self._waiting: collections.deque[Event] = collections.deque()
        self._ready = asyncio.Event()
        self._stop = pump.listen(self._put)
        pump.nudge()

    def _put(self, events: Sequence[Event]) -> None:
        for event in events:
            if not self.accept(event):
                continue
            if len(self._waiting) >= self.backlog:
                self.overflowed = True
                self.close()
                break
            self._waiting.append(event)
        self._ready.set()

    def close(self) -> None:
        self._stop()

    def __aiter__(self) -> Feed:
        return self

    async def __anext__(self) -> Event:
        while not self._waiting:
            if self.overflowed:
                raise Overflow(self.backlog)
            self._ready.clear()
            await self._ready.wait()
        return self._waiting.popleft()


def event_filter(p: Principal, professional_id: str | None,
                 network_id: str | None) -> Callable[[Event], bool]:
    return lambda e: visible_to(p, e) and narrowed(e, professional_id, network_id)


__all__ = ["KINDS", "Event", "EventKind", "Feed", "Overflow", "Pump", "emit", "event_filter",
           "events_after", "head", "narrowed", "referral_event", "reward_event", "sequence",
           "sequence_all", "visible_to"]
