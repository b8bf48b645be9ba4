"""The command line as a user runs it: serve the demo network, seed into the same folder; the
store child never outlives the service, however the service ends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app.cli import DEMO_SUBSCRIPTION
from graph.embedded import store_process_alive

COUNTS = """{ professionals(first: 1) { totalCount } customers(first: 1) { totalCount }
  referrals(first: 1) { totalCount } networks(first: 1) { totalCount } }"""
DEMO_JOBS = '{ professional(id: "pro_demo_001") { jobs(first: 100) { nodes { confirmed } } } }'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(port: int, query: str, token: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_ready(port: int, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited early"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("serve did not become ready")


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "RG_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env


def start_serve(data_dir: Path, port: int, log: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir",
         str(data_dir), *extra],
        env=cli_env(), stdout=subprocess.DEVNULL, stderr=log.open("ab"),
    )


def store_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / "server.json").read_text())["pid"])


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def stores_of(data_dir: Path) -> list[int]:
    """Live store processes serving ``data_dir`` (found by their command line, so that a child
    whose pid no file records is found too)."""
    needle = str(data_dir.resolve()).encode()
    return [pid for pid, cmdline in command_lines()
            if needle in cmdline and store_process_alive(pid)]


def command_lines() -> list[tuple[int, bytes]]:
    """Every process's pid and command line (those that end while being read are left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            found.append((int(entry.name), (entry / "cmdline").read_bytes()))
        except OSError:
            continue
    return found


def wait_until(check, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.2)


def admin_token(data_dir: Path) -> str:
    minted = subprocess.run(
        [sys.executable, "-m", "app.cli", "token", "--role", "admin", "--data-dir",
         str(data_dir)], env=cli_env(), capture_output=True, text=True, check=True,
    )
    return minted.stdout.strip()


def test_serve_demo_then_seed_into_the_running_store(tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    log = tmp_path / "serve.log"
    serve = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port),
         "--data-dir", str(data_dir)],
        env=cli_env(), stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )
    try:
        wait_ready(port, serve)
        minted = subprocess.run(
            [sys.executable, "-m", "app.cli", "token", "--role", "admin", "--data-dir",
             str(data_dir)], env=cli_env(), capture_output=True, text=True, check=True,
        )
        token = minted.stdout.strip()
        demo = post(port, COUNTS, token)["data"]
        assert DEMO_SUBSCRIPTION in log.read_text()  # how to try live events
        assert demo["professionals"]["totalCount"] >= 35
        assert demo["customers"]["totalCount"] >= 140
        assert demo["referrals"]["totalCount"] >= 100
        assert demo["networks"]["totalCount"] == 2
        # Seeded jobs are the operator's record: confirmed.
        jobs = post(port, DEMO_JOBS, token)["data"]["professional"]["jobs"]["nodes"]
        assert jobs and all(j["confirmed"] for j in jobs)

        # The seed command attaches to the server that `serve` runs on the same folder.
        seeded = subprocess.run(
            [sys.executable, "-m", "app.cli", "seed", "synthetic", "--data-dir", str(data_dir),
             "--professionals", "50", "--customers", "100", "--jobs", "200", "--referrals",
             "60", "--seed", "3", "--programs", "3"],
            env=cli_env(), capture_output=True, text=True, timeout=300, check=False,
        )
        assert seeded.returncode == 0, seeded.stderr
        assert "loaded 50 professionals" in seeded.stderr
        assert "3 reward programs with" in seeded.stderr
        after = post(port, COUNTS, token)["data"]
        assert after["professionals"]["totalCount"] == demo["professionals"]["totalCount"] + 50
        assert after["referrals"]["totalCount"] == demo["referrals"]["totalCount"] + 60
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=60)
    # Stopping the service stops the embedded store it started.
    assert not (data_dir / "server.json").exists()
    # serve --demo printed a ready admin token for GraphiQL, and how to try webhooks; its
    # webhook key was made in the data folder.
    printed = log.read_text()
    assert "Bearer ey" in printed
    assert "createWebhook(input:" in printed and "scripts/webhook_receiver.py 8900" in printed
    assert (data_dir / "webhook-key").stat().st_mode & 0o777 == 0o600


