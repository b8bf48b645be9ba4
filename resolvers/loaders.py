"""Per-request DataLoaders, named ``<thing>_by_<key>``.

Each batch function makes one store round trip (``UNWIND $ids`` or ``UNWIND $keys``) and returns
results in key order, so a page of N referrals with their three parties costs a fixed number of
round trips whatever N is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from graph import (
    customers,
    jobs,
    networks,
    professionals,
    reciprocity,
    referrals,
    risk,
    trust,
)
from graph.lists import ListKey
from graph.models import Customer, Job, Professional, Referral
from graph.shapes import OwnerWithPage
from graph.store import Store

K = TypeVar("K")
V = TypeVar("V")

# What ``cached`` answers for a key the loader does not hold yet.
MISSING: Any = object()


def cached(loader: DataLoader[K, V], key: K) -> V:
    """The value ``loader`` already holds for ``key`` (primed or loaded earlier in the request),
    or ``MISSING``. A field whose value is in hand then returns it at once instead of awaiting
    a future: no coroutine, no task, no trip through the event loop."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return MISSING
    value: V = future.result()
    return value


def _loader(
    store: Store, batch: Callable[[Store, Sequence[K]], Awaitable[Sequence[V]]]
) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> Sequence[V]:
        return await batch(store, keys)

    return DataLoader(load_fn=load)


def _referral_pages(which: str) -> Callable[[Store, Sequence[ListKey]], Awaitable[Any]]:
    async def batch(store: Store, keys: Sequence[ListKey]) -> Any:
        return await referrals.referral_pages(store, which, keys)

    return batch


class Loaders:
    """All loaders of one request."""

    def __init__(self, store: Store) -> None:
        self.professional_by_id = _loader(store, professionals.professionals_by_ids)
        self.customer_by_id = _loader(store, customers.customers_by_ids)
        self.hired_by_pair = _loader(store, customers.hired_pairs)
        self.job_by_id = _loader(store, jobs.jobs_by_ids)
        self.referral_by_id = _loader(store, referrals.referrals_by_ids)
        self.network_by_id = _loader(store, networks.networks_by_ids)
        self.networks_by_professional = _loader(store, networks.networks_of_professionals)
        self.members_by_network = _loader(store, networks.members_of_networks)
        self.invited_by_network = _loader(store, networks.invited_to_networks)
        self.jobs_by_professional = _loader(store, jobs.jobs_of_professionals)
        self.jobs_by_customer = _loader(store, jobs.jobs_of_customers)
        self.referrals_received_by_professional = _loader(store, _referral_pages("received"))
        self.referrals_given_by_professional = _loader(store, _referral_pages("given"))
        self.referrals_made_by_customer = _loader(store, _referral_pages("made"))
        self.referrals_received_by_customer = _loader(store, _referral_pages("introduced"))
        self.balance_by_key = _loader(store, reciprocity.professional_balances)
        self.trend_by_key = _loader(store, reciprocity.trends)
        self.member_graph_by_key = _loader(store, reciprocity.member_graphs)
        self.chain_by_key = _loader(store, trust.chains)
        self.risk_by_professional = _loader(store, risk.professional_risks)
        self.risk_by_referral = _loader(store, risk.referral_risks)

    def prime_professional_with_received(
        self, professional_id: str, key: ListKey, found: OwnerWithPage[Professional, Referral]
    ) -> None:
        """Hand a professional and its page of received referrals, read in one statement
        (``graph.shapes``), to the loaders that the fields below would ask."""
        self.professional_by_id.prime(professional_id, found.owner)
        if found.page is not None:
            self.referrals_received_by_professional.prime(key, found.page)

    def prime_customer_with_jobs(
        self, customer_id: str, key: ListKey, found: OwnerWithPage[Customer, Job]
    ) -> None:
        """Hand a customer and its page of jobs, read in one statement, to their loaders."""
        self.customer_by_id.prime(customer_id, found.owner)
        if found.page is not None:
            self.jobs_by_customer.prime(key, found.page)
