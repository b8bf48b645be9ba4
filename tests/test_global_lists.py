"""Global lists read in widening windows (graph.lists) page exactly like a sort of the whole list.

Each test walks a list page by page with whatever the windows learnt from earlier pages forced
to good, cold, far too narrow or far too wide values, and compares the rows with a brute-force
sort of the same rows in the store.
"""

from __future__ import annotations

import random
import string
from collections import OrderedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph import customers, lists, networks, professionals, referrals
from graph.ids import new_id
from graph.models import Customer, Professional, ReferralStatus
from graph.pagination import Page, PageRequest, encode_cursor

EXAMPLES = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# -- ids read as numbers ----------------------------------------------------------------------
id_text = st.text(alphabet=lists.ID_DIGITS, max_size=68)


@given(a=id_text, b=id_text)
def test_id_numbers_order_like_the_strings(a, b):
    if a < b:
        assert lists.id_number(a) <= lists.id_number(b)
    # Equal numbers only for strings that differ by trailing "-" (the lowest digit).
    if lists.id_number(a) == lists.id_number(b):
        assert a.rstrip("-") == b.rstrip("-")


@given(value=st.integers(0, lists.ID_SPACE - 1))
def test_id_strings_are_the_numbers_back(value):
    text = lists.id_string(value)
    assert lists.id_number(text) == value
    assert len(text) == lists.ID_PLACES


def test_a_character_outside_ids_reads_as_the_one_below_it():
    # "~" sorts after every id character, "!" before them all.
    assert lists.id_number("pro_~") == lists.id_number("pro_z")
    assert lists.id_number("pro_!") == lists.id_number("pro_-")


# -- directories by id --------------------------------------------------------------------------
TRADES = ["tiling", "roofing"]
PAGES = 200  # more than any walk here needs: a walk that repeats a page fails, not hangs
AREAS = ["North", "south"]
LIST_IDS = """
MATCH (x:{label}) WHERE x.id > $start AND x.id < $end
  AND ($trade IS NULL OR $trade IN x.trades) AND ($area IS NULL OR toLower(x.area) = $area)
RETURN x.id AS id ORDER BY id
"""


def _suffixes(rng: random.Random) -> list[str]:
    """Ids in clusters: a dense run, a few far apart, and some that share prefixes (so that one
    is a prefix of another)."""
    dense = [f"a{n:04d}" for n in range(25)]
    chars = string.ascii_letters + string.digits
    far = ["".join(rng.choice(chars) for _ in range(rng.randint(1, 30))) for _ in range(12)]
    nested = ["m", "m0", "m00", "m-", "m_", "mz", "M", "zzzz", "-", "0"]
    return dense + far + nested


@pytest.fixture(scope="module")
async def directory(store):
    """A namespace of professionals and customers whose ids all start with its prefix."""
    tag = new_id("x")[2:14]
    rng = random.Random(17)
    made = set()
    for i, suffix in enumerate(_suffixes(rng)):
        if suffix in made:
            continue
        made.add(suffix)
        trades = [TRADES[i % 2]] if i % 3 else TRADES
        await professionals.create_professional(store, professionals.NewProfessional(
            name=f"Pro {i}", trades=trades, area=AREAS[i % 2] if i % 5 else None,
            id=f"pro_{tag}{suffix}"))
        if i % 2:
            await customers.create_customer(store, customers.NewCustomer(
                name=f"Customer {i}", id=f"cus_{tag}{suffix}"))
    return tag


def _force(query: object, state: str, shape: tuple[object, ...], head: str) -> None:
    """Put the list's hints in ``state``."""
    key = query.first  # type: ignore[attr-defined]
    if state == "cold":
        lists._ID_HINTS.pop(key, None)
        return
    if state == "learnt":
        return
    density = {"narrow": 1e6, "wide": 1e-300, "unit": 1.0 / lists.ID_SPACE * 1e3}[state]
    hints = lists._ID_HINTS.setdefault(key, lists._IdHints())
    hints.head = lists.id_number(head)
    hints.density = OrderedDict({shape: density})


async def _walk(store, label, prefix, start, first, trade, area) -> list[str]:
    """Ids after ``start``, page by page, until a page leaves the namespace ``prefix`` or the
    list ends; those in the namespace."""
    seen: list[str] = []
    after: str | None = encode_cursor([start])
    for _ in range(PAGES):
        if after is None:
            break
        request = PageRequest.of(first, after, 1)
        page: Page[Professional] | Page[Customer]
        if label == "Professional":
            page = await professionals.list_professionals(
                store, request, trade=trade, area=area, total=False)
        else:
            page = await customers.list_customers(store, request, total=False)
        ids = [item.id for _, item in page.items]
        seen += ids
        after = page.end_cursor if page.has_next else None
        if ids and not ids[-1].startswith(prefix):
            break
    assert after is None or not seen[-1].startswith(prefix), "the walk does not end"
    assert len(seen) == len(set(seen))
    return [i for i in seen if i.startswith(prefix)]


