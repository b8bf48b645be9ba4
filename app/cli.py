"""The ``referral-graph`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from app import collector, logs, workers
from app.settings import Settings, SettingsError, load_settings

log = logging.getLogger("referral_graph")

DEMO_TOKEN_TTL = 24 * 3600
DEMO_RECEIVER_PORT = 8900


def webhook_steps(settings: Settings) -> str:
    """How to see the demo's events arrive at a webhook receiver (scripts/webhook_receiver.py)."""
    url = f"http://127.0.0.1:{DEMO_RECEIVER_PORT}/"
    steps = (
        "referral-graph: to try webhooks, run in GraphiQL\n"
        f'  mutation {{ createWebhook(input: {{ownerId: "pro_demo_001", url: "{url}", '
        "events: [CREATED, STATUS_CHANGED, REWARD_CREATED, REWARD_STATUS_CHANGED, REMINDER]}) "
        "{ webhook { id } secret errors { message } } }\n"
        "then start the receiver with the secret it shows:\n"
        f"  WEBHOOK_SECRET=whsec_... python scripts/webhook_receiver.py {DEMO_RECEIVER_PORT}\n"
        "and make a referral naming that professional:\n"
        '  mutation { createReferral(input: {referrerId: "cus_demo_001", professionalId: '
        '"pro_demo_001", refereeId: "cus_demo_002"}) { referral { id } errors { message } } }'
    )
    if not settings.webhooks_allow_private:
        steps += ("\n(the receiver listens on loopback: serve with "
                  "RG_WEBHOOKS_ALLOW_PRIVATE=true for this)")
    return steps
# What the demo suggests for trying live events in GraphiQL: a subscription in one tab, a
# change in another (the README's "Live events" shows the same).
DEMO_SUBSCRIPTION = ("subscription { referralEvents { id kind at "
                     "referral { id status } reward { amount unit } } }")
DEMO_CHANGE = ('mutation { createReferral(input: {referrerId: "cus_demo_003", '
               'professionalId: "pro_demo_001", refereeId: "cus_demo_004"}) '
               "{ referral { id } errors { code } } }")


def settings_of(args: argparse.Namespace) -> Settings:
    return load_settings().with_overrides(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=getattr(args, "data_dir", None),
    )


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds // 60} min"


def server_options(settings: Settings) -> dict[str, Any]:
    """How ``serve`` runs uvicorn. No ``server`` header: the banner only tells an attacker which
    server and version to aim at. The ``date`` header stays (HTTP asks an origin server with a
    clock to send it, and caches rely on it). A WebSocket message (a subscription's document)
    is held to the size of a request body."""
    return {
        "host": settings.host, "port": settings.port, "log_config": None, "access_log": False,
        "server_header": False, "date_header": True, "ws_max_size": settings.max_body_bytes,
    }


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.auth import TokenError, mint
    from app.hooks import webhook_keys
    from app.main import create_app

    if args.worker_fd is not None:
        return workers.run_worker(args)
    settings = settings_of(args)
    if args.workers is not None:
        settings = settings.with_overrides(workers=args.workers)
    # Before any worker starts: a missing key stops start-up here, and the data folder's key
    # (outside production) exists before the workers read it.
    webhook_keys(settings)
    where = settings.neo4j_uri or f"the embedded store in {settings.data_dir.resolve()}"
    print(
        f"referral-graph: GraphiQL at http://{settings.host}:{settings.port}/graphql "
        f"(store: {where})",
        file=sys.stderr,
    )
    if args.demo:
        try:
            ttl = min(DEMO_TOKEN_TTL, settings.auth_max_ttl)
            token = mint(settings, "admin", "admin:demo", ttl=ttl)
        except TokenError as exc:
            print(f"referral-graph: {exc}", file=sys.stderr)
            return 2
        print(
            f"referral-graph: an admin token for the demo (valid {_duration(ttl)}); in GraphiQL "
            f'open Headers and paste:\n  {{"Authorization": "Bearer {token}"}}\n'
            "referral-graph: live events: with that header, run in one GraphiQL tab\n"
            f"  {DEMO_SUBSCRIPTION}\n"
            "and in another tab (same header) a change, whose event then arrives in the first:\n"
            f"  {DEMO_CHANGE}",
            file=sys.stderr,
        )
        print(webhook_steps(settings), file=sys.stderr)
    count = workers.count(settings)
    if count > 1:
        return workers.supervise(settings, args, count)
    try:
        app = create_app(settings, demo=args.demo)
    except (TokenError, SettingsError) as exc:
        print(f"referral-graph: {exc}", file=sys.stderr)
        return 2
    collector.tune()
    uvicorn.run(app, **server_options(settings))
    return 0


