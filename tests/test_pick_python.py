"""scripts/pick-python: which Python 3.11 scripts/install makes .venv with."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PICK = Path(__file__).resolve().parents[1] / "scripts" / "pick-python"
SYSTEM = Path("/usr/bin/python3.11")


def pick(path: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the script with only ``path`` as PATH and the variables ``env``."""
    return subprocess.run(
        [PICK], env={"PATH": path, **env}, capture_output=True, text=True, timeout=60
    )


def usable(python: Path) -> bool:
    """Return whether ``python`` is a 3.11 that can make a venv (the script's own test)."""
    check = "import sys, ensurepip, venv; sys.exit(sys.version_info[:2] != (3, 11))"
    return python.exists() and subprocess.run([python, "-c", check]).returncode == 0


def test_an_explicit_python_is_taken_as_given() -> None:
    done = pick(os.environ["PATH"], EXPENSEGRAPH_PYTHON=sys.executable)
    assert (done.returncode, done.stdout.strip()) == (0, sys.executable), done.stderr


def test_an_explicit_python_that_is_not_one_is_refused_with_the_reason(tmp_path: Path) -> None:
    done = pick(os.environ["PATH"], EXPENSEGRAPH_PYTHON=str(tmp_path / "python3.11"))
    assert done.returncode == 1 and done.stdout == ""
    assert "is not a Python 3.11 that can make a venv" in done.stderr


@pytest.mark.skipif(not usable(SYSTEM), reason="no system Python 3.11 with venv here")
def test_the_system_python_comes_before_another_python_on_path(tmp_path: Path) -> None:
    # a python3.11 first on PATH, as pyenv's shims are on some machines
    (tmp_path / "python3.11").symlink_to(sys.executable)
    done = pick(f"{tmp_path}:/usr/bin:/bin")
    assert (done.returncode, done.stdout.strip()) == (0, str(SYSTEM)), done.stderr
