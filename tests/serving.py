"""Run `expensegraph serve` as a real process for a test, or an app in a task of the test's
event loop, and always stop it."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Served:
    """A running server: where it listens and where its output goes."""

    port: int
    log: Path
    process: "subprocess.Popen[bytes]"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def stop(process: "subprocess.Popen[Any]", how: int = signal.SIGINT, timeout: float = 30) -> None:
    """Send ``how`` to a process and wait for it; kill it if it is not gone in ``timeout``."""
    process.send_signal(how)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    """Return True when something accepts connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@contextmanager
def serving(tmp_path: Path, env: dict[str, str], *args: str, workers: int = 1) -> Iterator[Served]:
    """Start `expensegraph serve` (plus ``args``), wait until every worker is up, stop it after."""
    port, log = free_port(), tmp_path / "serve.log"
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *args,
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        # one worker's uvicorn binds its port after its startup (several: the parent, before)
        while log.read_text().count("Application startup complete") < workers or not listening(
            port
        ):
            assert time.monotonic() < deadline and process.poll() is None, log.read_text()
            time.sleep(0.2)
        yield Served(port, log, process)
    finally:
        stop(process)


@asynccontextmanager
async def in_task(app: Any, port: int, **options: Any) -> AsyncIterator[uvicorn.Server]:
    """Serve ``app`` on 127.0.0.1:``port`` from a task of this event loop; stop it after."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(300):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
