"""The README's receiver (scripts/webhook_receiver.py), run for real: it takes what the service
sends, and turns away a forged or stale delivery."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph.delivery import signature
from tests.clients import free_port
from tests.receivers import sending, wait_for

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "webhook_receiver.py"


@pytest.fixture
def run_receiver(tmp_path: Path) -> Iterator[Callable[[int, str], tuple[str, Path]]]:
    """Starts the script on a port with a secret; (its URL, the file of what it printed)."""
    procs: list[subprocess.Popen] = []

    def run(port: int, secret: str) -> tuple[str, Path]:
        out = tmp_path / f"received-{port}.jsonl"
        with out.open("wb") as sink:
            procs.append(subprocess.Popen(
                [sys.executable, str(SCRIPT), str(port)], env={**os.environ,
                                                              "WEBHOOK_SECRET": secret},
                stdout=sink, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 20
        while answer(url, b"{}", "") != 401:
            assert procs[-1].poll() is None and time.monotonic() < deadline, "no receiver"
            time.sleep(0.1)
        return url, out

    yield run
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


def post(url: str, body: bytes, sig: str) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "content-type": "application/json", "rg-signature": sig})
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.status)


def answer(url: str, body: bytes, sig: str) -> int:
    """The receiver's status; 0 while nothing listens."""
    try:
        return post(url, body, sig)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_the_readme_shows_the_script_as_it_is():
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"```python\n(\"\"\"A referral-graph webhook receiver.*?)```", readme,
                      re.S)
    assert shown is not None, "the README shows no receiver"
    assert shown.group(1) == SCRIPT.read_text()


def test_it_turns_away_forged_stale_and_unsigned_deliveries(run_receiver):
    secret = "whsec_" + os.urandom(16).hex()
    url, out = run_receiver(free_port(), secret)
    body = json.dumps({"id": "evt_1", "kind": "CREATED"}).encode()
    now = int(time.time())
    assert answer(url, body, signature("whsec_forged", body, now)) == 401
    assert answer(url, body, signature(secret, body, now - 3600)) == 401
    assert answer(url, body, "") == 401
    assert answer(url, body + b" ", signature(secret, body, now)) == 401
    assert answer(url, body, signature(secret, body, now)) == 204
    assert answer(url, body, signature(secret, body, now)) == 204  # a repeat: dropped
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["evt_1"]


async def test_it_takes_the_services_signed_deliveries(run_receiver, store, settings, make,
                                                       hooks, hooks_as):
    port, pro = free_port(), await make.professional()
    webhook, secret = await hooks.ok(hooks_as("professional", pro), f"http://127.0.0.1:{port}/",
                                     ["CREATED"], owner=pro)
    _, out = run_receiver(port, secret)
    async with sending(store, settings.webhook_key):
        ref = await make.referral(await make.customer(), pro, await make.customer())
        await wait_for(lambda: out.read_text().strip(), what="the receiver's output")
    [line] = out.read_text().splitlines()
    event = json.loads(line)
    assert (event["kind"], event["referralId"], event["webhookId"]) == ("CREATED", ref, webhook)
