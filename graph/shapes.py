"""Common request shapes read in one statement.

A professional asked for with its newest received referrals (the profile page's question)
would take two round trips through the loaders: the professional, then the page of referrals
with their parties. :func:`professional_with_received` reads both in one statement; the
resolvers hand the parts to the same loaders, so the fields below resolve from the loader
cache exactly as on the two-trip path.

The statement is the professional's lookup followed by the batched page query of
``graph.referrals`` for one key, so the page's rows, order, cut and total are those of the
loader's own query.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.lists import ListKey, ListQuery
from graph.models import Professional, Referral
from graph.pagination import Page, make_page
from graph.professionals import PROFESSIONAL_MAP
from graph.referrals import LIST_QUERIES, _referral_key
from graph.store import Store

# Where the batched page query returns its rows; the professional joins them there.
_PAGE_RETURN = "RETURN k.i AS i,"


def _after_professional(page: str) -> str:
    """``page`` (a batched list query over ``$keys``) preceded by the professional ``$id``."""
    head, marker, tail = page.rpartition(_PAGE_RETURN)
    assert marker, "the page query's RETURN moved"
    return (f"MATCH (p:Professional {{id: $id}})\nWITH {PROFESSIONAL_MAP} AS professional\n"
            f"{head}RETURN professional, k.i AS i,{tail}")


def _shape(query: ListQuery) -> ListQuery:
    return ListQuery(with_total=_after_professional(query.with_total),
                     without_total=_after_professional(query.without_total))


PROFESSIONAL_WITH_RECEIVED = _shape(LIST_QUERIES["received"])


@dataclass(frozen=True)
class ProfessionalWithReferrals:
    professional: Professional | None
    page: Page[Referral] | None  # None when there is no such professional


async def professional_with_received(
    store: Store, professional_id: str, key: ListKey
) -> ProfessionalWithReferrals:
    """The professional and the page ``key`` of the referrals it received, one round trip.
    ``key.owner`` must be ``professional_id``."""
    assert key.owner == professional_id
    text = PROFESSIONAL_WITH_RECEIVED.with_total if key.total else (
        PROFESSIONAL_WITH_RECEIVED.without_total)
    rows = await store.read(text, id=professional_id, keys=[key.param(0)],
                            limit=key.page.first + 1)
    if not rows:
        return ProfessionalWithReferrals(None, None)
    row = rows[0]
    items = [Referral.from_row(item) for item in row["rows"]][: key.page.first + 1]
    page = make_page(items, key.page, row["total"], _referral_key)
    return ProfessionalWithReferrals(Professional.from_row(row["professional"]), page)
