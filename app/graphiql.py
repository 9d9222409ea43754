"""GraphiQL served from the service itself: pinned assets, long cache, a CSP of 'self' only.

The assets in app/static/graphiql/vendor/ come from npm at pinned versions
(scripts/fetch-graphiql-assets), beside our own two in app/static/graphiql/; MANIFEST.json
lists them all with their sha384. Only the
names it lists are served, under a path holding a digest of the manifest, so a new set of
assets gets new URLs and browsers may cache each one for good.
"""

import functools
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from app.settings import Settings

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
VENDOR_DIR = ASSETS_DIR / "vendor"  # downloaded from npm, with their licenses
OWN_PACKAGE = "expensegraph"  # the manifest's package of the files we wrote ourselves
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# order matters: the UMD builds find each other as globals (React, ReactDOM, GraphiQL)
SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql-plugin-explorer.umd.js",
    "expensegraph-graphiql.js",
)
STYLESHEETS = ("graphiql.min.css", "graphiql-plugin-explorer.css", "expensegraph-graphiql.css")
# GraphiQL adds one <style> element: react-remove-scroll-bar's, while a dialog (settings,
# short keys) is open. Its text depends only on the page's scrollbar gap, always 0 here
# (expensegraph-graphiql.css hides the body's overflow, so the viewport has no scrollbar),
# so it is allowed by its hash rather than by 'unsafe-inline'; tests/browser opens both
# dialogs. After an update of graphiql, Chromium's console names the hash if it changed.
SCROLL_LOCK_STYLE_HASH = "sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc="
# 'self' only, plus that hash. font-src and img-src also take data: because
# graphiql.min.css embeds its fonts (Roboto, Fira Code) and a few images as data: URLs.
# Inline style attributes are not needed: React and CodeMirror set styles through the
# CSSOM (element.style), which CSP does not govern. connect-src 'self' also admits the
# subscriptions' websocket to this origin (CSP Level 3 matches ws:/wss: to an http:/https:
# 'self'), so nothing wider is needed; tests/browser runs a subscription under it.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' '{SCROLL_LOCK_STYLE_HASH}'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # the page is a few hundred bytes; assets changing under a cached page would break it
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}
DEFAULT_QUERY = """\
# Submitted expenses, 20 at a time: the README's first example.
# Paste a token printed by `expensegraph demo` into Headers below, then press Run.
{
  expenses(first: 20, filter: { statuses: [SUBMITTED] }) {
    totalCount
    edges {
      cursor
      node {
        id
        merchantName
        spentAt
        status
        amount {
          amount
          currency
        }
        homeAmount {
          amount
          currency
        }
        member {
          name
        }
        team {
          name
        }
        card {
          last4
        }
        category {
          name
          glCode
        }
        receiptMissing
        policyViolations {
          code
          message
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""
TOKEN_PLACEHOLDER = "<paste a token printed by expensegraph demo>"
DEFAULT_HEADERS = json.dumps({"Authorization": f"Bearer {TOKEN_PLACEHOLDER}"}, indent=2)


@dataclass(frozen=True)
class Asset:
    """One file listed in MANIFEST.json."""

    name: str
    integrity: str
    path: Path
    media_type: str


@dataclass(frozen=True)
class Manifest:
    """The servable assets, and the version segment of their URLs."""

    version: str
    assets: dict[str, Asset]

    def url(self, name: str) -> str:
        """Return the URL path of asset ``name``."""
        return f"/graphiql/{self.version}/{name}"


def asset_dir(package: str) -> Path:
    """Return the folder that holds the files of ``package``."""
    return ASSETS_DIR if package == OWN_PACKAGE else VENDOR_DIR


@functools.cache
def manifest() -> Manifest:
    """Return the committed manifest (read once per process)."""
    raw = (ASSETS_DIR / "MANIFEST.json").read_bytes()
    assets = {
        entry["file"]: Asset(
            name=entry["file"],
            integrity=entry["integrity"],
            path=asset_dir(entry["package"]) / entry["file"],
            media_type=MEDIA_TYPES[Path(entry["file"]).suffix],
        )
        for entry in json.loads(raw)["assets"]
    }
    return Manifest(version=hashlib.sha256(raw).hexdigest()[:16], assets=assets)


def wants_graphiql(scope: Scope) -> bool:
    """Return True for a browser's GET of /graphql (it accepts text/html)."""
    if scope.get("method") != "GET":
        return False
    accept = dict(scope.get("headers", [])).get(b"accept", b"")
    return b"text/html" in accept


def _config_json() -> str:
    """Return the bootstrap's config, safe inside a <script> element."""
    config = {
        "url": "/graphql",
        "defaultQuery": DEFAULT_QUERY,
        "defaultHeaders": DEFAULT_HEADERS,
        # a header still holding it is not sent (the bootstrap drops it)
        "tokenPlaceholder": TOKEN_PLACEHOLDER,
    }
    # "</script>" or "<!--" in a string must not end or alter the element
    return json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e")


@functools.cache
def _page_html() -> str:
    found = manifest()

    def attrs(name: str) -> str:
        asset = found.assets[name]
        return f'"{html.escape(found.url(name))}" integrity="{html.escape(asset.integrity)}"'

    links = "".join(f"<link rel=stylesheet href={attrs(name)}>\n" for name in STYLESHEETS)
    scripts = "".join(f"<script src={attrs(name)}></script>\n" for name in SCRIPTS)
    return (
        "<!doctype html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        '<meta name=viewport content="width=device-width, initial-scale=1">\n'
        f"<title>expensegraph GraphiQL</title>\n{links}</head>\n<body>\n"
        "<div id=graphiql>Loading...</div>\n"
        "<noscript>GraphiQL needs JavaScript.</noscript>\n"
        f'<script type="application/json" id="graphiql-config">{_config_json()}</script>\n'
        f"{scripts}</body>\n</html>\n"
    )


def graphiql_page(settings: Settings) -> Response:
    """Return the GraphiQL page (the same for every deployment that shows it)."""
    return HTMLResponse(_page_html(), headers=PAGE_HEADERS)


async def _asset(request: Request) -> Response:
    found = manifest()
    asset = found.assets.get(request.path_params["name"])
    if asset is None or request.path_params["version"] != found.version:
        return PlainTextResponse("Not Found", status_code=404)
    return FileResponse(asset.path, media_type=asset.media_type, headers=ASSET_HEADERS)


def mount_graphiql(app: Starlette, settings: Settings) -> None:
    """Add the routes serving GraphiQL's static assets."""
    manifest()  # a missing or broken manifest fails at start-up, not on the first page
    app.router.routes.append(Route("/graphiql/{version}/{name}", _asset, methods=["GET", "HEAD"]))
