"""Per-request DataLoaders, named ``<thing>_by_<key>``.

Each batch function makes one store round trip (``UNWIND $ids`` or ``UNWIND $keys``) and returns
results in key order, so a page of N referrals with their three parties costs a fixed number of
round trips whatever N is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar, overload

from strawberry.dataloader import DataLoader

from graph import (
    customers,
    jobs,
    leaderboard,
    measurement,
    networks,
    professionals,
    programs,
    reciprocity,
    referrals,
    rewards,
    risk,
    trust,
    webhooks,
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


class _OnFirstUse(Generic[K, V]):
    """A loader of :class:`Loaders`, made the first time a request asks for it: a request uses
    two or three of the nineteen, and making them all was a few percent of a small read's CPU.
    Once made it is an attribute of the request's Loaders (this descriptor defines no
    ``__set__``, so the instance's own attribute wins from then on)."""

    def __init__(self, batch: Callable[[Store, Sequence[K]], Awaitable[Sequence[V]]]) -> None:
        self.batch = batch

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, loaders: None, owner: type) -> _OnFirstUse[K, V]: ...

    @overload
    def __get__(self, loaders: Loaders, owner: type) -> DataLoader[K, V]: ...

    def __get__(self, loaders: Loaders | None, owner: type) -> Any:
        if loaders is None:
            return self
        loader = _loader(loaders.store, self.batch)
        loaders.__dict__[self.name] = loader
        return loader


def _referral_pages(which: str) -> Callable[[Store, Sequence[ListKey]], Awaitable[Any]]:
    async def batch(store: Store, keys: Sequence[ListKey]) -> Any:
        return await referrals.referral_pages(store, which, keys)

    return batch


def _reward_pages(of: str) -> Callable[[Store, Sequence[ListKey]], Awaitable[Any]]:
    async def batch(store: Store, keys: Sequence[ListKey]) -> Any:
        return await rewards.reward_pages(store, of, keys)

    return batch


class Loaders:
    """All loaders of one request."""

    professional_by_id = _OnFirstUse(professionals.professionals_by_ids)
    customer_by_id = _OnFirstUse(customers.customers_by_ids)
    hired_by_pair = _OnFirstUse(customers.hired_pairs)
    job_by_id = _OnFirstUse(jobs.jobs_by_ids)
    referral_by_id = _OnFirstUse(referrals.referrals_by_ids)
    network_by_id = _OnFirstUse(networks.networks_by_ids)
    programs_by_owner = _OnFirstUse(programs.programs_of_owners)
    networks_by_professional = _OnFirstUse(networks.networks_of_professionals)
    members_by_network = _OnFirstUse(networks.members_of_networks)
    invited_by_network = _OnFirstUse(networks.invited_to_networks)
    jobs_by_professional = _OnFirstUse(jobs.jobs_of_professionals)
    jobs_by_customer = _OnFirstUse(jobs.jobs_of_customers)
    referrals_received_by_professional = _OnFirstUse(_referral_pages("received"))
    referrals_given_by_professional = _OnFirstUse(_referral_pages("given"))
    referrals_made_by_customer = _OnFirstUse(_referral_pages("made"))
    referrals_received_by_customer = _OnFirstUse(_referral_pages("introduced"))
    balance_by_key = _OnFirstUse(reciprocity.professional_balances)
    trend_by_key = _OnFirstUse(reciprocity.trends)
    member_graph_by_key = _OnFirstUse(reciprocity.member_graphs)
    leaderboard_by_key = _OnFirstUse(leaderboard.leaderboards)
    funnel_by_key = _OnFirstUse(measurement.funnels)
    matrix_by_key = _OnFirstUse(measurement.matrices)
    network_trend_by_key = _OnFirstUse(measurement.network_trends)
    chain_by_key = _OnFirstUse(trust.chains)
    risk_by_professional = _OnFirstUse(risk.professional_risks)
    risk_by_referral = _OnFirstUse(risk.referral_risks)
    reward_by_id = _OnFirstUse(rewards.rewards_by_ids)
    rewards_by_referral = _OnFirstUse(rewards.rewards_of_referrals)
    rewards_by_recipient = _OnFirstUse(_reward_pages("recipient"))
    rewards_by_program = _OnFirstUse(_reward_pages("program"))
    reward_totals_by_recipient = _OnFirstUse(rewards.totals_of_recipients)
    webhook_by_id = _OnFirstUse(webhooks.webhooks_by_ids)
    deliveries_by_webhook = _OnFirstUse(webhooks.delivery_pages)

    def __init__(self, store: Store) -> None:
        self.store = store

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
