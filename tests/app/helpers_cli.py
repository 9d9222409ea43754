"""Shared helpers of the command line tests (test_cli_*.py): run `expensegraph` as a process."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SETTINGS
from tests.serving import ROOT


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `expensegraph` with ``args`` and ``env`` on top of this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, **env},
    )  # fmt: skip


def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Return the environment of a command on the test database, signing as the tests do."""
    return {"DATABASE_URL": database_url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
            "EXPENSEGRAPH_DATA_DIR": str(tmp_path)}  # fmt: skip
