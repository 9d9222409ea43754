"""The command line: configuration and connection errors say what to do, no tracebacks."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.settings import ConfigError, Settings
from tests.serving import serving

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, **env},
    )  # fmt: skip


def test_unreachable_database_is_one_paragraph_not_a_traceback(tmp_path: Path) -> None:
    result = _run(
        "migrate",
        env={
            "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/x",
            "EXPENSEGRAPH_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot connect to the database" in result.stderr
    assert "DATABASE_URL" in result.stderr


def test_bad_database_url_says_what_form_to_use(tmp_path: Path) -> None:
    result = _run(
        "migrate", env={"DATABASE_URL": "mysql://x@y/z", "EXPENSEGRAPH_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "must point at PostgreSQL" in result.stderr


def test_bad_numeric_setting_is_named(tmp_path: Path) -> None:
    env = {"EXPENSEGRAPH_POOL_SIZE": "many", "EXPENSEGRAPH_DATA_DIR": str(tmp_path)}
    try:
        Settings.from_env(env)
    except ConfigError as error:
        assert "EXPENSEGRAPH_POOL_SIZE" in str(error)
    else:
        raise AssertionError("a non-numeric pool size was accepted")


def test_local_jwt_secret_is_created_once_and_kept(tmp_path: Path) -> None:
    first = Settings.from_env({"EXPENSEGRAPH_DATA_DIR": str(tmp_path)}).jwt_secret
    second = Settings.from_env({"EXPENSEGRAPH_DATA_DIR": str(tmp_path)}).jwt_secret
    assert first == second and len(first) >= 32
    assert Settings.from_env({"EXPENSEGRAPH_JWT_SECRET": "s" * 40}).jwt_secret == "s" * 40


async def test_token_and_apikey_commands_print_working_credentials(
    client, world, database_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import SETTINGS, gql

    env = {
        "DATABASE_URL": database_url,
        "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
        "EXPENSEGRAPH_DATA_DIR": str(tmp_path),
    }
    token = _run("token", "--member", "Finance@Alpha.test", env=env)
    assert token.returncode == 0, token.stderr
    key = _run(
        "apikey", "create", "--business", str(world.a.id), "--scopes", "expenses:read", env=env
    )
    assert key.returncode == 0, key.stderr
    secret = key.stdout.strip()
    assert secret.startswith("egk_")

    data = await gql(
        client, "{ viewer { credential member { email } scopes } }", as_=token.stdout.strip()
    )
    assert data["viewer"]["member"]["email"] == "finance@alpha.test"
    data = await gql(client, "{ viewer { credential scopes business { name } } }", as_=secret)
    assert data["viewer"] == {
        "credential": "API_KEY",
        "scopes": ["expenses:read"],
        "business": {"name": "Alpha Ltd"},
    }

    missing = _run("token", "--member", "nobody@alpha.test", env=env)
    assert missing.returncode == 2 and "no member" in missing.stderr


def test_migrate_on_the_embedded_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**env, "EXPENSEGRAPH_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Starting embedded PostgreSQL" in result.stderr
    assert "Database at revision" in result.stderr


def test_serve_with_two_workers_answers_from_both(world, database_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tests.conftest import SETTINGS, token
    from tests.serving import serving

    env = {"DATABASE_URL": database_url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
           "EXPENSEGRAPH_DATA_DIR": str(tmp_path)}  # fmt: skip
    with serving(tmp_path, env, workers=2) as server:
        headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
        for _ in range(4):
            response = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { credential } }"},
                                  headers=headers, timeout=10)  # fmt: skip
            assert response.json()["data"] == {"viewer": {"credential": "MEMBER"}}
        assert server.log.read_text().count("Started server process") == 2


def test_sigterm_stops_the_embedded_database_too(tmp_path: Path) -> None:
    # uvicorn re-raises SIGTERM after its shutdown; the default action skipped atexit and
    # left the embedded PostgreSQL running (and its handle list stale for the next start)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["EXPENSEGRAPH_DATA_DIR"] = str(tmp_path / "data")
    with serving(tmp_path, env) as served:
        pidfile = tmp_path / "data" / "pgdata" / "postmaster.pid"
        postmaster = int(pidfile.read_text().split()[0])
        served.process.send_signal(signal.SIGTERM)
        code = served.process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while _alive(postmaster) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert code == 128 + signal.SIGTERM, served.log.read_text()
    assert not _alive(postmaster), "the embedded PostgreSQL outlived `serve`"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