@EXAMPLES
@given(
    label=st.sampled_from(["Professional", "Customer"]),
    first=st.sampled_from([1, 2, 3, 7, 20, 100]),
    state=st.sampled_from(["learnt", "cold", "narrow", "wide", "unit"]),
    trade=st.sampled_from([None, *TRADES]),
    area=st.sampled_from([None, *(a.lower() for a in AREAS)]),
    head=st.sampled_from(["", "pro_", "zzzz"]),
)
async def test_directories_page_exactly_like_a_sort_of_every_row(
    store, directory, label, first, state, trade, area, head
):
    if label == "Customer":
        trade = area = None
    prefix = ("pro_" if label == "Professional" else "cus_") + directory
    query = professionals.ALL_PROFESSIONALS if label == "Professional" else customers.ALL_CUSTOMERS
    shape = (("area", area), ("trade", trade)) if label == "Professional" else ()
    _force(query, state, shape, head)
    rows = await store.read(LIST_IDS.format(label=label), start=prefix, end=prefix + "~",
                            trade=trade, area=area)
    expected = [r["id"] for r in rows]
    assert expected  # every filter matches some of the namespace
    assert await _walk(store, label, prefix, prefix, first, trade, area) == expected
    # A cursor inside the namespace: the rows after it follow, none repeats.
    middle = expected[len(expected) // 2]
    assert await _walk(store, label, prefix, middle, first, trade, area) == [
        i for i in expected if i > middle]


async def test_a_directory_counts_every_row_under_its_filter(store, directory):
    for trade in [None, *TRADES]:
        for area in [None, "south"]:
            page = await professionals.list_professionals(
                store, PageRequest.of(5, None, 1), trade=trade, area=area)
            count = await store.read(
                "MATCH (p:Professional) WHERE ($trade IS NULL OR $trade IN p.trades) "
                "AND ($area IS NULL OR toLower(p.area) = $area) RETURN count(p) AS n",
                trade=trade, area=area)
            assert page.total == count[0]["n"]
            assert len(page.items) == min(5, page.total)
    page = await customers.list_customers(store, PageRequest.of(5, None, 1))
    assert page.total == (await store.read("MATCH (c:Customer) RETURN count(c) AS n"))[0]["n"]


async def test_the_first_page_of_a_directory_is_its_smallest_ids(store, directory):
    # Cold, then far too narrow: the first page is still the five smallest ids of all.
    for state in ["cold", "narrow", "wide"]:
        _force(customers.ALL_CUSTOMERS, state, (), "zzzz")
        page = await customers.list_customers(store, PageRequest.of(5, None, 1))
        smallest = await store.read("MATCH (c:Customer) RETURN c.id AS id ORDER BY id LIMIT 5")
        assert [c.id for _, c in page.items] == [r["id"] for r in smallest]
        # An id among the smallest, made after the list learnt where it starts, takes its
        # place on the first page (other tests of the shared store may have made smaller ones).
        made = await customers.create_customer(
            store, customers.NewCustomer(name="First", id=f"cus_---{state}"))
        page = await customers.list_customers(store, PageRequest.of(5, None, 1))
        smallest = await store.read("MATCH (c:Customer) RETURN c.id AS id ORDER BY id LIMIT 5")
        assert made.id in [r["id"] for r in smallest]
        assert [c.id for _, c in page.items] == [r["id"] for r in smallest]
        await store.run_write("MATCH (c:Customer {id: $id}) DETACH DELETE c", id=made.id)


async def test_an_empty_directory_and_one_past_its_end_are_empty_pages(store):
    for state in ["learnt", "cold", "narrow", "wide"]:
        _force(professionals.ALL_PROFESSIONALS, state, (("area", None), ("trade", None)), "")
        past = PageRequest.of(3, encode_cursor(["pro_zzzzzzzzzzzzzzzzzzzz"]), 1)
        page = await professionals.list_professionals(store, past)
        assert page.items == [] and not page.has_next
        # No professional has this trade: the window widens to the whole id space, then gives up.
        page = await professionals.list_professionals(
            store, PageRequest.of(3, None, 1), trade="no such trade here")
        assert page.items == [] and page.total == 0 and not page.has_next


@pytest.mark.parametrize("state", ["learnt", "cold", "narrow", "wide"])
async def test_an_admins_network_list_pages_like_a_sort(store, state):
    tag = new_id("x")[2:14]
    for suffix in ["a", "a0", "b", "k" * 20, "z"]:
        await networks.create_network(
            store, networks.NewNetwork(f"Net {suffix}", f"net_{tag}{suffix}"))
    prefix = f"net_{tag}"
    _force(networks.ALL_NETWORKS, state, (), "")
    rows = await store.read("MATCH (n:Network) WHERE n.id > $start RETURN n.id AS id ORDER BY id",
                            start=prefix)
    expected = [r["id"] for r in rows]
    seen: list[str] = []
    after: str | None = encode_cursor([prefix])
    for _ in range(PAGES):
        if after is None:
            break
        page = await networks.list_networks(store, PageRequest.of(2, after, 1), total=False)
        seen += [n.id for _, n in page.items]
        after = page.end_cursor if page.has_next else None
    assert seen == expected
    assert [n for n in seen if n.startswith(prefix)] == sorted(
        f"{prefix}{s}" for s in ["a", "a0", "b", "k" * 20, "z"])


async def test_the_professionals_of_a_network_page_from_the_network(store):
    net = await networks.create_network(store, networks.NewNetwork("Paged Circle"))
    members = []
    for i in range(5):
        pro = await professionals.create_professional(store, professionals.NewProfessional(
            name=f"Member {i}", trades=["tiling"] if i % 2 else ["roofing"]))
        await networks.add_member(store, net.id, pro.id, invite=i == 4)  # the last only invited
        members.append((pro.id, i % 2 == 1, i < 4))
    for trade, first in [(None, 1), (None, 3), ("tiling", 1)]:
        expected = sorted(m for m, tiling, active in members
                          if active and (trade is None or tiling))
        seen: list[str] = []
        after: str | None = None
        for _ in range(PAGES):
            page = await professionals.list_professionals(
                store, PageRequest.of(first, after, 1), trade=trade, network_id=net.id)
            assert page.total == len(expected)
            seen += [p.id for _, p in page.items]
            after = page.end_cursor
            if not page.has_next:
                break
        assert seen == expected


# -- referrals by createdAt ------------------------------------------------------------------
# Times in a period no other test uses, spread over seconds to decades, with ties.
TIMES = [
    "1950-12-31T23:59:59.000000+00:00",
    "1950-12-31T23:59:59.000000+00:00",
    "1950-12-31T23:00:00.000000+00:00",
    "1950-12-30T00:00:00.000000+00:00",
    "1950-06-01T00:00:00.000000+00:00",
    "1949-01-01T00:00:00.000000+00:00",
    "1930-01-01T00:00:00.000000+00:00",
    "1910-01-01T00:00:00.000000+00:00",
]
AFTER_ALL = "1951-01-01T00:00:00.000000+00:00"
OLDER = """
MATCH (x:Referral) WHERE x.createdAt < $start AND ($status IS NULL OR x.status = $status)
RETURN x.id AS id ORDER BY x.createdAt DESC, x.id DESC
"""
SET_ROW = "MATCH (x:Referral {id: $id}) SET x.createdAt = $at, x.status = $status"


@pytest.fixture(scope="module")
async def old_referrals(store):
    rng = random.Random(23)
    pro = await professionals.create_professional(
        store, professionals.NewProfessional(name="Old Pro", trades=["tiling"]))
    referrer = await customers.create_customer(store, customers.NewCustomer(name="Old Referrer"))
    for i in range(30):
        referee = await customers.create_customer(store, customers.NewCustomer(name=f"Old {i}"))
        made = await referrals.create_referral(store, referrals.NewReferral(
            referrer.id, pro.id, referee.id))
        status = rng.choice(["SENT", "SENT", "DECLINED", "EXPIRED"])
        await store.run_write(SET_ROW, id=made.id, at=rng.choice(TIMES), status=status)


@EXAMPLES
@given(
    first=st.sampled_from([1, 2, 5, 100]),
    status=st.sampled_from([None, "SENT", "DECLINED", "EXPIRED"]),
    width=st.sampled_from([None, "1s", "1h", "100y"]),
)
async def test_the_referral_list_pages_exactly_like_a_sort_of_every_row(
    store, old_referrals, first, status, width
):
    from datetime import timedelta

    widths = {"1s": timedelta(seconds=1), "1h": timedelta(hours=1),
              "100y": timedelta(days=36500)}
    hints = lists._HINTS.setdefault(referrals.ALL_REFERRALS.first, lists._Hints())
    if width is None:
        hints.width.clear()
    else:
        for shape in list(hints.width):
            hints.width[shape] = widths[width]
    expected = [r["id"] for r in await store.read(OLDER, start=AFTER_ALL, status=status)]
    seen: list[str] = []
    after: str | None = encode_cursor([AFTER_ALL, "ref_"])
    for _ in range(PAGES):
        if after is None:
            break
        page = await referrals.list_referrals(
            store, PageRequest.of(first, after, 2),
            None if status is None else ReferralStatus(status), total=False)
        seen += [r.id for _, r in page.items]
        after = page.end_cursor if page.has_next else None
    assert seen == expected
