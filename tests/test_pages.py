"""The organiser's and the customer's pages, loaded in headless Chromium (Debian's, driven by
Selenium through Debian's chromedriver) from the service on a loopback port, with every other
host unresolvable: what is drawn for a small network built here, what a refused viewer sees,
and that the pages are usable from the keyboard. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from app.auth import mint
from app.settings import Settings
from schema.build import build_schema
from schema.cost import operation_cost
from tests.clients import browser, live_server

ARTIFACTS = Path(__file__).with_name("artifacts")
WAIT = 30  # seconds: an upper bound for a page's calls, never a speed target


@pytest.fixture(scope="module")
def server(settings, bolt) -> Iterator[str]:
    with live_server(settings, bolt) as base:
        yield base


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Iterator[Any]:
    with browser(tmp_path_factory.mktemp("chromium-profile")) as d:
        yield d


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


PROGRAM = """mutation($input: CreateRewardProgramInput!) {
  createRewardProgram(input: $input) { program { id } errors { code message } } }"""
CREATED = "query($id: ID!) { referral(id: $id) { createdAt } }"


@pytest.fixture(scope="module")
def scene() -> dict[str, Any]:
    return {}


@pytest.fixture
async def circle(scene, make, gql) -> dict[str, Any]:
    """A network of three members with four referrals between them, and a fifth referral made
    by a customer, built once for the module:

    - Ada (plumbing) -> Ben (electrical), for Xena: accepted, then converted with Xena's job;
    - Ada -> Ben, for Zoe: sent; Ben -> Ada, for Zoe: declined; Ada -> Cleo (tiling), for
      Zoe: accepted;
    - Xena -> Ben, for Yuri (sent): its chain is the first referral.
    """
    if scene:
        return scene
    ada = await make.professional(["plumbing"], name="Ada Pipewright")
    ben = await make.professional(["electrical"], name="Ben Sparks")
    cleo = await make.professional(["tiling"], name="Cleo Tiles")
    net = await make.network(name="Page Circle")
    for pro in (ada, ben, cleo):
        await make.ok("add_member", networkId=net, professionalId=pro)
    xena = await make.customer(name="Xena Warrior")
    yuri = await make.customer(name="Yuri Gagarin")
    zoe = await make.customer(name="Zoe Quill")
    job = await make.job(xena, ben, rating=5)
    first = await make.referral(ada, ben, xena)
    assert (await make.status(first, "ACCEPTED"))["errors"] == []
    assert (await make.status(first, "CONVERTED", jobId=job))["errors"] == []
    await make.referral(ada, ben, zoe)
    declined = await make.referral(ben, ada, zoe)
    assert (await make.status(declined, "DECLINED"))["errors"] == []
    tiling = await make.referral(ada, cleo, zoe)
    assert (await make.status(tiling, "ACCEPTED"))["errors"] == []
    onward = await make.referral(xena, ben, yuri)
    program = await gql.data(PROGRAM, {"input": {
        "ownerId": net, "name": "Thanks", "trigger": "CONVERTED", "referrerAmount": 10,
        "unit": "GBP"}})
    assert program["createRewardProgram"]["errors"] == []
    other = await make.network(name="Another Circle")
    days = {}
    for name, ref in (("first", first), ("tiling", tiling), ("onward", onward)):
        days[name] = (await gql.data(CREATED, {"id": ref}))["referral"]["createdAt"][:10]
    scene.update(ada=ada, ben=ben, cleo=cleo, net=net, other=other, xena=xena, yuri=yuri,
                 zoe=zoe, first=first, onward=onward, days=days)
    return scene


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, dict(response.headers), response.read().decode()


def open_page(driver: Any, url: str, token: str) -> str:
    """Loads the page, enters the token and waits until it is drawn or refused; returns
    what the page says it is (``network``, ``trust`` or ``refused``)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drops what earlier pages logged
    driver.get(url)
    # A fresh tab state for each viewer: nothing of the previous token is left to load.
    driver.execute_script("sessionStorage.clear()")
    driver.get(url)
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.body.dataset.loaded || null"))
    return str(driver.execute_script("return document.body.dataset.loaded"))


