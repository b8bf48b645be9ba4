"""``serve`` with several worker processes: one store for all, limits and the analytics write
count held for the sum over the workers, and nothing left running however the parent ends."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from app.shared import SharedRateLimiter, SharedTally, prepare
from app.workers import SHARED_PREFIX, _remove_stale_shared
from graph.embedded import EmbeddedServer, store_process_alive
from graph.store import connect
from tests.test_cli import (
    PRO,
    admin_token,
    cli_env,
    command_lines,
    free_port,
    parent_of,
    store_pid,
    stores_of,
    wait_ready,
    wait_until,
)

LAST_RUN = "MATCH (l:Lease {key: 'analytics'}) RETURN l.lastRun AS run"


# -- the shared tables, from several real processes ---------------------------------------------
def _spend(path: str, n: int, out: multiprocessing.Queue) -> None:
    limiter = SharedRateLimiter(Path(path), per_minute=1, burst=10)
    out.put(sum(limiter.allow("professional:pro_1") == 0 for _ in range(n)))


def _count(path: str, n: int, out: multiprocessing.Queue) -> None:
    tally = SharedTally(Path(path))
    out.put(sum(tally.add(1, every=12, min_interval=0) for _ in range(n)))


def _run_in_processes(target, path: Path, each: int, processes: int = 4) -> list[int]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(str(path), each, out)) for _ in range(processes)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


def test_a_bucket_is_one_for_all_processes(tmp_path):
    # Four processes spend 5 each from a bucket of 10: 10 pass in all, not 10 per process.
    allowed = _run_in_processes(_spend, tmp_path / "rate", each=5)
    assert sum(allowed) == 10


def test_other_keys_keep_their_own_buckets(tmp_path):
    limiter = SharedRateLimiter(tmp_path / "rate", per_minute=60, burst=2, slots=8)
    assert [limiter.allow("a", now=0), limiter.allow("a", now=0)] == [0, 0]
    assert limiter.allow("a", now=0) == pytest.approx(1.0)  # a token a second
    assert limiter.allow("b", now=0) == 0
    assert limiter.allow("a", now=1.0) == 0  # refilled
    # More keys than slots: the least recently used give way, and the table keeps working.
    assert all(limiter.allow(f"k{i}", now=2.0) == 0 for i in range(50))
    limiter.close()


def test_writes_in_several_processes_add_up_to_one_refresh(tmp_path):
    prepare(tmp_path)
    # Four processes count 3 writes each, 12 in all: exactly one of them is told to refresh.
    due = _run_in_processes(_count, tmp_path / "analytics-tally", each=3)
    assert sum(due) == 1
    tally = SharedTally(tmp_path / "analytics-tally")
    assert tally.changes == 0
    assert not tally.add(1, every=12, min_interval=3600)  # within the interval: it waits
    assert tally.changes == 1
    tally.close()


# -- serve --workers, as a user runs it --------------------------------------------------------
def start_workers(data_dir: Path, port: int, log: Path, **env: str) -> subprocess.Popen:
    environment = cli_env() | env
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--workers", "2", "--port", str(port),
         "--data-dir", str(data_dir)],
        env=environment, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
    )


def workers_of(pid: int) -> list[int]:
    found = []
    for child, cmdline in command_lines():
        try:
            if b"--worker-fd" in cmdline and parent_of(child) == pid:
                found.append(child)
        except OSError:
            continue
    return found


def _server_inode(port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        local, remote = cols[1], cols[2]
        if int(local.split(":")[1], 16) == port and int(remote.split(":")[1], 16) == client_port:
            return cols[9]
    return None


def worker_holding(connection: http.client.HTTPConnection, port: int, workers: list[int]) -> int:
    """The worker process that accepted ``connection`` (after a first request on it)."""
    assert connection.sock is not None
    inode = _server_inode(port, connection.sock.getsockname()[1])
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError("no worker holds the connection")


def one_connection_per_worker(
    port: int, workers: list[int]
) -> dict[int, http.client.HTTPConnection]:
    """Keep-alive connections until each worker holds one."""
    held: dict[int, http.client.HTTPConnection] = {}
    for _ in range(200):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/healthz")  # not rate-limited
        conn.getresponse().read()
        pid = worker_holding(conn, port, workers)
        if pid in held:
            conn.close()
        else:
            held[pid] = conn
        if len(held) == len(workers):
            return held
    raise AssertionError("the connections all went to one worker")


def graphql(conn: http.client.HTTPConnection, query: str, token: str) -> tuple[int, dict]:
    conn.request("POST", "/graphql", json.dumps({"query": query}),
                 {"content-type": "application/json", "authorization": f"Bearer {token}"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_workers_share_the_store_and_a_killed_parent_takes_all_with_it(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    serve = start_workers(data_dir, port, tmp_path / "serve.log")
    try:
        wait_ready(port, serve)
        store = store_pid(data_dir)
        workers = workers_of(serve.pid)
        assert len(workers) == 2 and parent_of(store) == serve.pid
        assert stores_of(data_dir) == [store], "the workers must attach, not start stores"
        token = admin_token(data_dir)
        held = one_connection_per_worker(port, workers)
        a, b = held.values()
        status, body = graphql(a, PRO, token)
        created = body["data"]["createProfessional"]["professional"]["id"]
        # Written through one worker, read through the other: one store.
        status, body = graphql(b, f'{{ professional(id: "{created}") {{ name }} }}', token)
        assert status == 200 and body == {"data": {"professional": {"name": "Kept Across"}}}
    finally:
        serve.kill()  # SIGKILL: nothing of the parent runs
        serve.wait(timeout=30)
    wait_until(lambda: not any(store_process_alive(p) for p in [store])
               and not any(Path(f"/proc/{w}").exists() and _alive(w) for w in workers),
               15, "the store or a worker outlived the parent")
    assert stores_of(data_dir) == []
    # The next serve removes the shared folder the killed parent left behind.
    left = list(Path(tempfile.gettempdir()).glob(f"{SHARED_PREFIX}{serve.pid}-*"))
    assert len(left) == 1
    _remove_stale_shared()
    assert not left[0].exists()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_stopped_service_stops_its_workers_and_store(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    serve = start_workers(data_dir, port, tmp_path / "serve.log")
    try:
        wait_ready(port, serve)
        workers = workers_of(serve.pid)
        assert len(workers) == 2
    finally:
        stop(serve)
    assert serve.returncode == 0
    assert not any(_alive(w) for w in workers)
    wait_until(lambda: stores_of(data_dir) == [], 10, "stopping the service left its store")
    assert not (data_dir / "server.json").exists()


def test_the_address_limit_holds_for_the_sum_of_the_workers(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    serve = start_workers(data_dir, port, tmp_path / "serve.log",
                          RG_RATE_LIMIT_ADDRESS="1", RG_RATE_BURST_ADDRESS="30")
    try:
        wait_ready(port, serve)  # spends a few of the 30 (each /readyz poll counts)
        token = admin_token(data_dir)
        a, b = one_connection_per_worker(port, workers_of(serve.pid)).values()
        statuses = []
        for _ in range(20):
            statuses += [graphql(a, "{ __typename }", token)[0],
                         graphql(b, "{ __typename }", token)[0]]
        # 40 requests, half on each worker, from a bucket of 30 already spent from: some pass,
        # then both workers refuse. Each worker counting alone would pass all 40.
        assert 200 in statuses and statuses[-2:] == [429, 429]
        assert statuses.count(200) <= 29
        first_refusal = statuses.index(429)
        assert all(s == 429 for s in statuses[first_refusal:])
    finally:
        stop(serve)


async def test_writes_through_different_workers_add_up_to_a_refresh(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    serve = start_workers(data_dir, port, tmp_path / "serve.log",
                          RG_ANALYTICS_REFRESH_AFTER="4", RG_ANALYTICS_MIN_INTERVAL="0")
    server = EmbeddedServer(data_dir, take_over=False)
    store = None
    try:
        wait_ready(port, serve)
        address = server.start()  # attaches to the service's store
        store = connect(address.uri, address.user, address.password, address.database)

        async def last_run() -> object:
            rows = await store.read(LAST_RUN)
            return rows[0]["run"] if rows else None

        token = admin_token(data_dir)
        a, b = one_connection_per_worker(port, workers_of(serve.pid)).values()
        before = await last_run()
        for conn in (a, b, a):
            assert graphql(conn, PRO, token)[0] == 200
        time.sleep(1.0)
        assert await last_run() == before, "3 writes of 4 must not refresh"
        assert graphql(b, PRO, token)[0] == 200  # the 4th, 2 on each worker
        deadline = time.monotonic() + 60
        while await last_run() == before:
            assert time.monotonic() < deadline, "4 writes over 2 workers did not refresh"
            time.sleep(0.5)
    finally:
        if store is not None:
            await store.close()
        server.stop()
        stop(serve)
    wait_until(lambda: stores_of(data_dir) == [], 10, "stopping the service left its store")


def _scrape(conn: http.client.HTTPConnection, token: str) -> dict[str, float]:
    conn.request("GET", "/metrics", headers={"authorization": f"Bearer {token}"})
    response = conn.getresponse()
    assert response.status == 200
    samples = {}
    for line in response.read().decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_count_the_requests_of_every_worker(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    serve = start_workers(data_dir, port, tmp_path / "serve.log")
    try:
        wait_ready(port, serve)
        token = admin_token(data_dir)
        a, b = one_connection_per_worker(port, workers_of(serve.pid)).values()
        for conn, n in ((a, 3), (b, 4)):
            for _ in range(n):
                assert graphql(conn, "{ __typename }", token)[0] == 200
        ok = 'rg_graphql_requests_total{field="__typename",outcome="ok"}'
        # Whichever worker answers the scrape, it reports the 7 requests of both. (A worker
        # counts a request just after its answer went out: give the last one a moment.)
        wait_until(lambda: _scrape(a, token)[ok] == 7, 5, "a's scrape misses requests")
        assert _scrape(b, token)[ok] == 7
        assert _scrape(a, token)['rg_http_requests_total{route="/graphql",status="200"}'] == 7
    finally:
        stop(serve)


def test_a_worker_that_dies_is_replaced(tmp_path):
    from app.workers import MIN_LIFE

    data_dir, port = tmp_path / "data", free_port()
    serve = start_workers(data_dir, port, tmp_path / "serve.log")
    try:
        wait_ready(port, serve)
        first = workers_of(serve.pid)
        time.sleep(MIN_LIFE)  # a worker that dies at once failed to start; this one ran
        os.kill(first[0], signal.SIGKILL)
        wait_until(lambda: len(workers_of(serve.pid)) == 2 and first[0] not in workers_of(
            serve.pid), 30, "the dead worker was not replaced")
        wait_ready(port, serve)
        assert serve.poll() is None
    finally:
        stop(serve)
    wait_until(lambda: stores_of(data_dir) == [], 10, "stopping the service left its store")


@pytest.mark.parametrize("raw", ["-1", "257", "two", "1.5"])
def test_a_bad_worker_count_is_refused(raw):
    from app.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="RG_WORKERS"):
        load_settings({"RG_WORKERS": raw})


def test_the_default_worker_count_leaves_a_core_to_the_embedded_store(monkeypatch):
    from app import workers
    from app.settings import load_settings

    monkeypatch.setattr(workers.os, "cpu_count", lambda: 4)
    assert workers.count(load_settings({})) == 3
    assert workers.count(load_settings({"NEO4J_URI": "neo4j://db:7687"})) == 4
    assert workers.count(load_settings({"RG_WORKERS": "2"})) == 2
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 1)
    assert workers.count(load_settings({})) == 1
