"""Export and import: referral tables for people, whole-network bundles for operators.

Three shapes of data leave or enter the store here:

- the **referral table** (``GET /export/referrals.csv`` and ``.jsonl``): one row per referral
  with the columns of :data:`COLUMNS`, newest first, read in keyset pages of :data:`PAGE` rows so
  that an export of any size holds one page in memory; confirmed fraud is left out;
- the **bundle** (``referral-graph export`` / ``import``): JSON lines, one object per line with a
  ``kind`` (:data:`KINDS`), that carry a whole network exactly (every stored property but those
  the analytics batch computes, which the import recomputes); confirmed jobs only;
- a party's **own data** (``GET /export/me.json``).

An import validates every row with the rules of the API (:mod:`graph.rules`, the lifecycle of
:data:`graph.models.TRANSITIONS`, the ids of :mod:`graph.ids`, the referral rules of
:mod:`graph.referrals`) before it writes anything, and reports bad rows by line number; only
a file without a bad row is loaded, in ``UNWIND $rows`` batches as :mod:`graph.bulk` loads
seeds. A bundle loads only into an empty store; a referral table into a store that holds its
parties. Should the store fail during the load, what the load wrote is deleted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import operator
import re
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from graph import bulk, codes, rules, timeutil
from graph.access import Principal, Role, display_name
from graph.bulk import Dataset
from graph.customers import ERASED_NAME
from graph.errors import DomainError, ValidationError
from graph.ids import check_id, kind_of
from graph.lists import (
    ListKey,
    fetch_id_window_page,
    windowed_by_id,
)
from graph.membership import MEMBER, MembershipStatus
from graph.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    ReferralChannel,
    ReferralStatus,
    ReviewDecision,
)
from graph.pagination import PageRequest
from graph.referrals import open_key
from graph.store import Row, Store

PAGE = 5000  # rows per read of an export
MICROSECOND = timedelta(microseconds=1)
WINDOWS_AHEAD = 2  # windows of an export read at once
BUNDLE_FORMAT = "referral-graph-bundle"
BUNDLE_VERSION = 1
# Bad rows reported one by one; past these, the rest are counted.
MAX_REPORTED = 100
LIST_SEPARATOR = ";"  # between the statuses (and times) of a history in a CSV cell

# ------------------------------------------------------------------------------ referral table

# The table's columns, in order. Names are the API's; times are ISO-8601 UTC.
COLUMNS = (
    "id", "createdAt", "updatedAt", "status", "channel", "verified",
    "referrerId", "referrerKind", "referrerName",
    "professionalId", "professionalName", "professionalTrade", "professionalArea",
    "refereeId", "refereeName", "jobId", "jobValue", "statusHistory", "statusTimes", "note",
)

# A referral as the export reads it: one line of text with the scalars of fixed shape, then
# its note (free text, so apart) and its job. Decoding a value costs the driver far more than a
# character of text, and the rows' ids, statuses, channels and times never hold the separator,
# so the store joins them and this process splits them (half an export's time went to decoding
# a list of values per row). Names are read once per party (:class:`_Parties`). The parties'
# ids are the referral's own properties (kept from its creation): reading them instead of
# walking three relationships per row halves the store's time per page. Only a converted
# referral walks to its job, for the job's value.
FIELD_SEPARATOR = "|"
TABLE_LIST = """[x.id + '|' + x.status + '|' + coalesce(x.channel, '') + '|'
  + CASE WHEN x.verified = true THEN 't' ELSE '' END + '|' + coalesce(x.createdAt, '') + '|'
  + coalesce(x.updatedAt, '') + '|'
  + reduce(s = '', v IN coalesce(x.statusHistory, []) | s + ';' + v) + '|'
  + reduce(s = '', v IN coalesce(x.statusTimes, []) | s + ';' + v) + '|'
  + coalesce(x.referrerId, '') + '|' + coalesce(x.professionalId, '') + '|'
  + coalesce(x.refereeId, ''),
  x.note,
  CASE WHEN x.jobId IS NULL THEN null
       ELSE head([(x)-[:CONVERTED_TO]->(j:Job) | [j.id, j.value]]) END]"""


def _history_cell(cell: str) -> list[str]:
    """A history's cell of :data:`TABLE_LIST`'s line: each entry after a ``;``."""
    return cell[1:].split(LIST_SEPARATOR) if cell else []


# The same referral as a map with its parties', for a party's own data (a few rows).
TABLE_MAP = """x {.id, .status, .channel, .verified, .note, .createdAt, .updatedAt,
  .statusHistory, .statusTimes,
  referrer: head([(x)<-[:MADE]-(a) | a {.id, .name, .erased}]),
  professional: head([(x)-[:FOR]->(p:Professional) | p {.id, .name, .trades, .area}]),
  referee: head([(x)-[:INTRODUCES]->(c:Customer) | c {.id, .name, .erased}]),
  job: head([(x)-[:CONVERTED_TO]->(j:Job) | j {.id, .value}])}"""
# The parties of a page not yet known, by id (ids an export has not met yet).
TABLE_CUSTOMERS = """UNWIND $ids AS id MATCH (c:Customer {id: id})
RETURN collect([c.id, c.name, c.erased]) AS rows"""
TABLE_PROFESSIONALS = """UNWIND $ids AS id MATCH (p:Professional {id: id})
RETURN collect([p.id, p.name, p.trades, p.area]) AS rows"""
# Parties remembered by one export at most; past this the memory starts again (a whole
# medium network's parties fit many times).
PARTIES_KEPT = 200_000

# Counted referrals in [since, until), after the keyset cursor, newest first.
_WINDOW = """x.fraud IS NULL
  AND ($since IS NULL OR x.createdAt >= $since) AND ($until IS NULL OR x.createdAt < $until)"""
_AFTER = """($afterTs IS NULL OR x.createdAt < $afterTs
       OR (x.createdAt = $afterTs AND x.id < $afterId))"""
# One record per page: a record each costs the driver more than the row it carries.
_TAIL = f"""WITH x ORDER BY x.createdAt DESC, x.id DESC LIMIT $limit
RETURN collect({TABLE_LIST}) AS rows
"""

# Every referral, in windows of createdAt that each hold about a page: both ends of a window
# are plain comparisons with the property, which the index on createdAt serves (ORDER BY ...
# LIMIT over the whole label would sort every referral for each page in the embedded store).
# A window is read unordered, up to twice a page, and sorted here, which costs the store a
# third less than its own sort; a window denser than that is read in order, page by page.
_IN_WINDOW = """MATCH (x:Referral)
WHERE x.createdAt >= $lower AND x.createdAt < $upper AND x.fraud IS NULL"""
WINDOW_REFERRALS = f"""
{_IN_WINDOW}
WITH x LIMIT $limit
RETURN collect({TABLE_LIST}) AS rows
"""
ALL_REFERRALS = f"""
{_IN_WINDOW}
  AND {_AFTER}
{_TAIL}"""
REFERRAL_SPAN = """
MATCH (x:Referral)
RETURN min(x.createdAt) AS oldest, max(x.createdAt) AS newest, count(x) AS total
"""
# Referrals naming one professional (optionally only those between members of a network).
PROFESSIONAL_REFERRALS = f"""
MATCH (:Professional {{id: $professionalId}})<-[:FOR]-(x:Referral)
WHERE {_WINDOW} AND {_AFTER}
  AND ($networkId IS NULL OR (
    size([(x)<-[:MADE]-(:Professional)-[:{MEMBER}]->(n:Network) WHERE n.id = $networkId | 1]) > 0
    AND size([(x)-[:FOR]->(:Professional)-[:{MEMBER}]->(n:Network)
              WHERE n.id = $networkId | 1]) > 0))
{_TAIL}"""
# Referrals between active members of one network; the read starts at the network, so its cost
# follows the network's size.
NETWORK_REFERRALS = f"""
MATCH (n:Network {{id: $networkId}})<-[:{MEMBER}]-(:Professional)-[:MADE]->(x:Referral)
      -[:FOR]->(p:Professional)-[:{MEMBER}]->(n)
