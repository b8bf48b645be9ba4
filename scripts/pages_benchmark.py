"""How long the organiser's and the customer's pages wait for their GraphQL calls.

Usage::

    python scripts/pages_benchmark.py --size small --rounds 5
    python scripts/pages_benchmark.py --data-dir DIR --rounds 20   # a store seeded before:
    referral-graph seed synthetic --professionals 10000 --customers 50000 --jobs 100000 \\
        --referrals 50000 --seed 1 --programs 20 --data-dir DIR

The documents are read from the shipped pages (``app/static/pages/network.js`` and
``trust.js``), so what is measured is what the pages send. With ``--size`` the synthetic network
of that size (with ``--programs`` reward programs, as ``referral-graph seed synthetic`` makes
it) is imported into an embedded store in a temporary folder and its analytics refreshed; with
``--data-dir`` an embedded store seeded before is opened as it is.

A page load is made as the page makes it, through the whole app in process (token check, HTTP
handling, parse, validation, cost, resolvers, driver):

- the organiser's page of the network with the most members, with an organiser token of that
  network: ``NetworkOverview``, then ``NetworkMeasures`` and ``NetworkGaps`` at the same time
  (and ``NetworkLeaderboard`` with them when the network has reward programs);
- the customer's page of a customer who reaches the most professionals through people it knows
  (of a sample), with that customer's token: ``TrustOverview``, then ``Trusted`` for one trade
  (the first trade of the most trusted professional it reaches, as a viewer would choose it).

After a short warm-up, each page is loaded ``--rounds`` times; the median and p95 of the whole
load (first call sent to last answered) and of each call are printed, with each call's estimated
cost against the limit. Figures only; nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse  # noqa: E402

PAGES = ROOT / "app" / "static" / "pages"
# The constants of each page that are GraphQL documents, in the order the page sends them.
NETWORK_PAGE = ("network.js", ("OVERVIEW", "MEASURES", "GAPS", "LEADERBOARD"))
TRUST_PAGE = ("trust.js", ("OVERVIEW", "TRUSTED"))
WARMUP = 3
CANDIDATES = """
MATCH (c:Customer)<-[:INTRODUCES]-(:Referral) WHERE c.erased IS NULL
RETURN DISTINCT c.id AS id ORDER BY id LIMIT 400
"""
SAMPLE = 30  # customers whose reach is compared to choose the trust page's customer


# -- the documents, read from the pages' source ----------------------------------------------
class ParseError(ValueError):
    """A constant is not the string expression this reader understands."""


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


class _Reader:
    """Reads one string expression of JavaScript from ``pos``: string literals, names of string
    constants met earlier, ``+`` between them, and ``[a, b, ...].join('sep')``."""

    def __init__(self, text: str, pos: int, known: dict[str, str]) -> None:
        self.text, self.pos, self.known = text, pos, known

    def _space(self) -> None:
        while self.pos < len(self.text):
            if self.text[self.pos].isspace():
                self.pos += 1
            elif self.text.startswith("//", self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif self.text.startswith("/*", self.pos):
                end = self.text.find("*/", self.pos + 2)
                if end < 0:
                    raise ParseError("unclosed comment")
                self.pos = end + 2
            else:
                return

    def _peek(self) -> str:
        self._space()
        return self.text[self.pos:self.pos + 1]

    def _expect(self, token: str) -> None:
        self._space()
        if not self.text.startswith(token, self.pos):
            raise ParseError(f"expected {token!r} at {self.pos}")
        self.pos += len(token)

    def expression(self) -> str:
        value = self._term()
        while self._peek() == "+":
            self.pos += 1
            value += self._term()
        return value

    def _term(self) -> str:
        c = self._peek()
        if c in ("'", '"'):
            return self._string()
        if c == "[":
            return self._joined()
        if c.isalpha() or c in "_$":
            start = self.pos
            while self.pos < len(self.text) and (self.text[self.pos].isalnum()
                                                 or self.text[self.pos] in "_$"):
                self.pos += 1
            name = self.text[start:self.pos]
            if name not in self.known:
                raise ParseError(f"{name} is not a string constant defined before")
            return self.known[name]
        raise ParseError(f"unexpected {c!r} at {self.pos}")

    def _joined(self) -> str:
        self._expect("[")
        items: list[str] = []
        while self._peek() != "]":
            items.append(self.expression())
            if self._peek() == ",":
                self.pos += 1
            elif self._peek() != "]":
                raise ParseError(f"expected ',' or ']' at {self.pos}")
        self.pos += 1
        self._expect(".join")
        self._expect("(")
        separator = "," if self._peek() == ")" else self._string()  # JavaScript's default
        self._expect(")")
        return separator.join(items)

    def _string(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(self.text) or self.text[self.pos] == "\n":
                raise ParseError("unclosed string")
            c = self.text[self.pos]
            self.pos += 1
            if c == quote:
                return "".join(out)
            if c != "\\":
                out.append(c)
                continue
            e = self.text[self.pos:self.pos + 1]
            self.pos += 1
            if e in ("u", "x"):
                width = 4 if e == "u" else 2
                digits = self.text[self.pos:self.pos + width]
                if len(digits) != width or any(d not in "0123456789abcdefABCDEF"
                                               for d in digits):
                    raise ParseError(f"bad \\{e} escape at {self.pos}")
                out.append(chr(int(digits, 16)))
                self.pos += width
            else:
                out.append(_ESCAPES.get(e, e))  # \' \" \\ and any other character as itself


def string_constants(source: str) -> dict[str, str]:
    """Every ``var NAME = <string expression>;`` of ``source`` that this reader understands, by
    name; a later definition of a name replaces an earlier one. Others are skipped."""
    found: dict[str, str] = {}
    for match in re.finditer(r"\bvar\s+([A-Za-z_$][\w$]*)\s*=", source):
        reader = _Reader(source, match.end(), found)
        try:
            value = reader.expression()
            reader._expect(";")
        except ParseError:
            continue
        found[match.group(1)] = value
    return found


def page_documents(page: tuple[str, tuple[str, ...]]) -> dict[str, str]:
    """The GraphQL documents of one page, by constant name; a missing one is an error."""
    filename, names = page
    constants = string_constants((PAGES / filename).read_text(encoding="utf-8"))
    missing = [n for n in names if n not in constants]
    if missing:
        raise ParseError(f"{filename}: no string constant {', '.join(missing)}")
    return {n: constants[n] for n in names}


def operation_of(document: str
                 ) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    """The one named operation of a page's document, and its fragments."""
    tree = parse(document)
    operations = [d for d in tree.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        raise ParseError("a page's document holds one named operation")
    fragments = {d.name.value: d for d in tree.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    return operations[0], fragments


# -- the page loads ---------------------------------------------------------------------------
@dataclass
class Load:
    """The times of one page over the rounds: the whole load and each call, in ms."""

    whole: list[float] = field(default_factory=list)
    calls: dict[str, list[float]] = field(default_factory=dict)

    def add(self, whole: float, calls: dict[str, float]) -> None:
        self.whole.append(whole)
        for name, ms in calls.items():
            self.calls.setdefault(name, []).append(ms)


class Page:
    """One viewer's calls through the whole app in process."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.headers = http, {"authorization": f"Bearer {token}"}

    async def call(self, document: str, variables: dict[str, Any],
                   times: dict[str, float]) -> dict[str, Any]:
        operation, _ = operation_of(document)
        assert operation.name is not None
        start = time.perf_counter()
        r = await self.http.post("/graphql", json={"query": document, "variables": variables},
                                 headers=self.headers)
        times[operation.name.value] = (time.perf_counter() - start) * 1000
        body = r.json()
        if r.status_code != 200 or body.get("errors"):
            raise SystemExit(f"{operation.name.value} failed ({r.status_code}): "
                             f"{body.get('errors')}")
        return dict(body["data"])


async def network_load(page: Page, docs: dict[str, str], network: str
                       ) -> tuple[float, dict[str, float]]:
    """As network.js loads: the overview, then the other calls at the same time."""
    times: dict[str, float] = {}
    variables = {"id": network}
    start = time.perf_counter()
    overview = await page.call(docs["OVERVIEW"], variables, times)
    rest = [docs["MEASURES"], docs["GAPS"]]
    if overview["network"]["rewardPrograms"]:
        rest.append(docs["LEADERBOARD"])
    await asyncio.gather(*(page.call(d, variables, times) for d in rest))
    return (time.perf_counter() - start) * 1000, times


async def trust_load(page: Page, docs: dict[str, str], customer: str, trade: str
                     ) -> tuple[float, dict[str, float]]:
    """As trust.js loads and a trade is chosen: the overview, then the trusted professionals."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    await page.call(docs["OVERVIEW"], {"id": customer}, times)
    await page.call(docs["TRUSTED"], {"id": customer, "trade": trade}, times)
    return (time.perf_counter() - start) * 1000, times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def print_load(title: str, load: Load, docs: dict[str, str], variables: dict[str, Any],
               target: str) -> None:
    from app.settings import Settings
    from schema.build import build_schema
    from schema.cost import operation_cost

    settings = Settings()
    schema = build_schema(settings)._schema
    print()
    print(f"| {title} | median ms | p95 ms | cost (limit {settings.max_cost}) |")
    print("|---|---:|---:|---:|")
    print(f"| whole page load{target} | {statistics.median(load.whole):.0f} | "
          f"{p95(load.whole):.0f} | |")
    for document in docs.values():
        operation, fragments = operation_of(document)
        assert operation.name is not None
        name = operation.name.value
        cost = operation_cost(schema, operation, fragments, variables)
        times = load.calls.get(name)
        if times is None:
            print(f"| {name} (not sent: the network has no reward programs) | | | {cost} |")
            continue
        print(f"| {name} | {statistics.median(times):.0f} | {p95(times):.0f} | {cost} |")


async def choose_customer(store: Any, http: httpx.AsyncClient, settings: Any,
                          overview: str) -> tuple[str, str, int]:
    """Of a sample of customers who were referred, the one reaching the most professionals
    (then the lowest id), with the first trade of the most trusted one it reaches."""
    from app.auth import mint

    ids = [r["id"] for r in await store.read(CANDIDATES)]
    sample = sorted(random.Random(11).sample(ids, min(len(ids), SAMPLE)))
    best: tuple[int, str, str] | None = None
    for cid in sample:
        page = Page(http, mint(settings, "customer", cid))
        reach = (await page.call(overview, {"id": cid}, {}))["customer"]["reachable"]
        if reach and (best is None or len(reach) > best[0]):
            best = (len(reach), cid, reach[0]["professional"]["trades"][0])
    if best is None:
        raise SystemExit("no sampled customer reaches a professional: seed referrals and jobs")
    return best[1], best[2], best[0]


async def measure(store: Any, rounds: int) -> None:
    from benchmark import BENCH_SETTINGS, NETWORK_SIZES

    from app.auth import mint
    from app.main import create_app

    network_docs = page_documents(NETWORK_PAGE)
    trust_docs = page_documents(TRUST_PAGE)
    sizes = sorted(await store.read(NETWORK_SIZES), key=lambda r: (-r["members"], r["id"]))
    if not sizes:
        raise SystemExit("the store holds no network with members")
    network, members = sizes[0]["id"], sizes[0]["members"]
    app = create_app(BENCH_SETTINGS, store=store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 timeout=None) as http:
        organiser = Page(http, mint(BENCH_SETTINGS, "organiser", None, [network]))
        load = Load()
        for i in range(WARMUP + rounds):
            whole, times = await network_load(organiser, network_docs, network)
            if i >= WARMUP:
                load.add(whole, times)
        programs = "with" if "NetworkLeaderboard" in load.calls else "without"
        print_load(f"organiser page, {network} ({members} members, {programs} reward "
                   f"programs), {rounds} rounds", load, network_docs, {"id": network},
                   " (target under 1 s)")

        customer, trade, reach = await choose_customer(store, http, BENCH_SETTINGS,
                                                       trust_docs["OVERVIEW"])
        viewer = Page(http, mint(BENCH_SETTINGS, "customer", customer))
        load = Load()
        for i in range(WARMUP + rounds):
            whole, times = await trust_load(viewer, trust_docs, customer, trade)
            if i >= WARMUP:
                load.add(whole, times)
        print_load(f"customer page, {customer} (reaches {reach} professionals, at most the "
                   f"page's 50; trade {trade}), {rounds} rounds", load, trust_docs,
                   {"id": customer, "trade": trade}, "")


async def main(args: argparse.Namespace) -> None:
    from benchmark import open_embedded

    from graph import analytics, bulk
    from seeds.complementary_trades import CURATED
    from seeds.rewards import with_programs
    from seeds.synthetic import SIZES, SYNTHETIC_NOW, synthetic_dataset

    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir:
            print(f"# pages: store in {args.data_dir}, {args.rounds} rounds")
            server, store = await open_embedded(Path(args.data_dir))
        else:
            counts = SIZES[args.size]
            print(f"# pages: size {args.size} {counts}, {args.programs} reward programs, "
                  f"seed {args.seed}, {args.rounds} rounds")
            data = with_programs(synthetic_dataset(*counts, seed=args.seed), args.programs,
                                 args.seed, SYNTHETIC_NOW)
            server, store = await open_embedded(Path(tmp) / "store")
        try:
            if not args.data_dir:
                await bulk.load(store, data)
                del data
                # As `referral-graph seed` does: the gaps read the complementarity it computes.
                await analytics.refresh(store, curated=CURATED)
            await measure(store, args.rounds)
        finally:
            await store.close()
            await asyncio.to_thread(server.stop)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))  # scripts/benchmark.py, whose store start this one shares
    from seeds.synthetic import SIZES

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--data-dir", help="measure on an embedded store already seeded in "
                        "this folder (e.g. by `referral-graph seed synthetic`)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--programs", type=int, default=20,
                        help="with --size: reward programs to add (default 20)")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    asyncio.run(main(args))
    sys.exit(0)
