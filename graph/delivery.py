"""The webhook sender: one per service process, sharing the work through leases in the store.

Each process runs a :class:`Deliverer`. On every turn (nudged by the process's event pump, else
every ``poll`` seconds) it fans new events out into deliveries (:func:`graph.webhooks.fan_out`),
renews the leases it holds, and leases busy webhooks whose work is due, up to ``max_hooks`` at a
time. Each leased webhook gets a task of its own, with its own HTTP client: a slow or dead
receiver holds up its own task only, never the API nor another webhook.

A webhook whose work has run out keeps its lease for :data:`LINGER` seconds more, looking
again as soon as this process fans deliveries out to it (and at each poll, for another
process's): a receiver that just got an event is likely to get the next soon, and giving the
lease back only to lease it again costs three transactions per event.

A webhook's task sends its new deliveries one at a time in ``seq`` order (so a receiver sees
first attempts in order), and the retries that are due beside them, at most
:data:`RETRY_CONCURRENCY` at once: a failing event retries on its own schedule and never holds
back later ones. Outcomes are written in small batches: deliveries that succeed up to
:data:`FLUSH_EVERY` at a time or after :data:`FLUSH_SECONDS` (the task reads on after the last
one it sent meanwhile), anything that must be tried again at once. A process killed
mid-delivery leaves its attempts unrecorded: once its lease has run out another process (or
this one, restarted) sends them again, first attempts still in order (at least once; receivers
drop repeats by event id).

Each attempt POSTs the delivery's JSON with ``RG-Event-Id``, ``RG-Event-Seq`` and
``RG-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``. A 2xx answer delivers
it; anything else, a timeout (``timeout`` seconds for the whole attempt, the address lookup
included) or a refused address retries after ``retry_base * retry_factor ** (attempts - 1)``
seconds with equal jitter (half fixed, half random), until ``max_attempts``, then FAILED.
Redirects are not followed and response bodies are never read: only the status is kept.
Before every attempt the URL's host is resolved and checked again (:mod:`graph.ssrf`), and the
request goes to the address that was checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import random
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from graph import events, ssrf, webhooks
from graph.sealing import SealError, SecretBox
from graph.store import Store
from graph.webhooks import Attempt, DeliveryStatus, Held, Pending

log = logging.getLogger(__name__)

USER_AGENT = "referral-graph-webhooks/1"
# New deliveries read per turn of a webhook's task, and outcomes written per batch.
FRESH_PAGE = 20
FLUSH_EVERY = 10
FLUSH_SECONDS = 1.0
# Retries of one webhook in flight at once.
RETRY_CONCURRENCY = 4
# Webhooks one process sends for at once.
MAX_HOOKS = 64
# A lease outlives the longest attempt twice over, and this much more.
LEASE_MARGIN = 3.0
# The longest wait between two attempts, whatever the factor says.
MAX_BACKOFF = 24 * 3600.0
PURGE_EVERY = 30.0
# Seconds the sender waits, once nudged, for more events to fan out in the same turn.
GATHER = 0.05
# Seconds a webhook's task waits for more work before it gives the lease back.
LINGER = 1.0


def signature(secret: str, body: bytes, t: int) -> str:
    """The ``RG-Signature`` header of ``body`` sent at ``t`` (unix seconds).

    >>> signature("whsec_x", b'{"id":"evt_1"}', 1700000000)[:40]
    't=1700000000,v1=366e40c480fe3a9e6a03609d'
    """
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass(frozen=True)
class Policy:
    """How deliveries are retried and bounded (the RG_WEBHOOK_* settings)."""

    retry_base: float = 30.0
    retry_factor: float = 2.0
    max_attempts: int = 8
    timeout: float = 10.0
    allow_private: bool = False

    @property
    def lease(self) -> float:
        """Seconds a webhook's lease lasts between renewals."""
        return 2 * self.timeout + LEASE_MARGIN

    def backoff(self, attempts: int, draw: Callable[[], float] = random.random) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones: the exponential
        delay with equal jitter, in [delay / 2, delay).

        >>> low, high = (lambda: 0.0), (lambda: 1.0)
        >>> policy = Policy(retry_base=30)
        >>> policy.backoff(1, low), policy.backoff(3, low), policy.backoff(3, high)
        (15.0, 60.0, 120.0)
        """
        delay = min(MAX_BACKOFF, self.retry_base * self.retry_factor ** (attempts - 1))
        return delay / 2 + draw() * delay / 2

    def outcome(self, pending: Pending, webhook_id: str, code: int | None,
                at: float) -> Attempt:
        """What an attempt started at ``at`` (unix seconds) and answered with ``code`` (None:
        no answer) makes of ``pending``."""
        attempts = pending.attempts + 1
        moment = datetime.fromtimestamp(at, UTC)
        if code is not None and 200 <= code < 300:
            status, next_at = DeliveryStatus.DELIVERED, None
        elif attempts >= self.max_attempts:
            status, next_at = DeliveryStatus.FAILED, None
        else:
            status = DeliveryStatus.PENDING
            next_at = moment + timedelta(seconds=self.backoff(attempts))
        return Attempt(pending.id, webhook_id, attempts, status, code, moment, next_at)


class Deliverer:
    """One process's webhook sender (see the module's notes)."""

    def __init__(self, store: Store, box: SecretBox, policy: Policy, *, poll: float = 0.25,
                 max_hooks: int = MAX_HOOKS, holder: str | None = None) -> None:
        self.store = store
        self.box = box
        self.policy = policy
        self.poll = poll
        self.max_hooks = max_hooks
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._workers: dict[str, asyncio.Task[None]] = {}
        # Set when this process fans deliveries out to a held webhook (see ``_drain``).
        self._fanned: dict[str, asyncio.Event] = {}
        self._tls: ssl.SSLContext | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._renewed = 0.0
        self._purged = 0.0

    # -- the process's loop

    def nudge(self) -> None:
        """Look now rather than at the next poll (new events, or a retry due)."""
        self._wake.set()

    def _nudge_at(self, epoch: float) -> None:
        delay = max(0.0, epoch - time.time())
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                self._timers.discard(handle)
            self.nudge()

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    async def step(self) -> None:
        """Fan out, renew, claim: one turn of the loop."""
        woken: set[str] = set()
        if (await webhooks.fan_out_some(self.store, woken=woken)
                and len(self._workers) < self.max_hooks):
            self._wake.set()  # more pages may follow: keep going
        for hook_id in woken:
            if hook_id in self._fanned:
                self._fanned[hook_id].set()
        await self._renew()
        await self._claim()
        if time.monotonic() - self._purged > PURGE_EVERY:
            self._purged = time.monotonic()
            await webhooks.purge(self.store)

    async def _renew(self) -> None:
        if not self._workers or time.monotonic() - self._renewed < self.policy.lease / 3:
            return
        self._renewed = time.monotonic()
        kept = await webhooks.renew(self.store, self._workers, self.holder, self.policy.lease)
        for lost in set(self._workers) - kept:
            log.warning("webhook lease lost", extra={"webhook": lost})
            self._workers[lost].cancel()

    async def _claim(self) -> None:
        free = self.max_hooks - len(self._workers)
        if free <= 0:
            return
        wanted = [i for i in await webhooks.due(self.store, free) if i not in self._workers]
        if not wanted:
            return
        if not self._workers:
            self._renewed = time.monotonic()
        for hook in await webhooks.claim(self.store, wanted, self.holder, self.policy.lease):
            task = asyncio.create_task(self._serve(hook), name=f"webhook-{hook.id}")
            self._workers[hook.id] = task
            task.add_done_callback(self._finished(hook.id))

    def _finished(self, webhook_id: str) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            if self._workers.get(webhook_id) is task:
                del self._workers[webhook_id]

        return done

    async def run(self) -> None:
        await events.poll_loop(self.step, self._wake, self.poll, "webhook", GATHER)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="webhook-deliverer")

    async def stop(self) -> None:
        """Stop sending; the leases held are given back so that another process takes over
        at once (what was in flight is sent again)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        held = list(self._workers)
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await webhooks.drop_leases(self.store, held, self.holder)

    # -- one webhook

    async def _serve(self, hook: Held) -> None:
        try:
            secret = self.box.open(hook.secret)
        except SealError:
            # Another process may hold the right key: the lease runs out and it takes over.
            log.error("webhook secret does not open", extra={"webhook": hook.id})
            return
        try:
            async with self._client() as client:
                await self._drain(client, hook, secret)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Whatever was not recorded is sent again once the lease has run out.
            log.warning("webhook delivery failed", extra={"webhook": hook.id,
                                                          "error": str(exc)})

    def _client(self) -> httpx.AsyncClient:
        if self._tls is None:
            # Made once: loading the certificate authorities takes tens of milliseconds of
            # this process's event loop, which every webhook's task would otherwise pay.
            self._tls = httpx.create_ssl_context()
        return httpx.AsyncClient(
            verify=self._tls, timeout=httpx.Timeout(self.policy.timeout), follow_redirects=False,
            # No proxies or credentials from the environment: the address checked is the one
            # connected to.
            trust_env=False,
            limits=httpx.Limits(max_connections=1 + RETRY_CONCURRENCY,
                                max_keepalive_connections=1 + RETRY_CONCURRENCY),
        )

    async def _drain(self, client: httpx.AsyncClient, hook: Held, secret: str) -> None:
        gate = asyncio.Semaphore(RETRY_CONCURRENCY)

        async def retry(pending: Pending, url: str) -> Attempt:
            async with gate:
                return await self._attempt(client, hook.id, url, secret, pending)

        fanned = self._fanned[hook.id] = asyncio.Event()
        try:
            await self._send_all(client, hook, secret, fanned, retry)
        finally:
            if self._fanned.get(hook.id) is fanned:
                del self._fanned[hook.id]

    async def _send_all(self, client: httpx.AsyncClient, hook: Held, secret: str,
                        fanned: asyncio.Event,
                        retry: Callable[[Pending, str], Coroutine[Any, Any, Attempt]]) -> None:
        idle = 0.0
        # Attempts made and not yet written, oldest first; the last new delivery sent.
        unrecorded: list[Attempt] = []
        oldest = 0.0
        sent: int | None = None

        async def flush() -> None:
            if unrecorded:
                await webhooks.record(self.store, unrecorded)
                unrecorded.clear()

        while True:
            if unrecorded and (len(unrecorded) >= FLUSH_EVERY
                               or time.monotonic() - oldest > FLUSH_SECONDS):
                await flush()
            # Cleared before the read: a fan-out that commits after it sets it again.
            fanned.clear()
            work = await webhooks.next_work(self.store, hook.id, self.holder, FRESH_PAGE,
                                            RETRY_CONCURRENCY, after=sent)
            if work is None:
                return
            if not work.fresh and not work.due:
                if idle < LINGER:
                    idle += await self._linger(fanned, idle)
                    continue
                # Written before the lease goes: the lanes then hold only what is left to do.
                await flush()
                wake = await webhooks.release(self.store, hook.id, self.holder)
                if wake is not None:
                    self._nudge_at(wake)
                return
            idle = 0.0
            retries = [asyncio.create_task(retry(p, work.url)) for p in work.due]
            if not unrecorded:
                oldest = time.monotonic()
            try:
                for pending in work.fresh:
                    unrecorded.append(
                        await self._attempt(client, hook.id, work.url, secret, pending))
                    sent = pending.seq
                    if len(unrecorded) >= FLUSH_EVERY:
                        await flush()
                        oldest = time.monotonic()
                unrecorded.extend(await asyncio.gather(*retries))
            finally:
                for task in retries:
                    task.cancel()
            if work.due or any(a.status is not DeliveryStatus.DELIVERED for a in unrecorded):
                # A retry is written at once: the retry lane is read by when it is due.
                await flush()
            if len(work.fresh) < FRESH_PAGE and not work.due:
                # The read held all the new work there was, and all of it is sent: no need to
                # read again before more is fanned out.
                idle += await self._linger(fanned, idle)

    async def _linger(self, fanned: asyncio.Event, idle: float) -> float:
        """Wait until this process fans work out to the webhook, or a poll's time (another
        process's fan-out is seen by the next read); the seconds waited."""
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(max(self.poll, 0.05), LINGER - idle)):
                await fanned.wait()
        return time.monotonic() - started

    async def _attempt(self, client: httpx.AsyncClient, webhook_id: str, url: str,
                       secret: str, pending: Pending) -> Attempt:
        started = time.time()
        code: int | None = None
        try:
            async with asyncio.timeout(self.policy.timeout):
                code = await self._post(client, webhook_id, url, secret, pending)
        except ssrf.Refused as exc:
            log.warning("webhook address refused", extra={"webhook": webhook_id,
                                                          "error": str(exc)})
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            log.info("webhook attempt failed", extra={"webhook": webhook_id,
                                                      "error": type(exc).__name__})
        return self.policy.outcome(pending, webhook_id, code, started)

    async def _post(self, client: httpx.AsyncClient, webhook_id: str, url: str, secret: str,
                    pending: Pending) -> int:
        target = ssrf.parse(url, allow_private=self.policy.allow_private)
        addresses = await ssrf.check_host(target, allow_private=self.policy.allow_private,
                                          timeout=self.policy.timeout)
        given = httpx.URL(url)
        # The request goes to the address just checked, not to a second lookup's answer; the
        # Host header and TLS (SNI and the certificate's name) keep the URL's host.
        pinned = given.copy_with(host=str(addresses[0]))
        body = pending.body.encode()
        headers = {
            "host": given.netloc.decode("ascii"), "content-type": "application/json",
            "user-agent": USER_AGENT, "rg-event-id": pending.event_id,
            "rg-event-seq": str(pending.seq), "rg-webhook-id": webhook_id,
            "rg-signature": signature(secret, body, int(time.time())),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = client.build_request("POST", pinned, content=body, headers=headers,
                                       extensions=extensions)
        response = await client.send(request, stream=True)
        await response.aclose()  # the body is never read, nor kept
        return response.status_code


__all__ = ["Deliverer", "Policy", "signature"]