async def _with_store(settings: Settings, work: Callable[..., Awaitable[None]]) -> None:
    from app.main import AppState, close_store, open_store

    state = AppState()
    store = await open_store(settings, state)
    try:
        await work(store)
    finally:
        await close_store(store, state)


def _load(settings: Settings, dataset_factory: Callable[[], object], label: str) -> int:
    from tqdm import tqdm

    from graph import analytics, bulk
    from seeds.complementary_trades import CURATED

    started = time.perf_counter()
    data = dataset_factory()
    assert isinstance(data, bulk.Dataset)
    total = sum(len(rows) for _, _, rows in data.statements())

    async def work(store: object) -> None:
        with tqdm(total=total, unit="rows", desc=label, file=sys.stderr) as bar:

            def progress(name: str, n: int) -> None:
                bar.set_postfix_str(name)
                bar.update(n)

            await bulk.load(store, data, progress)  # type: ignore[arg-type]
        done = await analytics.refresh(
            store, settings.analytics_timeout, curated=CURATED,  # type: ignore[arg-type]
            engine=settings.engine)
        print(f"analytics refreshed in {done.seconds:.1f} s", file=sys.stderr)

    asyncio.run(_with_store(settings, work))
    programs = (f", {len(data.reward_programs)} reward programs with {len(data.rewards)} rewards"
                if data.reward_programs else "")
    print(
        f"loaded {len(data.professionals)} professionals, {len(data.customers)} customers, "
        f"{len(data.jobs)} jobs, {len(data.referrals)} referrals, {len(data.networks)} networks"
        f"{programs} ({data.relationships} relationships) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


def seed_demo(args: argparse.Namespace) -> int:
    from seeds.demo import demo_dataset

    if args.bundle is not None:
        return _write_bundle(args.bundle, demo_dataset)
    return _load(settings_of(args), demo_dataset, "demo")


def _write_bundle(target: Path, dataset_factory: Callable[[], object]) -> int:
    """A seed written as a bundle for ``import`` instead of loaded; no store is started."""
    from graph import bulk, exchange

    if not target.resolve().parent.is_dir():
        print(f"referral-graph: no folder for the bundle {target}", file=sys.stderr)
        return 2
    data = dataset_factory()
    assert isinstance(data, bulk.Dataset)
    count = _write_lines(target, exchange.dataset_rows(data))
    print(f"wrote {count - 1} rows to {target}", file=sys.stderr)
    return 0


def _write_lines(target: Path, rows: Any) -> int:
    """Write bundle lines through a partial file, so that a failed write leaves no bundle."""
    from graph import exchange

    partial = target.with_name(target.name + ".partial")
    count = 0
    try:
        with partial.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(exchange.dumps(row))
                count += 1
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return count


def seed_synthetic(args: argparse.Namespace) -> int:
    from seeds.rewards import with_programs
    from seeds.synthetic import SYNTHETIC_NOW, synthetic_dataset

    if args.programs < 0:
        print("referral-graph: --programs must be 0 or more", file=sys.stderr)
        return 2
    if args.plant_fraud is None:
        if args.truth is not None:
            print("referral-graph: --truth needs --plant-fraud", file=sys.stderr)
            return 2

        def make() -> object:
            data = synthetic_dataset(
                args.professionals, args.customers, args.jobs, args.referrals, seed=args.seed
            )
            return with_programs(data, args.programs, args.seed, SYNTHETIC_NOW)

        if args.bundle is not None:
            return _write_bundle(args.bundle, make)
        return _load(settings_of(args), make, "synthetic")
    return seed_planted(args)


def seed_planted(args: argparse.Namespace) -> int:
    """The synthetic network with fraud planted; the ground truth goes to ``--truth`` once the
    data set is loaded, so that a truth file always describes a loaded network."""
    from seeds import fraud
    from seeds.rewards import with_programs
    from seeds.synthetic import SYNTHETIC_NOW

    if args.bundle is not None:
        print("referral-graph: --bundle does not go with --plant-fraud", file=sys.stderr)
        return 2
    if args.truth is not None and not args.truth.resolve().parent.is_dir():
        print(f"referral-graph: no folder for the truth file {args.truth}", file=sys.stderr)
        return 2
    try:
        # Refused before anything starts: a bad share or size leaves no store and no file.
        data, truth = fraud.planted_dataset(
            args.professionals, args.customers, args.jobs, args.referrals, seed=args.seed,
            share=fraud.check_share(args.plant_fraud),
        )
    except ValueError as exc:
        print(f"referral-graph: {exc}", file=sys.stderr)
        return 2
    print(f"referral-graph: {fraud.describe(truth)}", file=sys.stderr)
    data = with_programs(data, args.programs, args.seed, SYNTHETIC_NOW)
    done = _load(settings_of(args), lambda: data, "synthetic")
    if done == 0 and args.truth is not None:
        args.truth.write_text(truth.to_json())
        print(f"wrote the ground truth to {args.truth}", file=sys.stderr)
    return done


def token(args: argparse.Namespace) -> int:
    from app.auth import TokenError, mint

    networks = [n for n in (args.networks or "").split(",") if n]
    try:
        print(mint(settings_of(args), args.role, args.sub, networks, ttl=args.ttl))
    except TokenError as exc:
        print(f"referral-graph: {exc}", file=sys.stderr)
        return 2
    return 0


def analytics_refresh(args: argparse.Namespace) -> int:
    from graph import analytics
    from seeds.complementary_trades import CURATED

    settings = settings_of(args)

    async def work(store: object) -> None:
        done = await analytics.refresh(
            store, settings.analytics_timeout, curated=CURATED,  # type: ignore[arg-type]
            engine=settings.engine)
        print(f"reputation of {done.professionals} professionals and complementarity of "
              f"{done.trades} trades refreshed in {done.seconds:.1f} s", file=sys.stderr)

    try:
        asyncio.run(_with_store(settings, work))
    except analytics.RefreshTimeout as exc:
        print(f"referral-graph: {exc}", file=sys.stderr)
        return 1
    return 0


def events_sweep(args: argparse.Namespace) -> int:
    """Reminders and expiry now (the service runs it every RG_EVENT_SWEEP_INTERVAL)."""
    from graph import sweep

    settings = settings_of(args)

    async def work(store: object) -> None:
        done = await sweep.sweep(store, settings.reminder_days,  # type: ignore[arg-type]
                                 settings.referral_ttl_days)
        print(f"{done.reminded} reminders sent, {done.expired} referrals expired",
              file=sys.stderr)

    asyncio.run(_with_store(settings, work))
    return 0


def export_bundle(args: argparse.Namespace) -> int:
    """The whole network as a bundle (``graph.exchange``), read straight from the store."""
    from tqdm import tqdm

    from graph import exchange

    if not args.out.resolve().parent.is_dir():
        print(f"referral-graph: no folder for the bundle {args.out}", file=sys.stderr)
        return 2
    settings = settings_of(args)
    written = 0

    async def work(store: Any) -> None:
        nonlocal written
        partial = args.out.with_name(args.out.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8") as out, tqdm(
                unit="rows", desc="export", file=sys.stderr, disable=args.quiet
            ) as bar:
                async for row in exchange.bundle_rows(store):
                    out.write(exchange.dumps(row))
                    written += 1
                    bar.update(1)
            partial.replace(args.out)
        finally:
            partial.unlink(missing_ok=True)

    asyncio.run(_with_store(settings, work))
    print(f"wrote {written - 1} rows to {args.out}", file=sys.stderr)
    return 0


def import_file(args: argparse.Namespace) -> int:
    """Load a bundle into an empty store, or a referral table (CSV) into one that holds its
    parties: every row checked first, nothing written unless all are good."""
    from tqdm import tqdm

    from graph import analytics, exchange
    from seeds.complementary_trades import CURATED

    path: Path = args.file
    if not path.is_file():
        print(f"referral-graph: no file {path}", file=sys.stderr)
        return 2
    table = path.suffix.lower() == ".csv"
    settings = settings_of(args)
    started = time.perf_counter()
    outcome: dict[str, Any] = {}

    async def work(store: Any) -> None:
        lines = sum(1 for _ in path.open(encoding="utf-8", newline=""))
        with path.open(encoding="utf-8", newline="") as handle, tqdm(
            total=lines, unit="rows", desc="check", file=sys.stderr, disable=args.quiet
        ) as bar:
            if table:
                plan = await exchange.check_table(store, exchange.table_rows(handle), bar.update)
            else:
                if not await exchange.is_empty(store):
                    raise exchange.ImportRefused([(0, (
                        "the store holds data: a bundle loads only into an empty store "
                        "(use a new --data-dir, or import a referral table as .csv)"))])
                plan = exchange.check_bundle(exchange.read_lines(handle), bar.update)
        with tqdm(total=plan.total, unit="rows", desc="load", file=sys.stderr,
                  disable=args.quiet) as bar:

            def progress(name: str, n: int) -> None:
                bar.set_postfix_str(name)
                bar.update(n)

            await exchange.load(store, plan, into_empty=not table, progress=progress)
        done = await analytics.refresh(store, settings.analytics_timeout, curated=CURATED,
                                       engine=settings.engine)
        outcome.update(plan.counts(), analytics=done.seconds)

    try:
        asyncio.run(_with_store(settings, work))
    except exchange.ImportRefused as exc:
        print(f"referral-graph: {path}: nothing imported:\n{exc.describe()}", file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(f"referral-graph: {path}: nothing imported: the file is not UTF-8 text",
              file=sys.stderr)
        return 1
    counts = ", ".join(f"{n} {k}s" for k, n in outcome.items() if k != "analytics" and n)
    print(f"imported {counts} in {time.perf_counter() - started:.1f} s "
          f"(analytics refreshed in {outcome['analytics']:.1f} s)", file=sys.stderr)
    return 0


def export_schema(args: argparse.Namespace) -> int:
    from schema.build import SNAPSHOT, sdl

    target = Path(args.output) if args.output else SNAPSHOT
    target.write_text(sdl(Settings()))
    print(f"wrote {target}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="referral-graph", description="The referral graph of service professionals."
    )
    sub = p.add_subparsers(dest="command", required=True)

    def store_options(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument(
            "--data-dir", type=Path, default=None,
            help="folder of the embedded store (default ./data; ignored with NEO4J_URI)",
        )

    def bundle_option(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--bundle", type=Path, default=None, metavar="FILE",
                         help="write the data set to FILE as a bundle for `import` instead of "
                              "loading it")

    s = sub.add_parser("serve", help="serve GraphQL (GraphiQL at /graphql)")
    s.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="port (default 8000)")
    s.add_argument("--demo", action="store_true", help="load the demo network into an empty store")
    s.add_argument("--workers", type=int, default=None,
                   help="service processes (default RG_WORKERS; 0: one per core, less one for "
                        "the embedded store)")
    # How a worker process started by `serve` learns its listening socket and shared state.
    s.add_argument("--worker-fd", type=int, default=None, help=argparse.SUPPRESS)
    s.add_argument("--shared-dir", type=Path, default=None, help=argparse.SUPPRESS)
    store_options(s)
    s.set_defaults(func=serve)

    seed = sub.add_parser("seed", help="load a data set into the store")
    seed_sub = seed.add_subparsers(dest="dataset", required=True)
    d = seed_sub.add_parser("demo", help="the demo network")
    bundle_option(d)
    store_options(d)
    d.set_defaults(func=seed_demo)
    syn = seed_sub.add_parser("synthetic", help="a deterministic synthetic network")
    syn.add_argument("--professionals", type=int, default=1000)
    syn.add_argument("--customers", type=int, default=5000)
    syn.add_argument("--jobs", type=int, default=10000)
    syn.add_argument("--referrals", type=int, default=5000)
    syn.add_argument("--seed", type=int, default=1)
    syn.add_argument("--plant-fraud", type=float, default=None, metavar="SHARE",
                     help="plant fraud in this share of the professionals (0, or 0.01 to 0.05), "
                          "with legitimate look-alikes")
    syn.add_argument("--programs", type=int, default=0, metavar="N",
                     help="add N reward programs (professional and network ones, tiers, caps, "
                          "a commission, points) and the rewards they earned (default 0)")
    syn.add_argument("--truth", type=Path, default=None, metavar="FILE",
                     help="write the planted ground truth here as JSON (with --plant-fraud)")
    bundle_option(syn)
    store_options(syn)
    syn.set_defaults(func=seed_synthetic)

    t = sub.add_parser("token", help="mint a bearer token with the configured secret")
    t.add_argument("--role", required=True,
                   choices=["admin", "organiser", "professional", "customer"])
    t.add_argument("--sub", default=None, help="the party's id (professionals and customers)")
    t.add_argument("--networks", default=None, help="comma-separated network ids (organisers)")
    t.add_argument("--ttl", type=int, default=3600,
                   help="seconds the token is valid (at most RG_AUTH_MAX_TTL, default 24 h)")
    store_options(t)
    t.set_defaults(func=token)

    a = sub.add_parser("analytics", help="whole-graph measures")
    a_sub = a.add_subparsers(dest="action", required=True)
    refresh = a_sub.add_parser("refresh", help="recompute reputation and trade complementarity")
    store_options(refresh)
    refresh.set_defaults(func=analytics_refresh)

    ev = sub.add_parser("events", help="referral events")
    ev_sub = ev.add_subparsers(dest="action", required=True)
    sw = ev_sub.add_parser("sweep", help="send due reminders and expire old open referrals "
                           "(RG_REMINDER_DAYS, RG_REFERRAL_TTL_DAYS)")
    store_options(sw)
    sw.set_defaults(func=events_sweep)

    x = sub.add_parser("export", help="write the whole network as a bundle (JSON lines)")
    x.add_argument("--out", type=Path, required=True, metavar="FILE")
    x.add_argument("--quiet", action="store_true", help="no progress bar")
    store_options(x)
    x.set_defaults(func=export_bundle)

    i = sub.add_parser("import", help="load a bundle into an empty store, or a referral table "
                                      "(.csv, the columns of /export/referrals.csv)")
    i.add_argument("file", type=Path, metavar="FILE")
    i.add_argument("--quiet", action="store_true", help="no progress bar")
    store_options(i)
    i.set_defaults(func=import_file)

    e = sub.add_parser("export-schema", help="write the SDL snapshot schema/schema.graphql")
    e.add_argument("--output", default=None, help="another file to write instead")
    e.set_defaults(func=export_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"referral-graph: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    try:
        return int(args.func(args))
    except SettingsError as exc:  # a bad command-line override (--port 0)
        print(f"referral-graph: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
