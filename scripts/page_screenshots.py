"""Screenshots of the organiser's and the customer's pages on the demo network, for the README.

    python scripts/page_screenshots.py [--out docs]

It starts ``referral-graph serve --demo`` on a free loopback port with a fresh data folder,
mints an organiser token for the Northside network and a customer token for ``cus_demo_003``,
opens both pages in headless Chromium (Debian's, through its chromedriver, as the tests do) and
saves ``organiser-page.png`` and ``customer-page.png``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth import mint  # noqa: E402
from app.settings import load_settings  # noqa: E402
from tests.clients import browser, free_port  # noqa: E402

NETWORK = "net_demo_1"
CUSTOMER = "cus_demo_003"
# The top of each page, where its pictures are: about what a laptop screen shows.
WIDTH, HEIGHT = 1280, 1700


def wait_ready(base: str, serve: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline or serve.poll() is not None:
            raise SystemExit(log.read_text()[-2000:])
        time.sleep(0.5)


def shoot(d: Any, url: str, token: str, path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d.get(url)
    d.execute_script("sessionStorage.clear()")  # the tab keeps the previous page's token
    d.get(url)
    field = d.find_element(By.ID, "token")
    field.send_keys(token)
    d.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
    WebDriverWait(d, 60).until(
        lambda x: x.execute_script("return document.body.dataset.loaded || null"))
    loaded = d.execute_script("return document.body.dataset.loaded")
    if loaded == "refused":
        raise SystemExit(f"{url} refused the token")
    # How long the page's GraphQL calls took, first sent to last answered (noisy on a busy
    # machine: a figure to look at, not a benchmark).
    span = d.execute_script(
        "var r = performance.getEntriesByType('resource').filter(function (e) "
        "{ return e.name.endsWith('/graphql'); }); return [r.length, "
        "Math.max.apply(null, r.map(function (e) { return e.responseEnd; })) - "
        "Math.min.apply(null, r.map(function (e) { return e.startTime; })), "
        "r.map(function (e) { return Math.round(e.duration); })]")
    print(f"{url}: {span[0]} GraphQL calls in {span[1]:.0f} ms (each: {span[2]} ms)")
    d.execute_script("document.getElementById('token').blur(); window.scrollTo(0, 0)")
    d.set_window_size(WIDTH, HEIGHT)
    d.save_screenshot(str(path))
    print(path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "docs")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "RG_"))}
        env.update(RG_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
        log_path = Path(tmp) / "serve.log"
        with open(log_path, "wb") as log:
            serve = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port),
                 "--data-dir", str(data_dir)], env=env, stdout=log, stderr=log, cwd=ROOT)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_ready(base, serve, log_path)
                settings = load_settings({"RG_DATA_DIR": str(data_dir)})
                organiser = mint(settings, "organiser", None, [NETWORK])
                customer = mint(settings, "customer", CUSTOMER)
                with browser(Path(tmp) / "profile") as driver:
                    shoot(driver, f"{base}/app/networks/{NETWORK}", organiser,
                          args.out / "organiser-page.png")
                    shoot(driver, f"{base}/app/customers/{CUSTOMER}/trust", customer,
                          args.out / "customer-page.png")
            finally:
                serve.send_signal(signal.SIGINT)
                serve.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