WHERE {_WINDOW} AND {_AFTER}
{_TAIL}"""


@dataclass(frozen=True)
class TableFilter:
    """What a referral table holds: created in [since, until), naming ``professional_id``,
    between active members of ``network_id``; each of them optional."""

    since: str | None = None
    until: str | None = None
    network_id: str | None = None
    professional_id: str | None = None


def parse_filter(params: dict[str, str]) -> TableFilter:
    """The filter of an export request's query parameters; a ValidationError naming the
    parameter for an unknown parameter or a bad value."""
    known = ("since", "until", "networkId", "professionalId")
    for name in params:
        if name not in known:
            raise ValidationError(
                f"unknown parameter {name!r} (known: {', '.join(known)})", [name])
    ends: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        text = params.get(name)
        if text is None:
            ends[name] = None
            continue
        try:
            ends[name] = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                "not an ISO-8601 date-time, e.g. 2026-01-01T00:00:00+00:00", [name]) from None
    since, until = rules.check_window(ends["since"], ends["until"])
    network = params.get("networkId")
    professional = params.get("professionalId")
    return TableFilter(
        since, until,
        None if network is None else check_id(network, "Network", ["networkId"]),
        None if professional is None else check_id(professional, "Professional",
                                                   ["professionalId"]),
    )


def can_export_referrals(p: Principal, f: TableFilter) -> bool:
    """Who reads which referral table, as ``referralStats``: admins any; an organiser only with
    the id of a network it runs; a professional only with its own id."""
    if p.admin:
        return True
    if p.role is Role.ORGANISER:
        return f.network_id is not None and p.organises(f.network_id)
    return p.role is Role.PROFESSIONAL and f.professional_id is not None \
        and p.is_(f.professional_id)


def _customer_name(party: Row | None, full: bool) -> str:
    if party is None:
        return ""
    if party.get("erased"):
        return ERASED_NAME
    return party["name"] if full else display_name(party["name"])


def table_row(row: Row, viewer: Principal) -> Row:
    """One referral as a row of the table. Customers go by their display name unless the
    viewer may see full names (admins); the note only to who may read the referral (admins and
    the professional it names: an organiser reads counts and parties, not what was said)."""
    pro = (row.get("professional") or {}).get("id")
    return _table_row(row, full=viewer.admin, note=viewer.admin or viewer.is_(pro))


def _table_row(row: Row, *, full: bool, note: bool, own: str | None = None) -> Row:
    referrer = row.get("referrer") or {}
    pro = row.get("professional") or {}
    referee = row.get("referee") or {}
    job = row.get("job") or {}
    referrer_kind = "CUSTOMER" if kind_of(referrer.get("id", "")) == "Customer" else "PROFESSIONAL"
    return {
        "id": row["id"], "createdAt": row["createdAt"], "updatedAt": row["updatedAt"],
        "status": row["status"], "channel": row.get("channel") or ReferralChannel.DIRECT.value,
        "verified": bool(row.get("verified")),
        "referrerId": referrer.get("id"), "referrerKind": referrer_kind,
        "referrerName": (
            _customer_name(referrer, full or referrer.get("id") == own)
            if referrer_kind == "CUSTOMER" else referrer.get("name")),
        "professionalId": pro.get("id"), "professionalName": pro.get("name"),
        "professionalTrade": (pro.get("trades") or [None])[0],
        "professionalArea": pro.get("area"),
        "refereeId": referee.get("id"),
        "refereeName": _customer_name(referee, full or referee.get("id") == own) if referee
        else "",
        "jobId": job.get("id"), "jobValue": job.get("value"),
        "statusHistory": list(row["statusHistory"]), "statusTimes": list(row["statusTimes"]),
        "note": row.get("note") if note else None,
    }


class _Parties:
    """The parties one export has met, by id, in the shapes of :data:`TABLE_MAP`'s: each is read
    once, in one ``UNWIND $ids`` read per label and page for the ids the page brings new
    (professionals and customers recur across an export's rows)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.known: dict[str, Row] = {}

    async def learn(self, rows: list[list[Any]]) -> None:
        known = self.known
        if len(known) > PARTIES_KEPT:
            known.clear()
        new: dict[str, set[str]] = {"Customer": set(), "Professional": set()}
        for row in rows:
            for party in (row[8], row[9], row[10]):
                if party and party not in known:
                    label = kind_of(party)
                    if label in new:
                        new[label].add(party)
        reads = []
        if new["Customer"]:
            reads.append(self.store.read_scalars(
                TABLE_CUSTOMERS, ids=sorted(new["Customer"])))
        if new["Professional"]:
            reads.append(self.store.read_scalars(
                TABLE_PROFESSIONALS, ids=sorted(new["Professional"])))
        for found in await asyncio.gather(*reads):
            for party in found[0]["rows"]:
                if len(party) == 3:
                    known[party[0]] = _customer(party[0], party[1], party[2])
                else:
                    known[party[0]] = {
                        "id": party[0], "name": party[1], "trades": party[2], "area": party[3],
                        # What the export's rows write, worked out once per party.
                        "kind": "PROFESSIONAL", "full": party[1], "display": party[1],
                        "trade": (party[2] or [None])[0]}

    def unknown(self, party: str | None) -> Row | None:
        # A party gone between the referral's read and its own: the row keeps the id.
        if party is None:
            return None
        if kind_of(party) == "Customer":
            return _customer(party, None, None)
        return {"id": party, "name": None, "trades": None, "area": None,
                "kind": "PROFESSIONAL", "full": None, "display": None, "trade": None}

    async def rows(self, found: list[Row]) -> list[Row]:
        """The referrals of one read (:data:`TABLE_LIST` lines), newest first, as maps of
        :data:`TABLE_MAP`'s shape."""
        lines: list[list[Any]] = found[0]["rows"] if found else []
        rows = [[*line.split(FIELD_SEPARATOR), note, job] for line, note, job in lines]
        await self.learn(rows)
        get, unknown = self.known.get, self.unknown
        out = [{
            "id": r[0], "status": r[1], "channel": r[2] or None, "verified": r[3] == "t",
            "createdAt": r[4], "updatedAt": r[5] or None, "statusHistory": _history_cell(r[6]),
            "statusTimes": _history_cell(r[7]), "note": r[11],
            "referrer": get(r[8]) or unknown(r[8] or None),
            "professional": get(r[9]) or unknown(r[9] or None),
            "referee": get(r[10]) or unknown(r[10] or None),
            "job": None if r[12] is None else {"id": r[12][0], "value": r[12][1]},
        } for r in rows]
        # collect() keeps no order the store promises: the page is put in order here.
        out.sort(key=_NEWEST_FIRST, reverse=True)
        return out


_NEWEST_FIRST = operator.itemgetter("createdAt", "id")
_NO_PARTY: Row = {"id": None, "name": None, "area": None, "kind": "PROFESSIONAL", "full": None,
                  "display": None, "trade": None}


def _customer(party: str, name: str | None, erased: bool | None) -> Row:
    shown = ERASED_NAME if erased else (name or "")
    return {"id": party, "name": name, "erased": erased, "kind": "CUSTOMER", "full": shown,
            "display": shown if erased else display_name(shown)}


def export_rows(page: list[Row], viewer: Principal) -> list[Row]:
    """A page of :func:`table_pages` as rows of the table, as :func:`table_row` makes them,
    with what each party shows worked out once per export rather than once per row."""
    full = viewer.admin
    shown = "full" if full else "display"
    own = viewer.sub if viewer.role in (Role.CUSTOMER, Role.PROFESSIONAL) else None
    direct = ReferralChannel.DIRECT.value
    out = []
    for r in page:
        referrer = r["referrer"] or _NO_PARTY
        pro = r["professional"] or _NO_PARTY
        referee = r["referee"]
        job = r["job"]
        out.append({
            "id": r["id"], "createdAt": r["createdAt"], "updatedAt": r["updatedAt"],
            "status": r["status"], "channel": r["channel"] or direct,
            "verified": bool(r["verified"]),
            "referrerId": referrer["id"], "referrerKind": referrer["kind"],
            "referrerName": referrer[shown],
            "professionalId": pro["id"], "professionalName": pro["name"],
            "professionalTrade": pro["trade"], "professionalArea": pro["area"],
            "refereeId": None if referee is None else referee["id"],
            "refereeName": "" if referee is None else referee[shown],
            "jobId": None if job is None else job["id"],
            "jobValue": None if job is None else job["value"],
            "statusHistory": r["statusHistory"], "statusTimes": r["statusTimes"],
            "note": r["note"] if full or (own is not None and own == pro["id"]) else None,
        })
    return out


async def table_pages(
    store: Store, f: TableFilter, page: int | None = None
) -> AsyncGenerator[list[Row], None]:
    """The referrals of ``f`` newest first, one page (of store rows, :data:`PAGE` unless said
    otherwise) at a time."""
    page = page or PAGE
    parties = _Parties(store)
    window: dict[str, object] = {"since": f.since, "until": f.until}
    if f.professional_id is None and f.network_id is None:
        async with contextlib.aclosing(_windows(store, parties, f, page)) as windows:
            async for rows in windows:
                yield rows
        return
    query = NETWORK_REFERRALS if f.professional_id is None else PROFESSIONAL_REFERRALS
    cursor: tuple[str | None, str | None] = (None, None)
    while True:
        rows = await parties.rows(await store.read_scalars(
            query, **window, networkId=f.network_id, professionalId=f.professional_id,
            afterTs=cursor[0], afterId=cursor[1], limit=page))
        if rows:
            yield rows
        if len(rows) < page:
            return
        cursor = (rows[-1]["createdAt"], rows[-1]["id"])


async def _windows(store: Store, parties: _Parties, f: TableFilter,
                   page: int) -> AsyncGenerator[list[Row], None]:
    """Every referral of ``f`` newest first, window by window (see ``ALL_REFERRALS``)."""
    span = (await store.read(REFERRAL_SPAN))[0]
    if not span["total"]:
        return
    oldest = max(span["oldest"], f.since) if f.since else span["oldest"]
    # The upper end is exclusive: one microsecond past the newest row.
    newest = timeutil.to_store(timeutil.from_store(span["newest"]) + MICROSECOND)
    upper = min(newest, f.until) if f.until else newest
    low, high = timeutil.from_store(oldest), timeutil.from_store(upper)
    if low >= high:
        return
    # A quarter of the whole span's width per page, for the first window; each window corrects
    # it. Starting narrow is cheap (a sparse window reads little, and the next one widens), a
    # window too dense is read for nothing and again in halves: referrals cluster in recent
    # times, where an export starts.
    width = max(MICROSECOND, (high - low) * page / span["total"] / 4)
    ahead: deque[tuple[dict[str, str], asyncio.Task[list[Row]]]] = deque()

    def schedule() -> None:
        # The next windows are read while this one is written out: the store, not this
        # process, bounds an export, and it serves two reads at once faster than one by one.
        nonlocal high
        while high > low and len(ahead) < WINDOWS_AHEAD:
            start = max(low, high - width)
            bounds = {"lower": timeutil.to_store(start), "upper": timeutil.to_store(high)}
            ahead.append((bounds, read(bounds)))
            high = start

    def read(bounds: dict[str, str]) -> asyncio.Task[list[Row]]:
        return asyncio.ensure_future(
            store.read_scalars(WINDOW_REFERRALS, **bounds, limit=2 * page + 1))

    try:
        schedule()
        while ahead:
            bounds, task = ahead.popleft()
            found = await task
            count = len(found[0]["rows"]) if found else 0
            # The next window as wide as this one's density asks for a page, within a factor
            # of four either way (referrals cluster in time).
            width = max(MICROSECOND, width * min(4.0, max(0.25, page / max(count, 1))))
            first, last = (timeutil.from_store(bounds["lower"]),
                           timeutil.from_store(bounds["upper"]))
            if count > 2 * page and last - first > 2 * MICROSECOND:
                # Too dense: its halves are read next, newer first, each from the index as a
                # window is (a keyset read sorts the whole window in the store, per page).
                middle = timeutil.to_store(first + (last - first) / 2)
                older = {"lower": bounds["lower"], "upper": middle}
                newer = {"lower": middle, "upper": bounds["upper"]}
                ahead.appendleft((older, read(older)))
                ahead.appendleft((newer, read(newer)))
                continue
            if count <= 2 * page:
                # The names first: the windows scheduled after are read while this one is
                # written out, not while its names are.
                rows = await parties.rows(found)
                schedule()
                for at in range(0, len(rows), page):
                    yield rows[at:at + page]
                continue
            schedule()
            cursor: tuple[str | None, str | None] = (None, None)
            while True:
                rows = await parties.rows(await store.read_scalars(
                    ALL_REFERRALS, **bounds, afterTs=cursor[0], afterId=cursor[1],
                    limit=page))
                if rows:
                    yield rows
                if len(rows) < page:
                    break
                cursor = (rows[-1]["createdAt"], rows[-1]["id"])
    finally:
        # A client that goes away mid-export leaves no read running.
        for _, task in ahead:
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*(task for _, task in ahead), return_exceptions=True)


