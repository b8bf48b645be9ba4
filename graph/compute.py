"""CPU-bound graph work (networkx) off the event loop, a few jobs at a time.

A trust search or a partner ranking can take a noticeable slice of a second on a large
neighbourhood; on the event loop it would hold up every other request, `/healthz` included.
The pool is small because the work holds the GIL: more threads would not make it faster, only
let more of it wait in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

WORKERS = 2
_POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="graph-compute")


async def offload(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the compute pool; waits for a free worker when all are busy."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, partial(fn, *args, **kwargs))
