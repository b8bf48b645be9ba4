"""Pytest plugin: every Cypher statement the suite sends through the driver, for the Neo4j lint.

The session fixture wraps the driver's ``run`` (sessions and transactions, async and sync) for
the whole run. The wrapper still calls the real method; it only notes the statement text once the
store has accepted it (a statement the store refused was never run, and a test may send one on
purpose). ``tests/test_cypher_lint.py`` lints what was noted, so this plugin also moves that module
to the end of the run, where it sees the statements of every other test.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import neo4j
import pytest

LINT_MODULE = "test_cypher_lint.py"


def normalise(statement: str) -> str:
    """The key that dedupes statements: the text with its whitespace collapsed."""
    return " ".join(statement.split())


class CypherLog:
    """Distinct statements in the order first sent, each as first sent (for readable reports)."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, query: object) -> None:
        text = query.text if isinstance(query, neo4j.Query) else query
        if not isinstance(text, str):
            return
        with self._lock:
            self._seen.setdefault(normalise(text), text)

    def statements(self) -> list[str]:
        with self._lock:
            return list(self._seen.values())


def _defining(cls: type, name: str) -> type:
    """The class in ``cls``'s MRO that defines ``name``: patch it once, for all subclasses."""
    return next(c for c in cls.__mro__ if name in vars(c))


def _targets() -> list[type]:
    classes = (neo4j.AsyncSession, neo4j.AsyncManagedTransaction, neo4j.AsyncTransaction,
               neo4j.Session, neo4j.ManagedTransaction, neo4j.Transaction)
    return list(dict.fromkeys(_defining(cls, "run") for cls in classes))


def _async_wrapper(original: Callable[..., Any], log: CypherLog) -> Callable[..., Any]:
    @functools.wraps(original)
    async def run(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, query, *args, **kwargs)
        log.add(query)
        return result

    return run


def _sync_wrapper(original: Callable[..., Any], log: CypherLog) -> Callable[..., Any]:
    @functools.wraps(original)
    def run(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, query, *args, **kwargs)
        log.add(query)
        return result

    return run


@pytest.fixture(scope="session", autouse=True)
def cypher_log() -> Iterator[CypherLog]:
    """The statements sent so far in this run (autouse: capture starts before any store)."""
    log = CypherLog()
    with pytest.MonkeyPatch.context() as patch:
        for cls in _targets():
            original = vars(cls)["run"]
            wrap = _async_wrapper if cls.__module__.startswith("neo4j._async") else _sync_wrapper
            patch.setattr(cls, "run", wrap(original, log))
        yield log


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the lint module last, after every test whose statements it checks."""
    last = [item for item in items if item.path.name == LINT_MODULE]
    if last:
        items[:] = [item for item in items if item.path.name != LINT_MODULE] + last