# Text a CSV cell must quote (what the csv module quotes with QUOTE_MINIMAL).
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _csv_text(value: str | None) -> str:
    if value is None:
        return ""
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_lines(rows: Iterable[Row]) -> str:
    """Table rows as CSV lines (lists joined by ``;``, booleans as true/false, null empty), as
    the csv module writes them. Written by hand: ids, times, statuses and channels never need
    quoting, so only the free text (names, trade, area, note) is checked, at a third of the
    csv writer's cost per row. The cells follow :data:`COLUMNS`."""
    q = _csv_text
    join = LIST_SEPARATOR.join
    return "".join([
        f'{r["id"]},{r["createdAt"]},{r["updatedAt"]},{r["status"]},{r["channel"]},'
        f'{"true" if r["verified"] else "false"},{r["referrerId"] or ""},{r["referrerKind"]},'
        f'{q(r["referrerName"])},{r["professionalId"] or ""},{q(r["professionalName"])},'
        f'{q(r["professionalTrade"])},{q(r["professionalArea"])},{r["refereeId"] or ""},'
        f'{q(r["refereeName"])},{r["jobId"] or ""},'
        f'{"" if r["jobValue"] is None else r["jobValue"]},'
        f'{join(r["statusHistory"])},{join(r["statusTimes"])},{q(r["note"])}\n'
        for r in rows])


def csv_header() -> str:
    return ",".join(COLUMNS) + "\n"


# ------------------------------------------------------------------------------------ bundle

KINDS = ("network", "professional", "customer", "membership", "job", "code", "referral")

# The fields of each kind, as the store names them; ``kind`` comes first on every line.
FIELDS: dict[str, tuple[str, ...]] = {
    "network": ("id", "name", "createdAt"),
    "professional": ("id", "name", "trades", "area", "createdAt"),
    "customer": ("id", "name", "area", "createdAt", "erased", "erasedAt"),
    "membership": ("professionalId", "networkId", "status", "since"),
    "job": ("id", "customerId", "professionalId", "trade", "completedAt", "rating",
            "recordedRating", "value", "createdAt", "confirmedAt"),
    "code": ("code", "referrerId", "professionalId", "createdAt"),
    "referral": ("id", "referrerId", "professionalId", "refereeId", "status", "channel",
                 "verified", "note", "createdAt", "updatedAt", "statusHistory", "statusTimes",
                 "jobId", "code", "fraud", "reviewDecision", "reviewNote", "reviewAt",
                 "reviewBy", "reviewHistory"),
}
REQUIRED: dict[str, frozenset[str]] = {
    "network": frozenset({"id", "name", "createdAt"}),
    "professional": frozenset({"id", "name", "trades", "createdAt"}),
    "customer": frozenset({"id", "name", "createdAt"}),
    "membership": frozenset({"professionalId", "networkId", "status", "since"}),
    "job": frozenset({"id", "customerId", "professionalId", "trade", "completedAt",
                      "createdAt"}),
    "code": frozenset({"code", "referrerId", "professionalId", "createdAt"}),
    "referral": frozenset({"id", "referrerId", "professionalId", "refereeId", "status",
                           "verified", "createdAt", "updatedAt", "statusHistory",
                           "statusTimes"}),
}

ALLOWED = {kind: frozenset({"kind", *names}) for kind, names in FIELDS.items()}
REQUIRED_ORDER = {kind: sorted(names) for kind, names in REQUIRED.items()}
# Store text of a time: 2026-01-01T10:00:00.000000+00:00
STORE_TIME_LENGTH = 32

EXPORT_QUERIES = {
    "network": windowed_by_id("Network", "x {.id, .name, .createdAt}"),
    "professional": windowed_by_id("Professional", "x {.id, .name, .trades, .area, .createdAt}"),
    "customer": windowed_by_id("Customer", "x {.id, .name, .area, .createdAt, .erased, .erasedAt}"),
    # Confirmed jobs only: a job waiting for its customer (or rejected) is a claim, not data.
    "job": windowed_by_id("Job", """x {.id, .trade, .completedAt, .rating, .recordedRating,
  .value, .createdAt, .confirmedAt,
  customerId: head([(x)<-[:BOOKED]-(c:Customer) | c.id]),
  professionalId: head([(x)-[:DONE_BY]->(p:Professional) | p.id])}""", "x.confirmed = true"),
    "referral": windowed_by_id("Referral", """x {.id, .status, .channel, .verified, .note,
  .createdAt, .updatedAt, .statusHistory, .statusTimes, .fraud, .reviewDecision, .reviewNote,
  .reviewAt, .reviewBy, .reviewHistory,
  referrerId: head([(x)<-[:MADE]-(a) | a.id]),
  professionalId: head([(x)-[:FOR]->(p:Professional) | p.id]),
  refereeId: head([(x)-[:INTRODUCES]->(c:Customer) | c.id]),
  jobId: head([(x)-[:CONVERTED_TO]->(j:Job) | j.id]),
  code: head([(x)-[:VIA]->(k:ReferralCode) | k.code])}"""),
}
# Memberships and codes have no id of their own: each is read from the node that has one.
EXPORT_MEMBERSHIPS = windowed_by_id("Professional", """x {.id,
  memberships: [(x)-[m:MEMBER_OF]->(n:Network) WHERE m.status IS NOT NULL |
                {networkId: n.id, status: m.status, since: m.since}]}""")
