"""Serving: the API (one process or several workers) and the background job worker."""

import asyncio
import errno
import os
import shutil
import signal
import socket
import sys
import tempfile
from typing import Any, cast

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app import persisted, tracing
from app.commands.errors import CommandError
from app.http import WORKER_DATABASE_URL, app_from_env, create_app, settle_gc
from app.observability import MULTIPROC_DIR, configure_logging
from app.scrape import across_workers
from app.settings import Settings


def check_port(host: str, port: int) -> None:
    """Raise CommandError unless ``host:port`` can be listened on, bound as uvicorn binds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CommandError(f"port {port} is in use; pass --port N") from None
            raise CommandError(
                f"cannot listen on {host}:{port} ({error.strerror or error}); "
                "pass --host H or --port N"
            ) from None


async def serve(settings: Settings, url: str, host: str, port: int, workers: int = 1) -> None:
    """Serve the API until interrupted, in ``workers`` processes (uvloop, httptools)."""
    configure_logging()
    persisted.from_settings(settings)  # a bad manifest stops here, not in every worker
    # uvicorn shuts down on SIGTERM, then raises the signal again: let that be an exit,
    # not a kill, so atexit handlers run (they stop the embedded PostgreSQL)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if settings.graphiql:
        print(f"GraphiQL: http://{host}:{port}/graphql", file=sys.stderr)
    options: dict[str, Any] = {
        "host": host, "port": port, "http": ONE_WRITE_HTTP, "loop": "uvloop",
        "log_level": "info", "timeout_graceful_shutdown": settings.shutdown_grace_s,
        # every request already writes its own JSON line (app/observability.py): uvicorn's
        # access line would say less, twice the bytes, for a tenth of a small query's CPU
        "access_log": False,
        "ws_per_message_deflate": settings.ws_compression,
    }  # fmt: skip
    if workers == 1:
        tracing.configure_tracing()  # each worker process configures its own (app_from_env)
        app = create_app(settings, url)
        settle_gc()
        await uvicorn.Server(uvicorn.Config(app, **options)).serve()
        return
    # each worker process builds its own app (and engine) from the environment, where
    # demo's development defaults would be lost
    os.environ[WORKER_DATABASE_URL] = url
    os.environ["EXPENSEGRAPH_GRAPHIQL"] = str(int(settings.graphiql))
    os.environ["EXPENSEGRAPH_INTROSPECTION"] = str(int(settings.introspection))
    os.environ["EXPENSEGRAPH_CORS_ORIGINS"] = ",".join(settings.cors_origins)
    if settings.hs256_tokens:  # demo's development tokens: workers must accept them too
        os.environ.setdefault("EXPENSEGRAPH_JWT_SECRET", settings.jwt_secret)
    # every worker writes its metrics into a directory of this run's, so that /metrics
    # answered by any of them counts all (prometheus_client's multiprocess mode)
    metrics_dir = tempfile.mkdtemp(prefix="expensegraph-metrics-")
    os.environ[MULTIPROC_DIR] = metrics_dir
    try:
        # the supervisor needs the main thread for its signal handlers; nothing else runs here
        uvicorn.run("app.commands.serve:worker_app", factory=True, workers=workers, **options)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


class OneWrite:
    """A connection's transport whose writes of one turn of the event loop leave in one send.

    uvicorn writes a response's status line and headers, then its body: two ``send`` calls,
    and on a connection without Nagle's delay, two TCP segments for the client to take in.
    Both are written in the same turn: joined at its end, they are one.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: Any, loop: Any) -> None:
        self._transport, self._loop = transport, loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        """Write what this turn wrote, at once."""
        if self._pending:
            pending, self._pending = self._pending, []
            if not self._transport.is_closing():
                self._transport.writelines(pending)  # uvloop: one writev, nothing copied

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose responses leave in one write each (:class:`OneWrite`)."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:  # a new one: no upgrade
            cycle.transport = cast(asyncio.Transport, OneWrite(self.transport, self.loop))


ONE_WRITE_HTTP = f"{__name__}:{OneWriteHttpToolsProtocol.__name__}"


def worker_app() -> ASGIApp:
    """Return one worker's app (uvicorn factory): built from the environment, metrics shared."""
    return across_workers(app_from_env())


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


async def run_worker(url: str, settings: Settings, concurrency: int) -> None:
    """Run background jobs until SIGTERM or SIGINT (app/worker.py)."""
    from app.worker import WorkerSettings
    from app.worker import run_worker as run

    configure_logging()
    # Tesseract's own threads fight the worker's for 2 cores; one each is faster (bench/)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    await run(url, settings.receipt_root, WorkerSettings.from_env(os.environ, concurrency))
