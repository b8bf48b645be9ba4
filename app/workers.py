"""``serve`` with several service processes: one parent, N workers on one listening socket.

One Python process answers on one core at a time; the store (a JVM) and the network do their
part on the others. Several workers take requests from one socket that the parent binds, and
the kernel hands each connection to whichever worker accepts it first.

The parent prepares what must happen once (the embedded server, the schema, the demo network),
binds the socket, starts the workers and restarts one that dies. It supervises the embedded
server; the workers attach to it (``server.json``) and never start one of their own. However
the parent ends, ``kill -9`` included, nothing outlives it: the server and each worker read a
pipe from the parent, and the kernel closes it when the parent ends; the server then stops and
a worker exits at once.

What a process would otherwise keep to itself and must hold for all of them together lives in
files that all workers map (:mod:`app.shared`): the rate-limit buckets and the count of writes
since the last analytics refresh. Metrics are summed over the workers with prometheus-client's
multiprocess mode.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from app import collector, shared
from app.settings import Settings

log = logging.getLogger("referral_graph")

STOP_TIMEOUT = 30.0
# A worker that ends sooner than this after its start failed to start: restarting it would
# only fail again, so the service stops and says so.
MIN_LIFE = 10.0
BACKLOG = 2048
SHARED_PREFIX = "referral-graph-"  # + the parent's pid: its shared folder in the temp folder


def count(settings: Settings) -> int:
    """How many worker processes ``settings`` asks for. 0 is one per core, less the core that
    the embedded store keeps busy: on two cores under a closed loop the service and the store
    each fill one, and a second worker only adds CPU per request (two drivers, two event
    loops contending for the same cores) without serving more."""
    if settings.workers:
        return settings.workers
    cores = os.cpu_count() or 1
    return max(1, cores - 1 if settings.embedded else cores)


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _prepare_store(settings: Settings, demo: bool, state: Any) -> None:
    """Start (or attach to) the store, ensure its schema, load the demo network: once, here,
    before any worker runs. The embedded server stays up in ``state.server``."""
    from app.main import load_demo_if_empty, open_store

    async def work() -> None:
        store = await open_store(settings, state)
        try:
            if demo:
                await load_demo_if_empty(store, settings.analytics_timeout, settings.engine)
        finally:
            await store.close()

    asyncio.run(work())


class _Worker:
    def __init__(self, settings: Settings, sock: socket.socket, shared_dir: Path) -> None:
        cmd = [sys.executable, "-m", "app.cli", "serve", "--worker-fd", str(sock.fileno()),
               "--shared-dir", str(shared_dir), "--data-dir", str(settings.data_dir),
               "--host", settings.host, "--port", str(settings.port)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
        # prometheus-client reads this itself when a worker imports it.
        env["PROMETHEUS_MULTIPROC_DIR"] = str(shared_dir / shared.METRICS)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, pass_fds=(sock.fileno(),),
                                     env=env)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # uvicorn's graceful shutdown: running requests finish


def supervise(settings: Settings, args: argparse.Namespace, n: int) -> int:
    from app.main import AppState

    state = AppState()
    _remove_stale_shared()
    shared_dir = Path(tempfile.mkdtemp(prefix=f"{SHARED_PREFIX}{os.getpid()}-"))
    stopping = threading.Event()
    handlers = {sig: signal.signal(sig, lambda *_: stopping.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    workers: list[_Worker] = []
    code = 0
    try:
        _prepare_store(settings, args.demo, state)
        try:
            sock = _bind(settings.host, settings.port)
        except OSError as exc:
            print(f"referral-graph: cannot listen on {settings.host}:{settings.port}: {exc}",
                  file=sys.stderr)
            return 1
        shared.prepare(shared_dir)
        workers = [_Worker(settings, sock, shared_dir) for _ in range(n)]
        log.info("serving", extra={"workers": n, "port": settings.port})
        while not stopping.wait(0.5):
            for i, worker in enumerate(workers):
                status = worker.proc.poll()
                if status is None:
                    continue
                if time.monotonic() - worker.started < MIN_LIFE:
                    print(f"referral-graph: a worker process failed to start (exit {status})",
                          file=sys.stderr)
                    code = 1
                    stopping.set()
                    break
                log.warning("a worker process exited; restarting", extra={"code": status})
                _forget_metrics(shared_dir, worker.proc.pid)
                workers[i] = _Worker(settings, sock, shared_dir)
        sock.close()
        return code
    finally:
        for worker in workers:
            worker.stop()
        deadline = time.monotonic() + STOP_TIMEOUT
        for worker in workers:
            try:
                worker.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
        if state.server is not None:
            state.server.stop()
        shutil.rmtree(shared_dir, ignore_errors=True)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _remove_stale_shared() -> None:
    """Remove the shared folders of parents that ended without cleaning up (``kill -9``)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SHARED_PREFIX}*-*"):
        pid = folder.name[len(SHARED_PREFIX):].partition("-")[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # another user's process


def _forget_metrics(shared_dir: Path, pid: int) -> None:
    """Gauges of a dead worker would linger; counters and histograms stay (they are totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, str(shared_dir / shared.METRICS))


def _exit_with_parent() -> None:
    """Exit at once when the parent ends: its end closes this process's stdin."""
    def watch() -> None:
        while os.read(0, 4096):
            pass
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_worker(args: argparse.Namespace) -> int:
    import uvicorn

    from app.cli import server_options, settings_of
    from app.main import create_app

    _exit_with_parent()
    settings = settings_of(args)
    sock = socket.socket(fileno=args.worker_fd)
    app = create_app(settings, shared_dir=args.shared_dir, supervised=True)
    collector.tune()
    server = uvicorn.Server(uvicorn.Config(app, **server_options(settings)))
    server.run(sockets=[sock])
    return 0
