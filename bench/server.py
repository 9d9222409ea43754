"""The API server under test: ``expensegraph serve`` as a subprocess, stopped by its pid."""

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from bench.data import child_env, cli_path

READY_TIMEOUT_S = 180
STOP_TIMEOUT_S = 30


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``expensegraph serve`` on a free port of 127.0.0.1; a context manager."""

    def __init__(self, data_dir: Path, log_path: Path, env: dict[str, str], workers: int) -> None:
        self.data_dir, self.log_path, self.extra_env = data_dir, log_path, env
        # --workers only when asked for: a CLI without the option still serves one process
        self.workers = ["--workers", str(workers)] if workers > 1 else []
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the GraphQL endpoint's URL."""
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def pid(self) -> int:
        """Return the server's process id."""
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> "Server":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    cli_path(),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    *self.workers,
                ],
                env=child_env(self.data_dir, **self.extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        """Wait until /readyz answers 200; RuntimeError if the server exits or times out."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        ready = f"http://127.0.0.1:{self.port}/readyz"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(ready, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(
            f"the server was not ready after {READY_TIMEOUT_S} s; see {self.log_path}"
        )

    def stop(self) -> None:
        """Stop the server: SIGINT (graceful), then SIGKILL after a timeout."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
