"""GraphiQL served from the service itself: pinned assets, long cache, a CSP of 'self' only.

(Stub: the page and its assets are being built; see issue 11.)
"""

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.types import Scope

from app.settings import Settings


def wants_graphiql(scope: Scope) -> bool:
    """Return True for a browser's GET of /graphql (it accepts text/html)."""
    if scope.get("method") != "GET":
        return False
    accept = dict(scope.get("headers", [])).get(b"accept", b"")
    return b"text/html" in accept


def graphiql_page(settings: Settings) -> Response:
    """Return the GraphiQL page."""
    return HTMLResponse("<!doctype html><title>GraphiQL</title><p>Loading...</p>")


def mount_graphiql(app: Starlette, settings: Settings) -> None:
    """Add the routes serving GraphiQL's static assets."""
