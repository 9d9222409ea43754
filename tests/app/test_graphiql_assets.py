"""GraphiQL's page and pinned assets through the real ASGI app: headers, integrity, 404s."""

import base64
import dataclasses
import hashlib
import json
import re

import httpx
import pytest

from app.graphiql import (
    ASSETS_DIR,
    DEFAULT_HEADERS,
    DEFAULT_QUERY,
    SCROLL_LOCK_STYLE_HASH,
    TOKEN_PLACEHOLDER,
    VENDOR_DIR,
    asset_dir,
    manifest,
)
from app.http import create_app
from tests.conftest import SETTINGS, token

MANIFEST = json.loads((ASSETS_DIR / "MANIFEST.json").read_text())
HTML = {"Accept": "text/html"}
IMMUTABLE = "public, max-age=31536000, immutable"


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


async def _page(client: httpx.AsyncClient) -> httpx.Response:
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    return response


async def test_page_headers_forbid_everything_but_self(client: httpx.AsyncClient) -> None:
    response = await _page(client)
    policy = dict(d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";"))  # fmt: skip
    assert policy["default-src"] == policy["script-src"] == "'self'"
    # and the hash of the one <style> element GraphiQL adds (see app/graphiql.py)
    assert policy["style-src"] == f"'self' '{SCROLL_LOCK_STYLE_HASH}'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("text/html")


async def test_page_has_no_inline_script_and_pins_every_asset(client: httpx.AsyncClient) -> None:
    page = (await _page(client)).text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    for attributes, body in scripts:
        if 'type="application/json"' in attributes:
            continue  # data, not script: CSP does not run it
        assert body == "" and "integrity=" in attributes, attributes
    assert len(scripts) == 1 + 5
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", page)
    urls = re.findall(r'(?:src|href)="([^"]+)" integrity="([^"]+)"', page)
    assert {url.rsplit("/", 1)[1] for url, _ in urls} == {a["file"] for a in MANIFEST["assets"]}
    for url, integrity in urls:
        assert url.startswith(f"/graphiql/{manifest().version}/")
        served = await client.get(url)
        assert served.status_code == 200, url
        assert _sri(served.content) == integrity, f"{url} does not match the manifest"
        assert served.headers["cache-control"] == IMMUTABLE
        assert served.headers["x-content-type-options"] == "nosniff"
        kind = "text/javascript" if url.endswith(".js") else "text/css"
        assert served.headers["content-type"] == f"{kind}; charset=utf-8"


async def test_page_config_opens_the_readme_example_with_placeholder_headers(
    client: httpx.AsyncClient,
) -> None:
    page = (await _page(client)).text
    block = re.search(r'<script type="application/json" id="graphiql-config">(.*?)</script>', page, re.S)  # fmt: skip
    assert block is not None
    assert "<" not in block[1]  # escaped: no string in it can close the element
    config = json.loads(block[1])
    assert config == {"url": "/graphql", "defaultQuery": DEFAULT_QUERY,
                      "defaultHeaders": DEFAULT_HEADERS, "tokenPlaceholder": TOKEN_PLACEHOLDER}  # fmt: skip
    assert json.loads(DEFAULT_HEADERS) == {
        "Authorization": "Bearer <paste a token printed by expensegraph demo>"
    }


async def test_default_query_runs_without_errors(client: httpx.AsyncClient, world) -> None:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    response = await client.post("/graphql", json={"query": DEFAULT_QUERY}, headers=headers)
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["expenses"]["totalCount"] >= 0


def test_committed_files_match_the_manifest() -> None:
    for entry in MANIFEST["assets"]:
        data = (asset_dir(entry["package"]) / entry["file"]).read_bytes()
        assert _sri(data) == entry["integrity"], entry["file"]
    downloaded = {entry["package"] for entry in MANIFEST["assets"]} - {"expensegraph"}
    assert downloaded <= set(MANIFEST["licenses"])
    assert all((VENDOR_DIR / name).is_file() for name in MANIFEST["licenses"].values())


@pytest.mark.parametrize(
    "path",
    [
        "/graphiql/{version}/nonexistent.js",
        "/graphiql/{version}/MANIFEST.json",  # on disk, but not an asset
        "/graphiql/{version}/LICENSE-react.txt",
        "/graphiql/0000000000000000/graphiql.min.js",  # another version's URL
        "/graphiql/{version}/..%2F..%2Fgraphiql.py",
        "/graphiql/{version}/%2E%2E%2Fsettings.py",
        "/graphiql/{version}/../../graphiql.py",
        "/graphiql/{version}/graphiql.min.js%00.css",
        "/graphiql/{version}/static%2Fgraphiql%2Fgraphiql.min.js",
    ],
)
async def test_unknown_names_are_not_found(client: httpx.AsyncClient, path: str) -> None:
    url = httpx.URL(f"http://test{path.format(version=manifest().version)}")
    response = await client.get(url)
    assert response.status_code == 404
    assert "cache-control" not in response.headers


async def test_nothing_of_graphiql_without_the_setting(engine, database_url: str) -> None:
    app = create_app(dataclasses.replace(SETTINGS, graphiql=False), database_url, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        page = await c.get("/graphql", headers=HTML)
        asset = await c.get(f"/graphiql/{manifest().version}/graphiql.min.js")
    assert "graphiql" not in page.text.lower()
    assert "content-security-policy" not in page.headers
    assert asset.status_code == 404


def test_asset_directories_hold_only_manifest_files_and_licenses() -> None:
    # anything else there would ship in the wheel without being pinned or licensed
    ours = {a["file"] for a in MANIFEST["assets"] if a["package"] == "expensegraph"}
    theirs = {a["file"] for a in MANIFEST["assets"]} - ours
    assert {p.name for p in ASSETS_DIR.iterdir()} == ours | {"MANIFEST.json", "vendor"}
    assert {p.name for p in VENDOR_DIR.iterdir()} == theirs | set(MANIFEST["licenses"].values())