def texts(driver: Any, selector: str) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(function (n) { return n.textContent.trim(); })", selector)


def costs(driver: Any) -> dict[str, int]:
    """The estimated cost of each operation the page sent, by operation name."""
    schema = build_schema(Settings())._schema
    found = {}
    for text in driver.execute_script("return window.RG.sent"):
        document = parse(text)
        operation = next(d for d in document.definitions
                         if isinstance(d, OperationDefinitionNode))
        assert operation.name is not None
        found[operation.name.value] = operation_cost(schema, operation, {})
    return found


def csp_violations(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"] or e["level"] == "SEVERE"]


def screenshot(driver: Any, path: Path) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 40, 8000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    print(f"screenshot: {path}")


def test_pages_are_static_shells_under_a_strict_policy(server):
    for path in ("/app/networks/net_x", "/app/customers/cus_x/trust"):
        status, headers, html = fetch(server + path)
        assert status == 200
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
        assert "connect-src 'self'" in policy and "default-src 'none'" in policy
        # Every script is a file of this service; none is inline.
        scripts = re.findall(r"<script([^>]*)>", html)
        assert scripts and all('src="/app/static/' in s for s in scripts)
        assert not re.search(r"https?://", html)
        for src in re.findall(r'(?:src|href)="(/app/static/[^"]+)"', html):
            assert fetch(server + src)[0] == 200
    # The id from the address is text, never markup.
    _, _, html = fetch(server + "/app/networks/%22%3E%3Cimg%20src%3Dx%3E")
    assert "<img" not in html and 'data-id="&quot;&gt;&lt;img src=x&gt;"' in html


async def test_organiser_sees_the_matrix_funnel_trend_and_gaps(
        circle, server, driver, settings, artifacts):
    c = circle
    token = mint(settings, "organiser", None, [c["net"]])
    assert open_page(driver, f"{server}/app/networks/{c['net']}", token) == "network"
    assert texts(driver, "#page-title") == ["Page Circle"]
    members = texts(driver, "#members li .name")
    assert sorted(members) == ["Ada Pipewright", "Ben Sparks", "Cleo Tiles"]
    # The heat map: one labelled cell per giver and receiver with referrals.
    cells = driver.execute_script(
        "return Array.from(document.querySelectorAll('#matrix g.cell:not(.empty)')).map("
        "function (g) { return [g.dataset.giver, g.dataset.receiver, "
        "g.querySelector('text').textContent]; })")
    assert sorted(map(tuple, cells)) == sorted([
        (c["ada"], c["ben"], "2"), (c["ada"], c["cleo"], "1"), (c["ben"], c["ada"], "1")])
    assert texts(driver, "#matrix svg > title") == [
        "Heat map of referrals from giver to receiver"]
    # Its table alternative names the same cells.
    rows = driver.execute_script(
        "return Array.from(document.querySelectorAll('.matrix-table tbody tr')).map("
        "function (r) { return Array.from(r.children).slice(0, 4)"
        ".map(function (c) { return c.textContent; }); })")
    assert sorted(map(tuple, rows)) == sorted([
        ("Ada Pipewright", "Ben Sparks", "2", "1"), ("Ada Pipewright", "Cleo Tiles", "1", "0"),
        ("Ben Sparks", "Ada Pipewright", "1", "0")])
    # The funnel: 4 referrals, 2 reached ACCEPTED, 1 converted, 1 declined, 2 still open.
    stages = driver.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('#funnel g.stage'))"
        ".map(function (g) { return [g.dataset.stage, g.querySelector('.value').textContent]; }))")
    assert stages == {"referrals": "4", "accepted": "2", "converted": "1", "declined": "1",
                      "expired": "0", "open": "2"}
    assert texts(driver, "[data-figure=conversionRate]") == ["25.0%"]
    # The trend: twelve months, this month's bar holding all four referrals.
    months = driver.execute_script(
        "return Array.from(document.querySelectorAll('.trend-table tbody tr')).map("
        "function (r) { return Array.from(r.children).map(function (c) "
        "{ return c.textContent; }); })")
    assert len(months) == 12
    assert months[-1] == [c["days"]["first"][:7], "4", "1"]
    assert sum(int(m[1]) for m in months) == 4
    # Givers and takers, the gaps' sections and the leaderboard of its reward program.
    assert texts(driver, ".givers tbody th")[0] == "Ada Pipewright"
    assert "Cleo Tiles" in texts(driver, "#passive li")[0]
    assert driver.find_element("id", "leaderboard-section").is_displayed()
    assert texts(driver, ".leaderboard tbody tr")[0].startswith("1Ada Pipewright")
    assert not texts(driver, "#content .error")
    assert csp_violations(driver) == []
    # Every call fits under the default cost limit (RG_MAX_COST) on its own.
    sent = costs(driver)
    print("organiser page costs:", sent)
    assert set(sent) == {"NetworkOverview", "NetworkMeasures", "NetworkGaps",
                         "NetworkLeaderboard"}
    assert max(sent.values()) < Settings().max_cost
    screenshot(driver, artifacts / "organiser-page.png")


