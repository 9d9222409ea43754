"""/healthz (the process is up) and /readyz (the database answers, migrations at head)."""

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db.migrate import current_revision, head_revision

log = logging.getLogger("expensegraph.http")


async def healthz(request: Request) -> Response:
    """Return 200 while the process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Return 200 when the database answers and its migrations are at head, else 503."""
    try:
        revision = await current_revision(request.app.state.engine)
    except Exception as error:  # any failure to reach the database means not ready
        log.warning("readiness check failed: %r", error)
        return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, 503)
    head = head_revision()
    if revision != head:
        return JSONResponse(
            {"status": "unavailable", "reason": f"migrations at {revision}, head is {head}"}, 503
        )
    return JSONResponse({"status": "ok", "revision": revision})