async def test_loading_a_data_set_twice_leaves_one_copy(store):
    from graph import bulk
    from seeds.synthetic import synthetic_dataset

    data = synthetic_dataset(12, 30, 60, 40, seed=4242)
    count = ("MATCH (p:Professional) WHERE p.id STARTS WITH 'pro_s4242_' "
             "OPTIONAL MATCH (p)<-[r]-() RETURN count(DISTINCT p) AS pros, count(r) AS links")
    await bulk.load(store, data)
    first = await store.read(count)
    await bulk.load(store, data)
    assert await store.read(count) == first
    assert first[0]["pros"] == 12 and first[0]["links"] > 0


def test_a_killed_serve_takes_its_store_with_it(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    serve = start_serve(data_dir, port, tmp_path / "serve.log")
    try:
        wait_ready(port, serve)
        child = store_pid(data_dir)
        assert store_process_alive(child) and parent_of(child) == serve.pid
    finally:
        serve.kill()  # SIGKILL: no handler, no lifespan, no atexit runs in serve
        serve.wait(timeout=30)
    wait_until(lambda: not store_process_alive(child), 10,
               "the store outlived the service that started it")
    assert stores_of(data_dir) == []


def test_a_serve_that_fails_at_start_up_leaves_no_store(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    with socket.socket() as taken:  # uvicorn binds only after the lifespan started the store
        taken.bind(("127.0.0.1", port))
        taken.listen()
        failed = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--data-dir",
             str(data_dir)], env=cli_env(), capture_output=True, text=True, timeout=180,
        )
    assert failed.returncode != 0
    assert (data_dir / "arcadedb" / "databases" / "referrals").exists(), "the store never started"
    wait_until(lambda: stores_of(data_dir) == [], 10, "a failed start-up left its store running")
    assert not (data_dir / "server.json").exists()



async def test_a_serve_whose_store_fails_its_schema_leaves_no_store(tmp_path):
    # Given a folder whose data breaks a constraint that start-up creates (two professionals
    # with one id, written before the constraint existed) ...
    from graph.embedded import EmbeddedServer
    from graph.store import connect

    data_dir = tmp_path / "data"
    with EmbeddedServer(data_dir) as address:
        store = connect(address.uri, address.user, address.password, address.database)
        await store.run_write("CREATE (:Professional {id: $id}), (:Professional {id: $id})",
                              id="pro_duplicate")
        await store.close()
    # ... serve starts the store, fails to ensure the schema, and stops the store again.
    failed = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port()), "--data-dir",
         str(data_dir)], env=cli_env(), capture_output=True, text=True, timeout=180,
    )
    assert failed.returncode != 0
    assert "ConstraintError" in failed.stderr
    wait_until(lambda: stores_of(data_dir) == [], 10, "a failed start-up left its store running")
    assert not (data_dir / "server.json").exists()


PRO = """mutation { createProfessional(input: {name: "Kept Across", trades: ["tiling"]})
  { professional { id } errors { code } } }"""
NODE = 'query($id: ID!) { professional(id: $id) { name } }'


def post_vars(port: int, query: str, token: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_an_attached_serve_restarts_the_store_when_its_owner_dies(tmp_path):
    data_dir, owner_port, other_port = tmp_path / "data", free_port(), free_port()
    owner = start_serve(data_dir, owner_port, tmp_path / "owner.log")
    other = None
    try:
        wait_ready(owner_port, owner)
        first = store_pid(data_dir)
        other = start_serve(data_dir, other_port, tmp_path / "other.log")
        wait_ready(other_port, other)
        assert store_pid(data_dir) == first, "the second serve must attach, not start a store"
        token = admin_token(data_dir)
        pro = post(other_port, PRO, token)["data"]["createProfessional"]["professional"]["id"]

        owner.kill()
        owner.wait(timeout=30)
        wait_until(lambda: not store_process_alive(first), 10, "the owner's store outlived it")

        # The attached service starts a store of its own on the folder, on the same port,
        # and answers again without a restart of its own.
        wait_ready(other_port, other, seconds=120)
        second = store_pid(data_dir)
        assert second != first and parent_of(second) == other.pid
        body = post_vars(other_port, NODE, token, {"id": pro})
        assert body == {"data": {"professional": {"name": "Kept Across"}}}
    finally:
        for proc in (owner, other):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=60)
    wait_until(lambda: stores_of(data_dir) == [], 10, "stopping the service left its store")
