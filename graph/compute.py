"""CPU-bound graph work (networkx) off the event loop, a few jobs at a time.

A trust search or a partner ranking can take a noticeable slice of a second on a large
neighbourhood; on the event loop it would hold up every other request, `/healthz` included.
The pool is small because the work holds the GIL: more threads would not make it faster, only
let more of it wait in memory. A thread cannot be stopped from outside, so work that loops for
long asks :func:`stop_requested` between steps: true once its caller stopped waiting (the
request timed out or was cancelled).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

WORKERS = 2
_POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="graph-compute")
_STOP: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "graph_compute_stop", default=None)


def stop_requested() -> bool:
    """Whether the caller of the offloaded work running in this thread has stopped waiting."""
    stop = _STOP.get()
    return stop is not None and stop.is_set()


async def offload(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the compute pool; waits for a free worker when all are busy."""
    stop = threading.Event()

    def work() -> T:
        _STOP.set(stop)
        return fn(*args, **kwargs)

    context = contextvars.copy_context()
    try:
        return await asyncio.get_running_loop().run_in_executor(_POOL, context.run, work)
    except asyncio.CancelledError:
        stop.set()
        raise
