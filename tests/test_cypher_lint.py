"""Neo4j 5 compatibility of the Cypher the service sends, checked without a Neo4j server.

The suite runs on the embedded store, which accepts some Cypher that Neo4j refuses (``id()``,
``exists(n.prop)``, ``size(pattern)``) and refuses nothing for being deprecated. So every
statement the run sent (noted by the ``cypher_log`` fixture of tests/cypher_capture.py; this
module runs last) and every Cypher constant of ``graph/`` is linted with Neo4j's own front end,
the npm package ``@neo4j-cypher/language-support``, as ``CYPHER 5``: no error and no warning may
remain, except the ones that only say the schema given to the linter is empty.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from cypher_capture import CypherLog, normalise

import graph
from app.main import AppState, load_demo_if_empty, open_store
from app.settings import load_settings
from graph import analytics, bulk
from seeds.complementary_trades import CURATED
from seeds.synthetic import synthetic_dataset

LANGUAGE_SUPPORT = "@neo4j-cypher/language-support@2.0.0-next.38"
NODE_SCRIPT = Path(__file__).with_name("cypher_lint.cjs")
ROOT = Path(__file__).resolve().parent.parent
VERSION_PREFIX = "CYPHER 5 "
# Statements per node process: bounds its memory and the size of one JSON answer.
BATCH = 250

# The linter's schema lists no labels, types or properties and no parameters, so it warns about
# every one a statement names (a label tested in an expression, ``a:Customer``, as "label or
# relationship type"): those warnings say nothing about the statement. The other harmless
# warning is the cartesian product of patterns that each find one node by its unique id. Every
# other warning fails, like every error: Neo4j words its deprecations in many ways ("is
# deprecated", "will change in a future version"), so no wording marks a warning as harmless.
EMPTY_SCHEMA_WARNING = re.compile(
    r"(?:Label |Relationship type |Label or relationship type )?\S+ is not present in the "
    r"database\. "
)
CARTESIAN_PRODUCT = re.compile(
    r"If a part of a query contains multiple disconnected patterns, this will build a cartesian "
    r"product"
)
UNDEFINED_PARAMETER = re.compile(r"Parameter \$\w+ is not defined\.")
WARNING = 2

# How a Cypher constant starts (upper case, as graph/ writes them), and the marks of a template
# that is formatted before it is sent (its formatted forms are constants or are captured).
CYPHER_START = re.compile(
    r"(?:MATCH|OPTIONAL\s+MATCH|MERGE|CREATE|UNWIND|CALL|WITH|RETURN|SHOW|DROP|FOREACH|USE)\b"
)
TEMPLATE = re.compile(r"\{\{|\{[A-Za-z_]\w*\}")
# ``CALL (x) { ... }``: a subquery with a variable scope clause, Neo4j 5.23 or later.
SCOPED_CALL = re.compile(r"\bCALL\s*\([^)]*\)\s*\{")
SCOPED_CALL_SINCE = (5, 23)
COMPOSE_IMAGE = re.compile(r"^\s*image:\s*neo4j:(\S+)\s*$", re.MULTILINE)

KNOWN_BAD = "MATCH (n) WHERE exists(n.x) RETURN id(n)"
UNSCOPED_CALL = "MATCH (p:Professional) CALL { WITH p RETURN p.name AS name } RETURN name"
GOOD = (
    "MATCH (p:Professional {id: $id}), (c:Customer {id: $customerId}) "
    "CALL (p) { MATCH (p)<-[:DONE_BY]-(j:Job) RETURN count(j) AS jobs } "
    "RETURN p.name AS name, c.name AS customer, jobs"
)


@dataclass(frozen=True)
class Finding:
    statement: str
    severity: int
    message: str
    excerpt: str

    def __str__(self) -> str:
        kind = "warning" if self.severity == WARNING else "error"
        statement = textwrap.indent(textwrap.dedent(self.statement).strip(), "      ").lstrip()
        return f"{kind}: {self.message}\n  at: {self.excerpt!r}\n  in: {statement}"


def is_noise(severity: int, message: str) -> bool:
    return bool(
        UNDEFINED_PARAMETER.fullmatch(message)
        or (severity == WARNING
            and (EMPTY_SCHEMA_WARNING.match(message) or CARTESIAN_PRODUCT.match(message)))
    )


class CypherLinter:
    """Neo4j's front end, installed with npm into ``prefix`` and run by node over batches."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix

    def lint(self, statements: Iterable[str]) -> list[Finding]:
        first: dict[str, str] = {}
        for statement in statements:
            first.setdefault(normalise(statement), statement)
        distinct = list(first.values())
        findings: list[Finding] = []
        for start in range(0, len(distinct), BATCH):
            findings.extend(self._lint_batch(distinct[start : start + BATCH]))
        return findings

    def _lint_batch(self, statements: list[str]) -> list[Finding]:
        texts = [s if s.lstrip().startswith("CYPHER") else VERSION_PREFIX + s for s in statements]
        batch = self.prefix / "statements.json"
        batch.write_text(json.dumps(texts))
        done = subprocess.run(
            ["node", str(NODE_SCRIPT), str(self.prefix), str(batch)],
            capture_output=True, text=True, timeout=600, check=False,
        )
        assert done.returncode == 0, f"the Cypher linter failed:\n{done.stderr}"
        answers = json.loads(done.stdout)
        assert len(answers) == len(statements)
        return [
            Finding(statement, d["severity"], d["message"], text[d["start"] : d["end"]])
            for statement, text, diagnostics in zip(statements, texts, answers, strict=True)
            for d in diagnostics
            if not is_noise(d["severity"], d["message"])
        ]