async def test_a_customer_sees_its_trust_path_and_referral_chain(
        circle, server, driver, settings, artifacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    c = circle
    token = mint(settings, "customer", c["xena"])
    assert open_page(driver, f"{server}/app/customers/{c['xena']}/trust", token) == "trust"
    options = texts(driver, "#trade option")
    assert options == ["Any trade", "electrical", "plumbing", "tiling"]
    # Keyboard: from the last header control, Tab reaches the trade chooser; typing picks.
    driver.execute_script("document.getElementById('forget').focus()")
    driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "trade"
    driver.switch_to.active_element.send_keys("ti")
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "return document.getElementById('trusted').dataset.trade === 'tiling'"))
    assert texts(driver, "#trusted h3") == ["Cleo Tiles"]
    # The path: Xena was referred by Ada (0.8), who recommended Cleo (accepted, unverified:
    # 0.7 x 0.8), both today.
    nodes = driver.execute_script(
        "return Array.from(document.querySelectorAll('#trusted .trust-path g.node')).map("
        "function (g) { return [g.dataset.id, g.dataset.kind, "
        "g.querySelector('text').textContent]; })")
    assert nodes == [[c["xena"], "Customer", "Xena W."], [c["ada"], "Professional",
                     "Ada Pipewright"], [c["cleo"], "Professional", "Cleo Tiles"]]
    hops = driver.execute_script(
        "return Array.from(document.querySelectorAll('#trusted .trust-path g.hop')).map("
        "function (g) { return Array.from(g.querySelectorAll('text'))"
        ".map(function (t) { return t.textContent; }); })")
    assert hops == [["REFERRED_BY", "trust 0.80", c["days"]["first"]],
                    ["REFERRED", "trust 0.56", c["days"]["tiling"]]]
    title = texts(driver, "#trusted .trust-path > title")
    assert title == ["Most trusted path to Cleo Tiles: trust 0.45"]
    assert "Xena W. was referred by Ada Pipewright" in texts(
        driver, "#trusted .trust-path > desc")[0]
    # The chain of Xena's own referral: Ada recommended Ben to Xena, then Xena to Yuri.
    button = driver.find_element(By.CSS_SELECTOR, f"button[data-referral='{c['onward']}']")
    button.send_keys(Keys.ENTER)
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "return !!document.querySelector(\"figure.chain[data-referral='\" + arguments[0] + "
        "\"']\")", c["onward"]))
    chain = texts(driver, ".chain-panel g.node text")
    assert chain == ["Ada Pipewright", "Ben Sparks", "Xena W.", "Ben Sparks", "Yuri G."]
    labels = texts(driver, ".chain-panel g.hop .hop-label")
    assert labels == ["REFERRED", "to", "REFERRED", "to"]
    assert csp_violations(driver) == []
    sent = costs(driver)
    print("customer page costs:", sent)
    assert set(sent) == {"TrustOverview", "Trusted"}
    assert max(sent.values()) < Settings().max_cost
    screenshot(driver, artifacts / "customer-page.png")


