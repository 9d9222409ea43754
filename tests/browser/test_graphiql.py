"""GraphiQL in a real headless Chromium, with every host but 127.0.0.1 blocked.

A real `expensegraph serve` process on the demo data: the page must load from the
service's own assets, pass its own Content-Security-Policy, show the schema's docs, run
the default query with a pasted demo token, and run a subscription over the page's own
websocket URL, authenticated by the same pasted headers. Skipped when Chromium or playwright is
missing, except under CI, which must run it.
"""

import asyncio
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.auth import issue_token
from app.graphiql import DEFAULT_HEADERS, DEFAULT_QUERY
from db.roles import Role
from devdata.demo import seed_demo
from tests.conftest import SETTINGS, fresh_database
from tests.serving import serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import Page, Response, Route, WebSocket, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

_missing = [
    name
    for name, found in (("chromium", CHROMIUM), ("playwright", sync_playwright))
    if found is None
]
if _missing:
    reason = (
        f"{' and '.join(_missing)} not installed (apt-get install chromium; pip install -e .[test])"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

# GraphiQL's editors are CodeMirror 5, which keeps its editor object on its wrapper element
EDITOR_VALUE = "selector => document.querySelector(selector).CodeMirror.getValue()"
RESULT = ".graphiql-response .CodeMirror"
QUERY = ".graphiql-query-editor .CodeMirror"
# the variables and headers editors share a section; the one not shown is .hidden
HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
# the response editor holds the whole response once it has arrived
RESULT_IS_JSON = f"""selector => {{
  try {{ return JSON.parse(({EDITOR_VALUE})(selector)) !== null; }} catch {{ return false; }}
}}"""
TIMEOUT_MS = 15_000
# every Content-Security-Policy violation, as the page itself sees them
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`));
"""


@dataclass(frozen=True)
class Demo:
    """The server, and the demo admin's token."""

    url: str
    token: str


@dataclass
class Watched:
    """What the page did that it should not have."""

    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def demo(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    url = fresh_database(server_url)
    acme = asyncio.run(seed_demo(url=url)).acme
    admin = acme.members[Role.ADMIN]
    token = issue_token(SETTINGS, business_id=acme.business_id, member_id=admin.member_id)
    tmp = tmp_path_factory.mktemp("graphiql")
    # `serve` with what `demo` turns on: GraphiQL and introspection
    env = {"DATABASE_URL": url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
           "EXPENSEGRAPH_DATA_DIR": str(tmp), "EXPENSEGRAPH_GRAPHIQL": "true",
           "EXPENSEGRAPH_INTROSPECTION": "true"}  # fmt: skip
    with serving(tmp, env) as served:
        yield Demo(served.url, token)


@pytest.fixture
def page(demo: Demo) -> Iterator[tuple[Page, Watched]]:
    assert sync_playwright is not None and CHROMIUM is not None
    watched = Watched()

    def only_this_machine(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            watched.blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.route("**/*", only_this_machine)
            page.add_init_script(RECORD_VIOLATIONS)
            page.on("console", lambda message: watched.console.append(message.text))
            page.on("pageerror", lambda error: watched.errors.append(str(error)))
            page.on("response", lambda response: _check(response, watched))
            yield page, watched
        finally:
            browser.close()


def _check(response: Response, watched: Watched) -> None:
    if not response.ok and not response.url.endswith("/favicon.ico"):
        watched.failed.append(f"{response.status} {response.url}")


def _post(demo: Demo, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the data of a query the demo admin sends over HTTP (it must not fail)."""
    response = httpx.post(
        f"{demo.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {demo.token}"},
        timeout=10,
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]


def _expected_merchants(demo: Demo) -> list[str]:
    edges = _post(demo, DEFAULT_QUERY)["expenses"]["edges"]
    return [edge["node"]["merchantName"] for edge in edges]


def _editor(page: Page, selector: str) -> str:
    return page.evaluate(EDITOR_VALUE, selector)


def _open_docs_and_explorer(page: Page) -> None:
    # before any token is pasted: the placeholder header is not sent, introspection works
    page.get_by_role("button", name="Show Documentation Explorer").click()
    page.locator(".graphiql-doc-explorer-type-name", has_text="Query").first.click()
    docs = page.locator(".graphiql-doc-explorer")
    docs.locator(".graphiql-doc-explorer-field-name", has_text="expenses").first.wait_for()
    # the explorer plugin renders the same schema as a tree
    page.get_by_role("button", name="Show GraphiQL Explorer").click()
    page.locator(".graphiql-explorer-root").get_by_text("expenses", exact=True).first.wait_for()


def _paste_token(page: Page, token: str) -> None:
    # a first-time user: replace the placeholder headers with the pasted token
    assert _editor(page, HEADERS) == DEFAULT_HEADERS
    page.locator(HEADERS).click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {token}"}))


def _run_with_token(page: Page, token: str) -> dict[str, Any]:
    _paste_token(page, token)
    page.locator(".graphiql-execute-button").click()
    page.wait_for_function(RESULT_IS_JSON, arg=RESULT)
    return json.loads(_editor(page, RESULT))


def _open_dialogs(page: Page) -> None:
    # they add GraphiQL's one <style> element, which the page's CSP allows by its hash
    for name in ("Open settings dialog", "Open short keys dialog"):
        page.get_by_role("button", name=name).click()
        page.get_by_role("dialog").wait_for()
        page.keyboard.press("Escape")
        page.get_by_role("dialog").wait_for(state="detached")


def test_graphiql_works_offline_under_its_csp(demo: Demo, page: tuple[Page, Watched]) -> None:
    browser_page, watched = page
    merchants = _expected_merchants(demo)
    assert merchants, "the demo has no submitted expenses to show"

    response = browser_page.goto(f"{demo.url}/graphql")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    browser_page.locator(QUERY).wait_for()
    assert "Loading..." not in browser_page.inner_text("body")
    assert _editor(browser_page, QUERY) == DEFAULT_QUERY
    _open_docs_and_explorer(browser_page)

    result = _run_with_token(browser_page, demo.token)
    assert "errors" not in result, result
    expenses = result["data"]["expenses"]
    assert expenses["totalCount"] >= len(merchants)
    assert [edge["node"]["merchantName"] for edge in expenses["edges"]] == merchants
    browser_page.locator(RESULT).get_by_text(merchants[0]).first.wait_for()
    _open_dialogs(browser_page)

    assert watched.blocked == [], "the page needed other hosts"
    assert watched.failed == [] and watched.errors == []
    assert browser_page.evaluate("window.cspViolations") == []
    assert [text for text in watched.console if "Content Security Policy" in text] == []
    # and the policy is in force: an inline style of our own is refused and seen
    browser_page.evaluate(
        "document.head.append(Object.assign(document.createElement('style'), {textContent: 'body {}'}))"
    )
    browser_page.wait_for_function("window.cspViolations.length === 1")


CARDS = "{ cards(first: 1, filter: { statuses: [ACTIVE] }) { nodes { id } } }"
FREEZE = "mutation($id: ID!) { freezeCard(id: $id) { userErrors { code } } }"
UNFREEZE = "mutation($id: ID!) { unfreezeCard(id: $id) { userErrors { code } } }"
FEED = "query($after: String) { events(first: 100, after: $after) { edges { cursor } pageInfo { hasNextPage } } }"
SET_EDITOR = "([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text)"


def _feed_end(demo: Demo) -> str | None:
    """Return the cursor of the newest event the admin can read (None: the feed is empty)."""
    after, more = None, True
    while more:
        page = _post(demo, FEED, {"after": after})["events"]
        after = page["edges"][-1]["cursor"] if page["edges"] else after
        more = page["pageInfo"]["hasNextPage"]
    return after


def test_graphiql_runs_a_subscription_over_its_own_websocket(
    demo: Demo, page: tuple[Page, Watched]
) -> None:
    browser_page, watched = page
    card = _post(demo, CARDS)["cards"]["nodes"][0]["id"]
    _post(demo, FREEZE, {"id": card})
    # from the freeze on: the stream holds the unfreeze however soon it is caused
    after = _feed_end(demo)
    assert after is not None
    sockets: list[WebSocket] = []
    sent: list[str] = []  # frames are recorded from the socket's first: none is missed

    def opened(socket: WebSocket) -> None:
        sockets.append(socket)
        socket.on("framesent", lambda payload: sent.append(str(payload)))

    browser_page.on("websocket", opened)
    browser_page.goto(f"{demo.url}/graphql")
    browser_page.locator(QUERY).wait_for()
    subscription = (
        f'subscription {{ events(after: "{after}") {{ type objectId actor {{ kind }} }} }}'
    )
    browser_page.evaluate(SET_EDITOR, [QUERY, subscription])
    _paste_token(browser_page, demo.token)
    browser_page.locator(".graphiql-execute-button").click()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not any('"subscribe"' in frame for frame in sent):
        assert time.monotonic() < deadline, f"no subscribe frame sent: {sent}"
        browser_page.wait_for_timeout(50)
    [socket] = sockets
    _post(demo, UNFREEZE, {"id": card})  # a change made elsewhere, after subscribing

    browser_page.wait_for_function(RESULT_IS_JSON, arg=RESULT)
    event = json.loads(_editor(browser_page, RESULT))["data"]["events"]
    assert event == {"type": "card.unfrozen", "objectId": card, "actor": {"kind": "MEMBER"}}
    # the page's own origin and path; the headers typed in GraphiQL authenticated it
    assert socket.url == demo.url.replace("http://", "ws://") + "/graphql"
    assert watched.blocked == [] and watched.failed == [] and watched.errors == []
    assert browser_page.evaluate("window.cspViolations") == []