EXPORT_CODES = windowed_by_id("Professional", """x {.id,
  codes: [(x)<-[:LEADS_TO]-(k:ReferralCode) |
          k {.code, .createdAt, referrerId: head([(k)<-[:SHARES]-(a) | a.id])}]}""")


async def _by_id(store: Store, query: Any, page: int) -> AsyncIterator[list[Row]]:
    after: str | None = None
    while True:
        key = ListKey(None, PageRequest(page, None if after is None else (after,)), total=False)
        got = await fetch_id_window_page(store, query, key, {}, lambda r: r, lambda r: r["id"])
        rows = [item for _, item in got.items]
        if rows:
            yield rows
        if not got.has_next:
            return
        after = rows[-1]["id"]


def header() -> Row:
    return {"kind": "bundle", "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION}


def _line(kind: str, row: Row) -> Row:
    return {"kind": kind, **{name: row.get(name) for name in FIELDS[kind]}}


async def bundle_rows(store: Store, page: int = PAGE) -> AsyncIterator[Row]:
    """The whole network as bundle lines, the header first, then kind by kind in load order."""
    yield header()
    with store.batch():
        for kind in ("network", "professional", "customer"):
            async for rows in _by_id(store, EXPORT_QUERIES[kind], page):
                for row in rows:
                    yield _line(kind, row)
        async for rows in _by_id(store, EXPORT_MEMBERSHIPS, page):
            for row in rows:
                for m in sorted(row["memberships"], key=lambda m: m["networkId"]):
                    yield _line("membership", {"professionalId": row["id"], **m})
        async for rows in _by_id(store, EXPORT_QUERIES["job"], page):
            for row in rows:
                yield _line("job", row)
        async for rows in _by_id(store, EXPORT_CODES, page):
            for row in rows:
                for k in sorted(row["codes"], key=lambda k: k["code"]):
                    yield _line("code", {"professionalId": row["id"], **k})
        async for rows in _by_id(store, EXPORT_QUERIES["referral"], page):
            for row in rows:
                yield _line("referral", row)


def dataset_rows(data: Dataset) -> Iterator[Row]:
    """A seed's data set as bundle lines: what importing them loads equals what the seed's own
    load writes (``graph.bulk``: confirmed jobs confirmed on creation, active memberships)."""
    yield header()
    for kind, rows in (("network", data.networks), ("professional", data.professionals),
                       ("customer", data.customers)):
        for row in rows:
            yield _line(kind, row)
    for m in data.memberships:
        yield _line("membership", {**m, "status": MembershipStatus.ACTIVE.value})
    for j in data.jobs:
        yield _line("job", {**j, "recordedRating": j.get("rating"),
                            "confirmedAt": j["createdAt"]})
    for r in data.referrals:
        yield _line("referral", r)


def dumps(row: Row) -> str:
    """One line of JSON (orjson: several times faster than json on a bundle's rows)."""
    return orjson.dumps(row).decode() + "\n"


# --------------------------------------------------------------------------------- validation


class ImportRefused(Exception):
    """The file has bad rows (or the store is not one it may load into); nothing was written.
    ``problems`` are (line number, message), line 0 for the file as a whole."""

    def __init__(self, problems: list[tuple[int, str]], total: int | None = None) -> None:
        self.problems = problems
        self.total = len(problems) if total is None else total
        super().__init__(self.describe())

    def describe(self) -> str:
        lines = [f"line {n}: {m}" if n else m for n, m in self.problems]
        more = self.total - len(self.problems)
        if more > 0:
            lines.append(f"... and {more} more bad rows")
        return "\n".join(lines)


def _problem(exc: DomainError) -> str:
    where = ".".join(exc.field or [])
    return f"{where}: {exc.message}" if where else exc.message


def _latest() -> str:
    """The latest recorded time an import accepts (now, plus the clock skew), as store text;
    worked out once a second, as hundreds of thousands of times are checked."""
    second = int(time.monotonic())
    if _LATEST[0] != second:
        _LATEST[:] = [second, timeutil.to_store(timeutil.now() + rules.CLOCK_SKEW)]
    return str(_LATEST[1])


_LATEST: list[Any] = [None, ""]


def _time(value: Any, name: str, past: bool = True) -> str:
    """An ISO-8601 date-time with an offset, as store text; not in the future when ``past``."""
    if not isinstance(value, str):
        raise ValidationError("must be an ISO-8601 date-time text", [name])
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("not an ISO-8601 date-time, e.g. 2026-01-01T00:00:00+00:00",
                              [name]) from None
    if len(value) == STORE_TIME_LENGTH and value.endswith("+00:00") and value[19] == ".":
        # Already store text (what every export writes): valid, as it parsed, and compared as
        # text, as the store compares times.
        text = value
        if not rules.YEAR_MIN <= parsed.year <= rules.YEAR_MAX:
            rules.check_aware(parsed, [name])
    else:
        rules.check_aware(parsed, [name])
        text = timeutil.to_store(parsed)
    if past and text > _latest():
        raise ValidationError("a recorded time cannot lie in the future", [name])
    return text


def _optional_time(value: Any, name: str) -> str | None:
    return None if value is None else _time(value, name)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError("must be text", [name])
    return value


def _optional_text(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("must be true or false", [name])
    return value


def _shape(kind: str, row: Row) -> None:
    unknown = row.keys() - ALLOWED[kind]
    if unknown:
        raise ValidationError(f"unknown field for a {kind}", [min(unknown)])
    for name in REQUIRED_ORDER[kind]:
        if row.get(name) is None:
            raise ValidationError("is required", [name])


# The domain's values as text, for checks run hundreds of thousands of times.
STATUSES = frozenset(s.value for s in ReferralStatus)
OPEN = frozenset(s.value for s in OPEN_STATUSES)
NEXT = {s.value: frozenset(t.value for t in TRANSITIONS[s]) for s in ReferralStatus}
CHANNELS = frozenset(c.value for c in ReferralChannel)
DECISIONS = frozenset(d.value for d in ReviewDecision)
MEMBERSHIP_STATUSES = frozenset(s.value for s in MembershipStatus)


@dataclass
class Catalog:
    """What referrals are checked against: the parties, confirmed jobs and codes that exist
    (in the bundle, or in the store for a referral table), and what referrals already claim."""

    professionals: dict[str, list[str]] = field(default_factory=dict)  # id -> trades
    customers: dict[str, bool] = field(default_factory=dict)  # id -> erased
    jobs: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # customer, pro, done
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> referrer, pro
    networks: set[str] = field(default_factory=set)
    referrals: set[str] = field(default_factory=set)
    converting: set[str] = field(default_factory=set)  # jobs a referral converted to
    open_keys: set[str] = field(default_factory=set)
    # (customer, professional) -> the earliest completion of a confirmed job between them
    first_job: dict[tuple[str, str], str] = field(default_factory=dict)

    def add_job(self, job_id: str, customer: str, professional: str, done: str) -> None:
        self.jobs[job_id] = (customer, professional, done)
        pair = (customer, professional)
        if pair not in self.first_job or done < self.first_job[pair]:
            self.first_job[pair] = done


def check_network(row: Row, cat: Catalog) -> Row:
    _shape("network", row)
    node_id = check_id(_text(row["id"], "id"), "Network", ["id"])
    if node_id in cat.networks:
        raise ValidationError("a second network with this id", ["id"])
    cat.networks.add(node_id)
    return {"id": node_id, "name": rules.clean_name(_text(row["name"], "name"), ["name"]),
            "createdAt": _time(row["createdAt"], "createdAt")}


def check_professional(row: Row, cat: Catalog) -> Row:
    _shape("professional", row)
    node_id = check_id(_text(row["id"], "id"), "Professional", ["id"])
    if node_id in cat.professionals:
        raise ValidationError("a second professional with this id", ["id"])
    trades = row["trades"]
    # Known from here on, so that the rows naming a bad professional are not refused for it
    # too: the report names the row to mend.
    cat.professionals[node_id] = [str(t).lower() for t in trades] \
        if isinstance(trades, list) else []
    if not isinstance(trades, list) or not all(isinstance(t, str) for t in trades):
        raise ValidationError("must be a list of trades", ["trades"])
    cleaned = rules.clean_trades(trades, ["trades"])
    cat.professionals[node_id] = cleaned
    return {"id": node_id, "name": rules.clean_name(_text(row["name"], "name"), ["name"]),
            "trades": cleaned, "area": rules.clean_area(_optional_text(row.get("area"), "area"),
                                                        ["area"]),
            "createdAt": _time(row["createdAt"], "createdAt")}


def check_customer(row: Row, cat: Catalog) -> Row:
    _shape("customer", row)
    node_id = check_id(_text(row["id"], "id"), "Customer", ["id"])
    if node_id in cat.customers:
        raise ValidationError("a second customer with this id", ["id"])
    cat.customers[node_id] = bool(row.get("erased"))  # known, as a bad professional is
    erased = row.get("erased") is not None and _bool(row["erased"], "erased")
    if row.get("erased") is False:
        raise ValidationError("is true or absent", ["erased"])
    name = rules.clean_name(_text(row["name"], "name"), ["name"])
    erased_at = _optional_time(row.get("erasedAt"), "erasedAt")
    area = rules.clean_area(_optional_text(row.get("area"), "area"), ["area"])
    if erased and (name != ERASED_NAME or area is not None or erased_at is None):
        raise ValidationError(
            f"an erased customer keeps only its id, the name {ERASED_NAME!r} and erasedAt",
            ["erased"])
    if not erased and erased_at is not None:
        raise ValidationError("only an erased customer has erasedAt", ["erasedAt"])
    cat.customers[node_id] = erased
    return {"id": node_id, "name": name, "area": area,
            "createdAt": _time(row["createdAt"], "createdAt"),
            "erased": True if erased else None, "erasedAt": erased_at}


def check_membership(row: Row, cat: Catalog, seen: set[tuple[str, str]]) -> Row:
    _shape("membership", row)
    pro = check_id(_text(row["professionalId"], "professionalId"), "Professional",
                   ["professionalId"])
    net = check_id(_text(row["networkId"], "networkId"), "Network", ["networkId"])
    if pro not in cat.professionals:
        raise ValidationError("no professional with this id in the bundle", ["professionalId"])
    if net not in cat.networks:
        raise ValidationError("no network with this id in the bundle", ["networkId"])
    if (pro, net) in seen:
        raise ValidationError("a second membership of this professional in this network",
                              ["networkId"])
    seen.add((pro, net))
    status = row["status"]
    if status not in MEMBERSHIP_STATUSES:
        raise ValidationError("must be ACTIVE or INVITED", ["status"])
    return {"professionalId": pro, "networkId": net, "status": status,
            "since": _time(row["since"], "since")}


def check_job(row: Row, cat: Catalog) -> Row:
    _shape("job", row)
    node_id = check_id(_text(row["id"], "id"), "Job", ["id"])
    if node_id in cat.jobs:
        raise ValidationError("a second job with this id", ["id"])
    customer = check_id(_text(row["customerId"], "customerId"), "Customer", ["customerId"])
    pro = check_id(_text(row["professionalId"], "professionalId"), "Professional",
                   ["professionalId"])
    if customer not in cat.customers:
        raise ValidationError("no customer with this id in the bundle", ["customerId"])
    if pro not in cat.professionals:
        raise ValidationError("no professional with this id in the bundle", ["professionalId"])
    trade = rules.clean_trade(_text(row["trade"], "trade"), ["trade"])
    if trade not in cat.professionals[pro]:
        raise ValidationError(f"{trade!r} is not one of the professional's trades", ["trade"])
    done = _time(row["completedAt"], "completedAt")
    created = _time(row["createdAt"], "createdAt")
    if done > created and done > timeutil.to_store(
            timeutil.from_store(created) + rules.CLOCK_SKEW):
        raise ValidationError("a job is recorded once completed, not before", ["completedAt"])
    confirmed_at = _time(row.get("confirmedAt") or created, "confirmedAt")
    if confirmed_at < created:
        raise ValidationError("a job is confirmed after it was recorded", ["confirmedAt"])
    for name in ("rating", "recordedRating"):
        value = row.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError("must be a whole number or null", [name])
        rules.check_rating(value, [name])
    value = row.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValidationError("must be a number or null", ["value"])
    cat.add_job(node_id, customer, pro, done)
    return {"id": node_id, "customerId": customer, "professionalId": pro, "trade": trade,
            "completedAt": done, "rating": row.get("rating"),
            "recordedRating": row.get("recordedRating", row.get("rating")),
            "value": rules.check_value(value, ["value"]), "createdAt": created,
            "confirmedAt": confirmed_at}


def _referrer(value: Any, name: str) -> str:
    referrer = _text(value, name)
    if kind_of(referrer) not in ("Customer", "Professional"):
        raise ValidationError(f"{referrer!r} is neither a Customer nor a Professional id", [name])
    return referrer


def _exists(cat: Catalog, party: str) -> bool:
    return party in (cat.customers if kind_of(party) == "Customer" else cat.professionals)


def check_code(row: Row, cat: Catalog, pairs: set[str]) -> Row:
    _shape("code", row)
    text = _text(row["code"], "code")
    code = codes.normalise(text)
    if code is None or code != text:
        raise ValidationError("not a referral code in its stored form", ["code"])
    referrer = _referrer(row["referrerId"], "referrerId")
    pro = check_id(_text(row["professionalId"], "professionalId"), "Professional",
                   ["professionalId"])
    if not _exists(cat, referrer):
        raise ValidationError("no referrer with this id in the bundle", ["referrerId"])
    if pro not in cat.professionals:
        raise ValidationError("no professional with this id in the bundle", ["professionalId"])
    if referrer == pro:
        raise ValidationError("a professional cannot refer itself", ["professionalId"])
    pair = f"{referrer}|{pro}"
    if code in cat.codes or pair in pairs:
        raise ValidationError("a second code (or a second code for this referrer and "
                              "professional)", ["code"])
    pairs.add(pair)
    cat.codes[code] = (referrer, pro)
    return {"code": code, "pair": pair, "referrerId": referrer, "professionalId": pro,
            "createdAt": _time(row["createdAt"], "createdAt")}


def _history(row: Row, status: str) -> tuple[list[str], list[str]]:
    history, times = row["statusHistory"], row["statusTimes"]
    if not isinstance(history, list) or not history:
        raise ValidationError("must be a list of statuses", ["statusHistory"])
    if not isinstance(times, list) or len(times) != len(history):
        raise ValidationError("one time for each status of statusHistory", ["statusTimes"])
    for i, step in enumerate(history):
        if step not in STATUSES:
            raise ValidationError(f"{step!r} is no referral status", ["statusHistory", str(i)])
    if history[0] != ReferralStatus.SENT.value:
        raise ValidationError("a referral starts SENT", ["statusHistory", "0"])
    for i in range(1, len(history)):
        if history[i] not in NEXT[history[i - 1]]:
            raise ValidationError(f"a {history[i - 1]} referral cannot become {history[i]}",
                                  ["statusHistory", str(i)])
    if history[-1] != status:
        raise ValidationError("the status is the last of statusHistory", ["status"])
    cleaned = [_time(t, f"statusTimes.{i}") for i, t in enumerate(times)]
    for i in range(1, len(cleaned)):
        if cleaned[i] < cleaned[i - 1]:
            raise ValidationError("times ascend", ["statusTimes", str(i)])
    return list(history), cleaned


def check_referral(row: Row, cat: Catalog, fresh: bool = False) -> Row:
    """A referral against ``cat``; ``fresh``: a new referral for a live store (a referral
    table), whose parties may not be erased, as for ``createReferral``."""
    _shape("referral", row)
    node_id = check_id(_text(row["id"], "id"), "Referral", ["id"])
    if node_id in cat.referrals:
        raise ValidationError("a referral with this id exists" if fresh
                              else "a second referral with this id", ["id"])
    referrer = _referrer(row["referrerId"], "referrerId")
    pro = check_id(_text(row["professionalId"], "professionalId"), "Professional",
                   ["professionalId"])
    referee = check_id(_text(row["refereeId"], "refereeId"), "Customer", ["refereeId"])
    where = "" if fresh else " in the bundle"
    for party, name, role in ((referrer, "referrerId", "referrer"),
                              (pro, "professionalId", "professional"),
                              (referee, "refereeId", "referee")):
        erased = fresh and kind_of(party) == "Customer" and cat.customers.get(party, False)
        if not _exists(cat, party) or erased:
            raise ValidationError(f"no {role} with this id{where}", [name])
    if referrer == pro:
        raise ValidationError("a professional cannot refer itself", ["professionalId"])
    if referrer == referee:
        raise ValidationError("a customer cannot be referred by itself", ["refereeId"])
    status = _text(row["status"], "status")
    if status not in STATUSES:
        raise ValidationError(f"{status!r} is no referral status", ["status"])
    history, times = _history(row, status)
    created, updated = _time(row["createdAt"], "createdAt"), _time(row["updatedAt"], "updatedAt")
    if created != times[0]:
        raise ValidationError("createdAt is the time of the first status", ["createdAt"])
    if updated != times[-1]:
        raise ValidationError("updatedAt is the time of the last status", ["updatedAt"])
    note = rules.clean_note(_optional_text(row.get("note"), "note"), ["note"])
    verified = _bool(row["verified"], "verified")
    if verified:
        done = cat.first_job.get((referrer, pro))
        if done is None or done > created:
            raise ValidationError(
                "verified needs a confirmed job of the referrer with the professional, "
                "completed before the referral", ["verified"])
    channel = row.get("channel")
    code = row.get("code")
    if channel is not None and channel not in CHANNELS:
        raise ValidationError("must be DIRECT or CODE", ["channel"])
    if code is not None:
        if channel != ReferralChannel.CODE.value:
            raise ValidationError("a referral made from a code has channel CODE", ["channel"])
        if cat.codes.get(_text(code, "code")) != (referrer, pro):
            raise ValidationError("no code of this referrer for this professional", ["code"])
    job = row.get("jobId")
    if status == ReferralStatus.CONVERTED.value:
        if job is None:
            raise ValidationError("a CONVERTED referral names its job", ["jobId"])
        job = check_id(_text(job, "jobId"), "Job", ["jobId"])
        parties = cat.jobs.get(job)
        if parties is None:
            raise ValidationError(f"no confirmed job with this id{where}", ["jobId"])
        if parties[:2] != (referee, pro):
            raise ValidationError(
                "the job must be between the referee and the referred professional", ["jobId"])
        if job in cat.converting:
            raise ValidationError("the job already converted another referral", ["jobId"])
    elif job is not None:
        raise ValidationError("jobId goes only with CONVERTED", ["jobId"])
    review = _review(row)
    key = None
    if status in OPEN and not review.get("fraud"):
        key = open_key(referrer, pro, referee)
        if key in cat.open_keys:
            raise ValidationError(
                "an open referral for the same referrer, professional and referee exists",
                ["id"])
    # Claimed only once the whole row is good: a bad row claims nothing.
    cat.referrals.add(node_id)
    if key is not None:
        cat.open_keys.add(key)
    if job is not None:
        cat.converting.add(job)
    return {"id": node_id, "referrerId": referrer, "professionalId": pro, "refereeId": referee,
            "status": status, "channel": channel, "verified": verified, "note": note,
            "createdAt": created, "updatedAt": updated, "statusHistory": history,
            "statusTimes": times, "jobId": job, "code": code, "openKey": key, **review}


def _review(row: Row) -> Row:
    decision = row.get("reviewDecision")
    fraud = row.get("fraud")
    if fraud is not None and fraud is not True:
        raise ValidationError("is true or absent", ["fraud"])
    if decision is None:
        for name in ("fraud", "reviewNote", "reviewAt", "reviewBy", "reviewHistory"):
            if row.get(name) is not None:
                raise ValidationError("goes only with a reviewDecision", [name])
        return {"fraud": None, "reviewDecision": None, "reviewNote": None, "reviewAt": None,
                "reviewBy": None, "reviewHistory": None}
    if decision not in DECISIONS:
        raise ValidationError("must be CLEARED or CONFIRMED_FRAUD", ["reviewDecision"])
    if (decision == ReviewDecision.CONFIRMED_FRAUD.value) != bool(fraud):
        raise ValidationError("fraud is true exactly when the decision is CONFIRMED_FRAUD",
                              ["fraud"])
    history = row.get("reviewHistory")
    if history is not None:
        try:
            earlier = json.loads(_text(history, "reviewHistory"))
        except ValueError:
            earlier = None
        if not isinstance(earlier, list):
            raise ValidationError("must be the JSON text of a list of decisions",
                                  ["reviewHistory"])
    if row.get("reviewBy") is None or row.get("reviewAt") is None:
        raise ValidationError("a decision names who made it and when", ["reviewBy"])
    return {"fraud": True if fraud else None, "reviewDecision": decision,
            "reviewNote": rules.clean_note(_optional_text(row.get("reviewNote"), "reviewNote"),
                                           ["reviewNote"]),
            "reviewAt": _time(row["reviewAt"], "reviewAt"),
            "reviewBy": _text(row["reviewBy"], "reviewBy"), "reviewHistory": history}


@dataclass
class Plan:
    """Validated rows, by kind, ready to load."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: {k: [] for k in KINDS})

    @property
    def total(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.rows.items()}


def read_lines(lines: Iterable[str]) -> Iterator[tuple[int, Row | str]]:
    """(line number, object) per non-blank line of a bundle; a message for a line that is not
    a JSON object."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield number, f"not JSON: {exc.msg}"
            continue
        yield number, value if isinstance(value, dict) else "not a JSON object"


# Kinds are checked in this order whatever the order of the file, so that a row may name what
# a later line holds.
ORDER = ("network", "professional", "customer", "membership", "job", "code", "referral")


def check_bundle(lines: Iterable[tuple[int, Row | str]],
                 progress: Callable[[int], None] | None = None) -> Plan:
    """Every line of a bundle checked; the plan to load, or ImportRefused with every bad row."""
    problems: list[tuple[int, str]] = []
    by_kind: dict[str, list[tuple[int, Row]]] = {k: [] for k in KINDS}
    first = True
    for number, value in lines:
        if isinstance(value, str):
            problems.append((number, value))
            continue
        if first:
            first = False
            if value.get("kind") != "bundle" or value.get("format") != BUNDLE_FORMAT:
                problems.append((number, f"the first line is the header of a {BUNDLE_FORMAT} "
                                         f"(kind 'bundle')"))
            elif value.get("version") != BUNDLE_VERSION:
                problems.append((number, f"bundle version {value.get('version')!r}; this "
                                         f"service reads version {BUNDLE_VERSION}"))
            continue
        kind = value.get("kind")
        if kind not in by_kind:
            problems.append((number, f"kind must be one of {', '.join(KINDS)}"))
            continue
        by_kind[kind].append((number, value))
    if first:
        problems.append((0, "the file is empty"))
    cat = Catalog()
    plan = Plan()
    memberships: set[tuple[str, str]] = set()
    pairs: set[str] = set()
    checks: dict[str, Callable[[Row], Row]] = {
        "network": lambda r: check_network(r, cat),
        "professional": lambda r: check_professional(r, cat),
        "customer": lambda r: check_customer(r, cat),
        "membership": lambda r: check_membership(r, cat, memberships),
        "job": lambda r: check_job(r, cat),
        "code": lambda r: check_code(r, cat, pairs),
        "referral": lambda r: check_referral(r, cat),
    }
    for kind in ORDER:
        check = checks[kind]
        done = 0
        for number, value in by_kind[kind]:
            try:
                plan.rows[kind].append(check(value))
            except DomainError as exc:
                problems.append((number, f"{kind}: {_problem(exc)}"))
            done += 1
            if progress is not None and done % 1000 == 0:
                progress(1000)
        if progress is not None and done % 1000:
            progress(done % 1000)
    if problems:
        problems.sort()
        raise ImportRefused(problems[:MAX_REPORTED], len(problems))
    return plan


# ----------------------------------------------------------------------- referral table import

# What a table's referrals are checked against, read from the store for the ids they name.
TABLE_PARTIES = """
UNWIND $ids AS id
OPTIONAL MATCH (p:Professional {id: id})
OPTIONAL MATCH (c:Customer {id: id})
RETURN id, p.trades AS trades, c IS NOT NULL AS customer, c.erased = true AS erased
"""
TABLE_JOBS = """
UNWIND $ids AS id
MATCH (x:Job {id: id}) WHERE x.confirmed = true
RETURN x.id AS id, x.completedAt AS completedAt,
       head([(x)<-[:BOOKED]-(c:Customer) | c.id]) AS customerId,
       head([(x)-[:DONE_BY]->(p:Professional) | p.id]) AS professionalId,
       size([(x)<-[:CONVERTED_TO]-(:Referral) | 1]) > 0 AS converting
"""
TABLE_REFERRALS = "UNWIND $ids AS id MATCH (x:Referral {id: id}) RETURN x.id AS id"
TABLE_OPEN_KEYS = "UNWIND $keys AS key MATCH (x:Referral {openKey: key}) RETURN x.openKey AS key"
TABLE_FIRST_JOBS = """
UNWIND $pairs AS pair
MATCH (:Customer {id: pair[0]})-[:BOOKED]->(j:Job)-[:DONE_BY]->(:Professional {id: pair[1]})
WHERE j.confirmed = true
RETURN pair[0] AS customer, pair[1] AS professional, min(j.completedAt) AS done
"""
TABLE_CODES = """
UNWIND $codes AS code
MATCH (k:ReferralCode {code: code})
RETURN k.code AS code, head([(k)<-[:SHARES]-(a) | a.id]) AS referrerId,
       head([(k)-[:LEADS_TO]->(p:Professional) | p.id]) AS professionalId
"""
LOOKUP_BATCH = 2000


def table_rows(lines: Iterable[str]) -> Iterator[tuple[int, Row | str]]:
    """(line number, referral row) per data line of a CSV in the table's columns; a message
    for a line that cannot be one. The header names the columns (any order; the informative
    ones, names and kinds, may be left out)."""
    reader = csv.reader(lines)
    try:
        names = next(reader)
    except StopIteration:
        return
    needed = ("id", "createdAt", "updatedAt", "status", "verified", "referrerId",
              "professionalId", "refereeId", "statusHistory", "statusTimes")
    missing = [n for n in needed if n not in names]
    unknown = [n for n in names if n not in COLUMNS]
    if missing or unknown:
        yield 1, ("not a referral table: " + "; ".join(
            ([f"missing columns {', '.join(missing)}"] if missing else [])
            + ([f"unknown columns {', '.join(unknown)}"] if unknown else [])))
        return
    for cells in reader:
        number = reader.line_num
        if not any(cells):
            continue
        if len(cells) != len(names):
            yield number, f"{len(cells)} cells for {len(names)} columns"
            continue
        cell = {n: (v if v != "" else None) for n, v in zip(names, cells, strict=True)}
        verified = cell.get("verified")
        row: Row = {name: cell.get(name) for name in (
            "id", "referrerId", "professionalId", "refereeId", "status", "channel", "note",
            "createdAt", "updatedAt", "jobId")}
        row["verified"] = {"true": True, "false": False}.get(verified or "", verified)
        for name in ("statusHistory", "statusTimes"):
            text = cell.get(name)
            row[name] = [] if text is None else text.split(LIST_SEPARATOR)
        yield number, row


async def _lookup(store: Store, query: str, name: str, values: Sequence[Any]) -> list[Row]:
    found: list[Row] = []
    for chunk in bulk.batches([{"v": v} for v in values], LOOKUP_BATCH):
        found.extend(await store.read(query, **{name: [c["v"] for c in chunk]}))
    return found


async def check_table(store: Store, lines: Iterable[tuple[int, Row | str]],
                      progress: Callable[[int], None] | None = None) -> Plan:
    """Every row of a referral table checked against the store (its parties must exist there,
    its ids must not); the plan to load, or ImportRefused with every bad row."""
    problems: list[tuple[int, str]] = []
    rows: list[tuple[int, Row]] = []
    for number, value in lines:
        if isinstance(value, str):
            problems.append((number, value))
        else:
            rows.append((number, value))
    cat = Catalog()
    ids = {r.get(n) for _, r in rows for n in ("referrerId", "professionalId", "refereeId")}
    ids = {i for i in ids if isinstance(i, str)}
    for found in await _lookup(store, TABLE_PARTIES, "ids", sorted(ids)):
        if found["trades"] is not None:
            cat.professionals[found["id"]] = list(found["trades"])
        elif found["customer"]:
            cat.customers[found["id"]] = bool(found["erased"])
    jobs = sorted({r["jobId"] for _, r in rows if isinstance(r.get("jobId"), str)})
    for found in await _lookup(store, TABLE_JOBS, "ids", jobs):
        cat.add_job(found["id"], found["customerId"], found["professionalId"],
                    found["completedAt"])
        if found["converting"]:
            cat.converting.add(found["id"])
    referral_ids = sorted({r["id"] for _, r in rows if isinstance(r.get("id"), str)})
    cat.referrals.update(f["id"] for f in await _lookup(store, TABLE_REFERRALS, "ids",
                                                        referral_ids))
    keys = sorted({open_key(r["referrerId"], r["professionalId"], r["refereeId"])
                   for _, r in rows if all(isinstance(r.get(n), str)
                                           for n in ("referrerId", "professionalId",
                                                     "refereeId"))})
    cat.open_keys.update(f["key"] for f in await _lookup(store, TABLE_OPEN_KEYS, "keys", keys))
    pairs = sorted({(r["referrerId"], r["professionalId"]) for _, r in rows
                    if isinstance(r.get("referrerId"), str)
                    and isinstance(r.get("professionalId"), str)
                    and r["referrerId"].startswith("cus_")})
    for found in await _lookup(store, TABLE_FIRST_JOBS, "pairs", [list(p) for p in pairs]):
        cat.first_job[(found["customer"], found["professional"])] = found["done"]
    plan = Plan()
    for done, (number, value) in enumerate(rows, start=1):
        try:
            plan.rows["referral"].append(check_referral(value, cat, fresh=True))
        except DomainError as exc:
            problems.append((number, f"referral: {_problem(exc)}"))
        if progress is not None and done % 1000 == 0:
            progress(1000)
    if progress is not None and len(rows) % 1000:
        progress(len(rows) % 1000)
    if not rows and not problems:
        problems.append((0, "the table holds no referral"))
    if problems:
        problems.sort()
        raise ImportRefused(problems[:MAX_REPORTED], len(problems))
    return plan


# ------------------------------------------------------------------------------------- load

LOAD_NETWORKS = bulk.CREATE_NETWORKS
LOAD_PROFESSIONALS = bulk.CREATE_PROFESSIONALS
LOAD_CUSTOMERS = bulk.CREATE_CUSTOMERS
# Tombstones apart: the properties of the many are not written as nulls.
LOAD_ERASED_CUSTOMERS = """
UNWIND $rows AS r
CREATE (:Customer {id: r.id, name: r.name, area: r.area, createdAt: r.createdAt,
                   erased: r.erased, erasedAt: r.erasedAt})
"""
LOAD_MEMBERSHIPS = """
UNWIND $rows AS r
MATCH (p:Professional {id: r.professionalId}), (n:Network {id: r.networkId})
CREATE (p)-[:MEMBER_OF {since: r.since, status: r.status}]->(n)
"""
LOAD_JOBS = """
UNWIND $rows AS r
MATCH (c:Customer {id: r.customerId}), (p:Professional {id: r.professionalId})
CREATE (c)-[:BOOKED]->(:Job {id: r.id, trade: r.trade, completedAt: r.completedAt,
        rating: r.rating, recordedRating: r.recordedRating, value: r.value,
        createdAt: r.createdAt, confirmed: true, confirmedAt: r.confirmedAt,
        rejected: false})-[:DONE_BY]->(p)
"""
_LOAD_CODES = """
UNWIND $rows AS r
MATCH (a:{label} {{id: r.referrerId}}), (p:Professional {{id: r.professionalId}})
CREATE (a)-[:SHARES]->(k:ReferralCode {{code: r.code, pair: r.pair, createdAt: r.createdAt}})
CREATE (k)-[:LEADS_TO]->(p)
"""
_LOAD_REFERRALS = """
UNWIND $rows AS r
MATCH (a:{label} {{id: r.referrerId}}), (p:Professional {{id: r.professionalId}}),
      (c:Customer {{id: r.refereeId}})
CREATE (a)-[:MADE]->(x:Referral {{id: r.id, status: r.status, verified: r.verified, note: r.note,
        createdAt: r.createdAt, updatedAt: r.updatedAt, convertedDays: r.convertedDays,
        statusHistory: r.statusHistory, statusTimes: r.statusTimes, openKey: r.openKey,
        channel: r.channel, fraud: r.fraud, reviewDecision: r.reviewDecision,
        reviewNote: r.reviewNote, reviewAt: r.reviewAt, reviewBy: r.reviewBy,
        reviewHistory: r.reviewHistory, referrerId: r.referrerId,
        professionalId: r.professionalId, refereeId: r.refereeId}})-[:FOR]->(p)
CREATE (x)-[:INTRODUCES]->(c)
"""
LOAD_CODES = {label: _LOAD_CODES.format(label=label) for label in ("Customer", "Professional")}
LOAD_REFERRALS = {label: _LOAD_REFERRALS.format(label=label)
                  for label in ("Customer", "Professional")}
# Referrals never reviewed (nearly all), without the review's properties.
_REVIEW = """fraud: r.fraud, reviewDecision: r.reviewDecision,
        reviewNote: r.reviewNote, reviewAt: r.reviewAt, reviewBy: r.reviewBy,
        reviewHistory: r.reviewHistory"""
LOAD_UNREVIEWED_REFERRALS = {
    label: query.replace(", " + _REVIEW, "") for label, query in LOAD_REFERRALS.items()}
LOAD_CONVERSIONS = bulk.CREATE_CONVERSIONS
LOAD_VIA = """
UNWIND $rows AS r
MATCH (x:Referral {id: r.referralId}), (k:ReferralCode {code: r.code})
CREATE (x)-[:VIA]->(k)
"""
# Undoing a load that the store failed part-way: an empty store is emptied again (nodes with
# an id, and what hangs off them); a table's referrals are deleted by id.
UNDO_ALL = """
MATCH (n) WHERE n.id IS NOT NULL OR n.code IS NOT NULL
WITH n LIMIT $limit
DETACH DELETE n
RETURN count(*) AS deleted
"""
UNDO_REFERRALS = """
UNWIND $rows AS r
MATCH (x:Referral {id: r.id})
DETACH DELETE x
"""


# What a statement for unreviewed referrals reads of a row: no more is sent.
UNREVIEWED_KEYS = ("id", "referrerId", "professionalId", "refereeId", "status", "verified",
                   "note", "createdAt", "updatedAt", "statusHistory", "statusTimes", "openKey",
                   "channel")


def _steps(plan: Plan) -> list[tuple[str, str, list[Row]]]:
    rows = plan.rows

    def of(kind: str, label: str) -> list[Row]:
        return [r for r in rows[kind] if kind_of(r["referrerId"]) == label]

    return [
        ("networks", LOAD_NETWORKS, rows["network"]),
        ("professionals", LOAD_PROFESSIONALS, rows["professional"]),
        ("customers", LOAD_CUSTOMERS, [r for r in rows["customer"] if not r["erased"]]),
        ("erased customers", LOAD_ERASED_CUSTOMERS, [r for r in rows["customer"] if r["erased"]]),
        ("memberships", LOAD_MEMBERSHIPS, rows["membership"]),
        ("jobs", LOAD_JOBS, rows["job"]),
        ("customer codes", LOAD_CODES["Customer"], of("code", "Customer")),
        ("professional codes", LOAD_CODES["Professional"], of("code", "Professional")),
        *((f"{label.lower()} referrals", LOAD_UNREVIEWED_REFERRALS[label],
           [{**{k: r[k] for k in UNREVIEWED_KEYS}, "convertedDays": bulk.converted_days(r)}
            for r in of("referral", label) if r["reviewDecision"] is None])
          for label in ("Customer", "Professional")),
        *((f"reviewed {label.lower()} referrals", LOAD_REFERRALS[label],
           [{**r, "convertedDays": bulk.converted_days(r)} for r in of("referral", label)
            if r["reviewDecision"] is not None])
          for label in ("Customer", "Professional")),
        ("conversions", LOAD_CONVERSIONS,
         [{"referralId": r["id"], "jobId": r["jobId"]} for r in rows["referral"] if r["jobId"]]),
        ("codes used", LOAD_VIA,
         [{"referralId": r["id"], "code": r["code"]} for r in rows["referral"] if r["code"]]),
    ]


async def load(store: Store, plan: Plan, *, into_empty: bool,
               progress: Callable[[str, int], None] | None = None,
               batch_size: int = bulk.BATCH) -> None:
    """Write a checked plan, batch by batch; on a failure of the store, undo what was written
    and raise again."""
    with store.batch():
        try:
            for name, query, rows in _steps(plan):
                for chunk in bulk.batches(rows, batch_size):
                    await store.run_write(query, rows=list(chunk))
                    if progress is not None:
                        progress(name, len(chunk))
        except BaseException:
            await _undo(store, plan, into_empty)
            raise


async def _undo(store: Store, plan: Plan, into_empty: bool) -> None:
    try:
        if into_empty:
            while (await store.run_write(UNDO_ALL, limit=bulk.BATCH))[0]["deleted"]:
                pass
        else:
            for chunk in bulk.batches([{"id": r["id"]} for r in plan.rows["referral"]]):
                await store.run_write(UNDO_REFERRALS, rows=list(chunk))
    except Exception:  # the store is failing: say so, and leave the first error to the caller
        import logging

        logging.getLogger(__name__).exception("could not undo a failed import")


async def is_empty(store: Store) -> bool:
    return await bulk.is_empty(store)


# --------------------------------------------------------------------------------- own data

OWN_PROFESSIONAL = """
MATCH (p:Professional {id: $id})
RETURN p {.id, .name, .trades, .area, .createdAt,
  memberships: [(p)-[m:MEMBER_OF]->(n:Network) WHERE m.status IS NOT NULL |
                {networkId: n.id, networkName: n.name, status: m.status, since: m.since}],
  codes: [(p)-[:SHARES]->(k:ReferralCode) |
          k {.code, .createdAt, professionalId: head([(k)-[:LEADS_TO]->(q) | q.id])}]} AS row
"""
OWN_CUSTOMER = """
MATCH (c:Customer {id: $id})
RETURN c {.id, .name, .area, .createdAt,
  codes: [(c)-[:SHARES]->(k:ReferralCode) |
          k {.code, .createdAt, professionalId: head([(k)-[:LEADS_TO]->(q) | q.id])}]} AS row
"""
_OWN_JOB_MAP = """x {.id, .trade, .completedAt, .rating, .value, .createdAt, .confirmed,
  .confirmedAt, .rejected,
  customer: head([(x)<-[:BOOKED]-(c:Customer) | c {.id, .name, .erased}]),
  professional: head([(x)-[:DONE_BY]->(p:Professional) | p {.id, .name}]),
  referralId: head([(x)<-[:CONVERTED_TO]-(r:Referral) | r.id])}"""
OWN_JOBS = {
    "Professional": f"""MATCH (:Professional {{id: $id}})<-[:DONE_BY]-(x:Job)
WHERE $after IS NULL OR x.id > $after
WITH x ORDER BY x.id LIMIT $limit RETURN {_OWN_JOB_MAP} AS row""",
    "Customer": f"""MATCH (:Customer {{id: $id}})-[:BOOKED]->(x:Job)
WHERE $after IS NULL OR x.id > $after
WITH x ORDER BY x.id LIMIT $limit RETURN {_OWN_JOB_MAP} AS row""",
}
_OWN_REFERRAL_ANCHORS = {
    ("Professional", "received"): "(:Professional {id: $id})<-[:FOR]-(x:Referral)",
    ("Professional", "given"): "(:Professional {id: $id})-[:MADE]->(x:Referral)",
    ("Customer", "made"): "(:Customer {id: $id})-[:MADE]->(x:Referral)",
    ("Customer", "introduced"): "(:Customer {id: $id})<-[:INTRODUCES]-(x:Referral)",
}
OWN_REFERRALS = {
    key: f"""MATCH {anchor}
WHERE $after IS NULL OR x.id > $after
WITH x ORDER BY x.id LIMIT $limit RETURN {TABLE_MAP} AS row"""
    for key, anchor in _OWN_REFERRAL_ANCHORS.items()
}


async def _own_pages(store: Store, query: str, party: str) -> list[Row]:
    out: list[Row] = []
    after: str | None = None
    while True:
        rows = [r["row"] for r in await store.read(query, id=party, after=after, limit=PAGE)]
        out.extend(rows)
        if len(rows) < PAGE:
            return out
        after = rows[-1]["id"]


async def own_data(store: Store, viewer: Principal) -> Row | None:
    """Everything stored about the party ``viewer`` speaks for, as one document: its profile,
    jobs, the referrals it made, received or was introduced in, its memberships and codes. Other
    customers appear by display name. None when the party does not exist."""
    party = viewer.sub
    label = None if party is None else kind_of(party)
    if party is None or label not in ("Professional", "Customer"):
        return None
    found = await store.read(OWN_PROFESSIONAL if label == "Professional" else OWN_CUSTOMER,
                             id=party)
    if not found:
        return None
    profile = dict(found[0]["row"])
    codes_made = profile.pop("codes")
    memberships = profile.pop("memberships", None)
    jobs = []
    for job in await _own_pages(store, OWN_JOBS[label], party):
        customer = job.pop("customer") or {}
        pro = job.pop("professional") or {}
        jobs.append({**job, "customerId": customer.get("id"),
                     "customerName": _customer_name(customer, customer.get("id") == party),
                     "professionalId": pro.get("id"), "professionalName": pro.get("name")})
    lists = {}
    for (kind, which), query in OWN_REFERRALS.items():
        if kind != label:
            continue
        rows = await _own_pages(store, query, party)
        # A party to a referral reads its note; its own name shows in full.
        lists[which] = [_table_row(r, full=False, note=True, own=party) for r in rows]
    doc: Row = {"kind": label.lower(), "profile": profile, "jobs": jobs, "referrals": lists,
                "codes": codes_made}
    if memberships is not None:
        doc["memberships"] = memberships
    return doc