async def test_refused_viewers_see_the_refusal_and_no_data(circle, server, driver, settings):
    c = circle
    outsider = mint(settings, "organiser", None, [c["other"]])
    assert open_page(driver, f"{server}/app/networks/{c['net']}", outsider) == "refused"
    assert texts(driver, "#refusal") == ["You may not see this network."]
    assert not driver.find_element("id", "view").is_displayed()
    body = driver.find_element("tag name", "body").text
    assert "Ada Pipewright" not in body and "Page Circle" not in body

    stranger = mint(settings, "customer", c["zoe"])
    url = f"{server}/app/customers/{c['xena']}/trust"
    assert open_page(driver, url, stranger) == "refused"
    assert texts(driver, "#refusal") == ["You may not see this customer\u2019s trust page."]
    body = driver.find_element("tag name", "body").text
    assert "Xena" not in body and "Cleo Tiles" not in body

    # A member reads its network and its members, not the organisers' figures.
    member = mint(settings, "professional", c["cleo"])
    assert open_page(driver, f"{server}/app/networks/{c['net']}", member) == "network"
    assert sorted(texts(driver, "#members li .name")) == [
        "Ada Pipewright", "Ben Sparks", "Cleo Tiles"]
    part = "You may not see this part of the network."
    for box in ("funnel", "matrix", "trend", "balance", "gaps", "pairs", "passive"):
        assert texts(driver, f"#{box} .error") == [part], box
    # The leaderboard of its network's program is for its members too.
    assert texts(driver, ".leaderboard tbody tr")[0].startswith("1Ada Pipewright")
    assert texts(driver, "#matrix g.cell") == [] and texts(driver, "#funnel g.stage") == []

    # A token the service does not accept is said so, and shows nothing either.
    assert open_page(driver, url, "not-a-token") == "refused"
    assert "refused this token" in texts(driver, "#refusal")[0]


def test_the_token_field_comes_first_and_stays_in_the_tab(server, driver, settings):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{server}/app/networks/net_nowhere")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{server}/app/networks/net_nowhere")
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)  # the skip link
    assert driver.switch_to.active_element.get_attribute("class") == "skip"
    driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "token"
    # The focused control is outlined (visible focus).
    outline = driver.execute_script(
        "return getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    driver.switch_to.active_element.send_keys(mint(settings, "admin"), Keys.ENTER)
    assert driver.execute_script("return sessionStorage.getItem('referral-graph-token')")
    # An admin asking for an unknown network is told there is none.
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.body.dataset.loaded || null"))
    assert texts(driver, "#refusal") == ["There is no network with this id."]
    driver.find_element(By.ID, "forget").click()
    assert driver.execute_script("return sessionStorage.getItem('referral-graph-token')") is None


async def test_production_serves_the_pages_and_their_files(store, settings):
    """Unlike GraphiQL, the pages are for users: production serves them too."""
    import httpx

    from app.main import create_app

    app = create_app(replace(settings, env="production"), store=store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        page = await http.get("/app/customers/cus_x/trust")
        script = await http.get("/app/static/trust.js")
        missing = await http.get("/app/static/nowhere.js")
    assert page.status_code == 200 and "script-src 'self'" in page.headers[
        "content-security-policy"]
    assert script.status_code == 200
    assert script.headers["content-type"].split(";")[0] in ("text/javascript",
                                                            "application/javascript")
    assert missing.status_code == 404
