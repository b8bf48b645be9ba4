"""Helpers for the tests that drive the service with standard clients: npm packages installed
once per session into the test run's own temporary folder, a real server on loopback, and
Debian's Chromium."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from app.main import create_app
from app.settings import Settings
from graph.embedded import BoltAddress

NPM_TIMEOUT = 300
CHROMIUM = Path("/usr/bin/chromium")


def npm_packages(factory: pytest.TempPathFactory, *packages: str) -> Path:
    """A folder with ``packages`` installed by npm (from the registry), made once per session
    for each set of packages; returns the folder whose ``node_modules`` holds them."""
    key = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:12]
    folder = factory.getbasetemp() / f"npm-{key}"
    if not (folder / ".installed").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund",
             "--loglevel=error", *packages],
            check=True, timeout=NPM_TIMEOUT, capture_output=True,
        )
        (folder / ".installed").touch()
    return folder


def chromium() -> Path:
    """Debian's Chromium, installed with apt the first time a test needs it."""
    if not CHROMIUM.exists():
        # Wait for a dpkg lock held by another install rather than fail on it.
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*apt, "update"], check=True, capture_output=True, timeout=600, env=env)
        subprocess.run([*apt, "install", "-y", "--no-install-recommends", "chromium",
                        "fonts-liberation"], check=True, capture_output=True, timeout=900,
                       env=env)
    assert shutil.which(str(CHROMIUM)), "chromium did not install"
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(settings: Settings, bolt: BoltAddress) -> Iterator[str]:
    """The service for real: uvicorn on a loopback port in a thread, with its own connection to
    the session's store. Yields the base URL."""
    served = replace(settings, neo4j_uri=bolt.uri, neo4j_user=bolt.user,
                     neo4j_password=bolt.password, neo4j_database=bolt.database)
    port = free_port()
    config = uvicorn.Config(create_app(served), host="127.0.0.1", port=port, log_config=None,
                            access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Without the background-networking flags Chromium dials out at start (updates, sync, field
# trials), which a closed network refuses; the host rules make every host but loopback
# unresolvable, so a page that needed a CDN would show it.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1000",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


def chromedriver() -> Path:
    """Debian's chromedriver (the driver of Debian's Chromium), installed with apt the first
    time a test needs it; no browser or driver is downloaded from anywhere else."""
    chromium()
    if not CHROMEDRIVER.exists():
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*apt, "update"], check=True, capture_output=True, timeout=600, env=env)
        subprocess.run([*apt, "install", "-y", "--no-install-recommends", "chromium-driver"],
                       check=True, capture_output=True, timeout=900, env=env)
    assert CHROMEDRIVER.exists(), "chromium-driver did not install"
    return CHROMEDRIVER


@contextlib.contextmanager
def browser(profile: Path) -> Iterator[Any]:
    """Headless Chromium driven by Selenium through Debian's chromedriver, with a fresh
    profile in ``profile``; quits on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium())
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager, which would look for one online, stays idle.
    driver = webdriver.Chrome(options=options, service=Service(str(chromedriver())))
    try:
        yield driver
    finally:
        driver.quit()
