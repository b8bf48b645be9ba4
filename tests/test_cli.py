"""The command line as a user runs it: serve the demo network, seed into the same folder."""

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
             "60", "--seed", "3"],
            env=cli_env(), capture_output=True, text=True, timeout=300, check=False,
        )
        assert seeded.returncode == 0, seeded.stderr
        assert "loaded 50 professionals" in seeded.stderr
        after = post(port, COUNTS, token)["data"]
        assert after["professionals"]["totalCount"] == demo["professionals"]["totalCount"] + 50
        assert after["referrals"]["totalCount"] == demo["referrals"]["totalCount"] + 60
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=60)
    # Stopping the service stops the embedded store it started.
    assert not (data_dir / "server.json").exists()
    # serve --demo printed a ready admin token for GraphiQL.
    assert "Bearer ey" in log.read_text()


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