@pytest.fixture(scope="module")
def linter(tmp_path_factory: pytest.TempPathFactory) -> CypherLinter:
    npm = shutil.which("npm")
    assert npm is not None and shutil.which("node"), "the Cypher lint needs node and npm"
    prefix = tmp_path_factory.mktemp("cypher-lint")
    # The package declares node 24 and runs on node 20: the engine warning is noise.
    done = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
         "--loglevel=error", LANGUAGE_SUPPORT],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, f"npm install {LANGUAGE_SUPPORT} failed:\n{done.stderr}"
    return CypherLinter(prefix)


async def _run_cli_paths(data_dir: Path) -> None:
    """What ``serve --demo`` and ``seed`` do to a store, on a fresh embedded one: its schema,
    the demo loaded into it while empty (plain CREATEs), a data set loaded into it once it holds
    data (MERGEs) and the analytics refresh."""
    state = AppState()
    settings = load_settings({"RG_DATA_DIR": str(data_dir)})
    store = await open_store(settings, state)
    try:
        assert await load_demo_if_empty(store, settings.analytics_timeout)
        await bulk.load(store, synthetic_dataset(6, 20, 30, 20, seed=5))
        await analytics.refresh(store, curated=CURATED)
    finally:
        await store.close()
        if state.server is not None:
            await asyncio.to_thread(state.server.stop)


@pytest.fixture(scope="module")
def cli_paths(tmp_path_factory: pytest.TempPathFactory, cypher_log: CypherLog) -> None:
    """The command line sends its statements from child processes, out of the log's sight: its
    code paths run here in-process instead (in a thread, on an event loop of their own)."""
    data_dir = tmp_path_factory.mktemp("lint-store")
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _run_cli_paths(data_dir)).result(timeout=600)


def _cypher_in(value: object, depth: int = 0) -> Iterator[str]:
    if isinstance(value, str):
        text = value.strip()
        if CYPHER_START.match(text) and not TEMPLATE.search(text):
            yield value
    elif isinstance(value, tuple | list | set | frozenset | dict) and depth < 3:
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            yield from _cypher_in(item, depth + 1)


def graph_constants() -> list[str]:
    """Every public module-level Cypher string of graph/ (also inside tuples and dicts)."""
    found: list[str] = []
    for info in pkgutil.walk_packages(graph.__path__, "graph."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if not name.startswith("_"):
                found.extend(_cypher_in(value))
    return found


def report(findings: list[Finding]) -> str:
    statements = {normalise(f.statement) for f in findings}
    return (f"{len(findings)} findings in {len(statements)} statements that Neo4j 5 refuses or "
            "deprecates:\n\n" + "\n\n".join(str(f) for f in findings))


def test_the_lint_flags_what_neo4j_5_refuses_and_passes_what_it_runs(linter):
    findings = linter.lint([KNOWN_BAD, UNSCOPED_CALL, GOOD])
    messages = {
        s: [f.message for f in findings if f.statement == s] for s in (KNOWN_BAD, UNSCOPED_CALL)
    }
    assert any("exists(variable.property)" in m for m in messages[KNOWN_BAD]), findings
    assert any("id is deprecated" in m for m in messages[KNOWN_BAD]), findings
    assert any("deprecated" in m for m in messages[UNSCOPED_CALL]), findings
    # Labels, properties and parameters unknown to the empty schema are not findings, nor is the
    # cartesian product of two lookups by id.
    assert [f for f in findings if f.statement == GOOD] == []


def test_graph_constants_are_collected():
    constants = {normalise(s) for s in graph_constants()}
    assert normalise(bulk.CREATE_CUSTOMERS) in constants
    assert normalise(bulk.LOAD_CUSTOMER_REFERRALS) in constants
    assert not any("{label}" in s for s in constants)


def test_every_statement_sent_and_every_constant_is_neo4j_5_cypher(cypher_log, cli_paths, linter):
    sent = cypher_log.statements()
    # The statements of the command line's paths were captured.
    assert normalise(bulk.CREATE_CUSTOMERS) in {normalise(s) for s in sent}
    findings = linter.lint(sent + graph_constants())
    assert not findings, report(findings)


def neo4j_version(tag: str) -> tuple[int, ...]:
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?(?:-(?:community|enterprise))?$", tag)
    assert match, f"docker-compose.yml must pin a Neo4j version, not {tag!r}"
    return tuple(int(part) for part in match.groups() if part is not None)


def test_compose_and_readme_pin_a_neo4j_that_runs_every_statement(cypher_log, cli_paths):
    tags = COMPOSE_IMAGE.findall((ROOT / "docker-compose.yml").read_text())
    assert len(tags) == 1, tags
    version = neo4j_version(tags[0])
    scoped = [s for s in cypher_log.statements() + graph_constants() if SCOPED_CALL.search(s)]
    if scoped:
        assert version[:2] >= SCOPED_CALL_SINCE, (
            f"neo4j:{tags[0]} cannot run CALL (x) {{ ... }} (Neo4j 5.23 or later):\n"
            + scoped[0]
        )
    assert f"neo4j:{tags[0]}" in (ROOT / "README.md").read_text()
