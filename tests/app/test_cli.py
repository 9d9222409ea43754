"""The command line: configuration and connection errors say what to do, no tracebacks."""

import argparse
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli import _parser
from app.commands.accounts import list_api_keys, revoke_api_key
from app.commands.errors import CommandError
from app.settings import ConfigError, Settings
from resolvers.ids import encode_id
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
    env = {"EXPENSEGRAPH_DATA_DIR": str(tmp_path)}
    # serve reads a secret but never makes one: no development tokens on a fresh server
    assert Settings.from_env(env).jwt_secret == "" and not Settings.from_env(env).hs256_tokens
    first = Settings.from_env(env, local_secret=True).jwt_secret  # as demo and token do
    second = Settings.from_env(env)
    assert first == second.jwt_secret and len(first) >= 32
    assert second.hs256_tokens  # a secret someone made on purpose: its tokens are accepted
    assert Settings.from_env({"EXPENSEGRAPH_JWT_SECRET": "s" * 40}).jwt_secret == "s" * 40


async def test_token_and_apikey_commands_print_working_credentials(
    client, world, database_url: str, tmp_path: Path
) -> None:
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


def test_serve_with_two_workers_answers_from_both(world, database_url: str, tmp_path: Path) -> None:
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


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_every_option_has_help_that_says_its_default() -> None:
    for parser in _parsers(_parser()):
        assert "``" not in (parser.description or ""), parser.prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help and "``" not in choice.help, (parser.prog, choice.dest)
                continue
            if action.dest in ("help", "version"):
                continue
            where = f"{parser.prog} {action.option_strings or action.dest}"
            assert action.help and "``" not in action.help, where
            if action.option_strings:
                said = "(required)" if action.required else "(default: "
                assert said in action.help, where
        assert "``" not in parser.format_help(), parser.prog


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args(["--version"])
    assert exit_.value.code == 0
    version = importlib.metadata.version("expensegraph")
    assert capsys.readouterr().out.strip() == f"expensegraph {version}"


def test_business_is_a_number_or_a_business_global_id(capsys: pytest.CaptureFixture[str]) -> None:
    parse = _parser().parse_args
    for given in ("17", encode_id("Business", 17)):
        assert parse(["token", "--member", "x@y.test", "--business", given]).business == 17
        assert parse(["apikey", "list", "--business", given]).business == 17
    for wrong in (encode_id("Expense", 17), "not-an-id", "0"):
        with pytest.raises(SystemExit) as exit_:
            parse(["token", "--member", "x@y.test", "--business", wrong])
        assert exit_.value.code == 2
        assert "argument --business" in capsys.readouterr().err


def _cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    from tests.conftest import SETTINGS

    return {"DATABASE_URL": database_url, "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
            "EXPENSEGRAPH_DATA_DIR": str(tmp_path)}  # fmt: skip


async def test_token_for_a_business_given_by_its_global_id(
    client, world, database_url: str, tmp_path: Path
) -> None:
    from tests.conftest import gql

    business = encode_id("Business", world.b.id)
    result = _run("token", "--member", "admin@beta.test", "--business", business,
                  env=_cli_env(database_url, tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = await gql(client, "{ viewer { business { name } } }", as_=result.stdout.strip())
    assert data["viewer"]["business"]["name"] == "Beta Inc"


async def test_apikey_list_and_revoke(client, world, database_url: str, tmp_path: Path) -> None:
    from tests.conftest import gql, gql_raw

    env = _cli_env(database_url, tmp_path)
    business = encode_id("Business", world.b.id)
    created = _run("apikey", "create", "--business", business, "--name", "cli listing",
                   "--scopes", "expenses:read,teams:read", env=env)  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    prefix = secret.split("_")[1]
    await gql(client, "{ viewer { credential } }", as_=secret)

    listed = _run("apikey", "list", "--business", str(world.b.id), env=env)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == "ID NAME PREFIX SCOPES CREATED LAST USED REVOKED".split()
    row = next(line for line in rows if prefix in line)
    assert "cli listing" in row and "expenses:read,teams:read" in row
    assert row.rstrip().endswith(" -"), row  # not revoked
    assert (
        secret not in listed.stdout and secret.removeprefix(f"egk_{prefix}_") not in listed.stdout
    )
    # the business's own keys only
    assert world.keys["b_read"].split("_")[1] in listed.stdout
    assert all(world.keys[k].split("_")[1] not in listed.stdout for k in ("a_read", "a_revoked"))

    revoked = _run("apikey", "revoke", "--business", business, prefix, env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert prefix in revoked.stdout
    response = await gql_raw(client, "{ viewer { credential } }", as_=secret)
    assert response.status_code == 401 or "errors" in response.json(), response.text

    # the rest in process: a CLI start costs seconds
    relisted = await list_api_keys(database_url, business_id=world.b.id)
    row = next(line for line in relisted.splitlines() if prefix in line)
    assert not row.rstrip().endswith(" -"), row
    key_id = row.split()[0]  # the id the API shows
    for business_id, key, error in (
        (world.b.id, prefix, "already revoked"),
        (world.b.id, key_id, "already revoked"),
        (world.a.id, key_id, "no API key"),  # another business's key cannot be named
    ):
        with pytest.raises(CommandError, match=error):
            await revoke_api_key(database_url, business_id=business_id, key=key)


def _request_lines(log: str) -> list[dict]:
    lines = []
    for line in log.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if "request_id" in record:
                lines.append(record)
    return lines


def test_every_worker_logs_each_request(world, database_url: str, tmp_path: Path) -> None:
    from tests.conftest import token

    requests = 24
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    with serving(tmp_path, _cli_env(database_url, tmp_path), workers=2) as server:
        for _ in range(requests):
            # a new connection each time: either worker may accept it
            response = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { credential } }"},
                                  headers=headers, timeout=10)  # fmt: skip
            assert response.status_code == 200, response.text
        # a line is written once its response is sent
        deadline = time.monotonic() + 10
        while len(_request_lines(server.log.read_text())) < requests:
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.1)
    log = server.log.read_text()
    assert log.count("Started server process") == 2
    assert len(_request_lines(log)) == requests, log


def test_serve_prints_the_graphiql_url_only_when_graphiql_is_on(
    world, database_url: str, tmp_path: Path
) -> None:
    for on in (False, True):
        env = {**_cli_env(database_url, tmp_path), "EXPENSEGRAPH_GRAPHIQL": str(int(on))}
        with serving(tmp_path, env) as server:
            log = server.log.read_text()
        assert (f"GraphiQL: http://127.0.0.1:{server.port}/graphql" in log) is on, log


# --- business create ---


def _business_create(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run("business", "create", *args, env=env)


def _ids(stdout: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in stdout.strip().splitlines())


async def test_business_create_prints_ids_that_work_and_is_idempotent(
    client, database_url: str, engine, tmp_path: Path
) -> None:
    from sqlalchemy import text

    from resolvers.ids import decode_id
    from tests.conftest import gql

    env = _cli_env(database_url, tmp_path)
    args = ("--name", "Setup Co", "--home-currency", "eur", "--timezone", "Europe/Berlin",
            "--admin-email", " Founder@SetupCo.test ", "--admin-name", "Fran Founder")  # fmt: skip
    first = _business_create(env, *args)
    assert first.returncode == 0, first.stderr
    ids = _ids(first.stdout)
    assert set(ids) == {"business", "admin"}
    business, admin = decode_id(ids["business"]), decode_id(ids["admin"])
    assert business[0] == "Business" and admin[0] == "Member"
    assert "Created" in first.stderr

    token = _run(
        "token", "--member", "founder@setupco.test", "--business", ids["business"], env=env
    )
    assert token.returncode == 0, token.stderr
    data = await gql(client, "{ viewer { business { id name homeCurrency timezone }"
                     " member { id name email role } } }", as_=token.stdout.strip())  # fmt: skip
    assert data["viewer"]["business"] == {"id": ids["business"], "name": "Setup Co",
                                          "homeCurrency": "EUR", "timezone": "Europe/Berlin"}  # fmt: skip
    assert data["viewer"]["member"] == {"id": ids["admin"], "name": "Fran Founder",
                                        "email": "founder@setupco.test", "role": "ADMIN"}  # fmt: skip

    async def counts() -> tuple[int, int, int]:
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT (SELECT count(*) FROM businesses WHERE name = 'Setup Co'),"
                " (SELECT count(*) FROM members WHERE email = 'founder@setupco.test'),"
                " (SELECT count(*) FROM audit_events WHERE business_id = :b)"
            ), {"b": business[1]})).one()  # fmt: skip
        return row[0], row[1], row[2]

    assert await counts() == (1, 1, 2)  # the business and its admin, each audited
    again = _business_create(env, *args)
    assert again.returncode == 0, again.stderr
    assert _ids(again.stdout) == ids
    assert "nothing changed" in again.stderr
    assert await counts() == (1, 1, 2)

    renamed = _business_create(env, "--name", "Other Co", *args[2:])
    assert renamed.returncode == 2 and "Traceback" not in renamed.stderr
    assert "'Setup Co', not 'Other Co'" in renamed.stderr
    assert renamed.stdout == ""
    assert await counts() == (1, 1, 2)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--home-currency", "pounds", "is not an ISO 4217 currency code"),
        ("--home-currency", "XXX", "is not a currency the API supports"),
        ("--timezone", "Europe/Atlantis", "is not an IANA time zone name"),
        ("--timezone", "", "is not an IANA time zone name"),
    ],
)
def test_business_create_checks_currency_and_timezone(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = {"--name": "N", "--home-currency": "GBP", "--timezone": "Europe/London",
            "--admin-email": "a@n.test"} | {option: value}  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args(["business", "create", *(x for kv in args.items() for x in kv)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and message in err


async def test_business_create_explains_every_mismatch(database_url: str, world) -> None:
    from app.business_setup import SetUp, SetupError, create_business
    from app.commands.database import request_db

    async def create(**changes: str | None) -> SetUp:
        args: dict[str, str | None] = dict(
            name="Mismatch Ltd", home_currency="GBP", timezone="Europe/London",
            admin_email="boss@mismatch.test", admin_name=None,
        ) | changes  # fmt: skip
        async with request_db(database_url) as db:
            return await create_business(db, **args)  # type: ignore[arg-type]

    made = await create()
    assert made.created
    assert await create() == SetUp(made.business_id, made.admin_id, False)
    for changes, said in (
        ({"home_currency": "USD"}, "its home currency is GBP, not USD"),
        ({"timezone": "Asia/Tokyo"}, "its time zone is Europe/London, not Asia/Tokyo"),
        ({"admin_name": "Someone Else"}, "the admin is called 'boss', not 'Someone Else'"),
        ({"admin_email": "not an email"}, "--admin-email: Give an email address"),
        ({"name": "  "}, "the business name must have 1 to 200 characters"),
        # tests.world's employee of Alpha Ltd is no admin there
        ({"name": "Alpha Ltd", "admin_email": "employee@alpha.test"}, "a EMPLOYEE there"),
    ):
        with pytest.raises(SetupError, match=said):
            await create(**changes)


async def test_concurrent_business_creates_make_one_business(database_url: str, engine) -> None:
    import asyncio

    from sqlalchemy import text

    from app.business_setup import SetUp, create_business
    from app.commands.database import request_db

    async def create() -> SetUp:
        async with request_db(database_url) as db:
            return await create_business(
                db, name="Race Ltd", home_currency="GBP", timezone="UTC",
                admin_email="racer@race.test", admin_name=None,
            )  # fmt: skip

    results = await asyncio.gather(create(), create(), create())
    assert len({(r.business_id, r.admin_id) for r in results}) == 1
    assert sorted(r.created for r in results) == [False, False, True]
    async with engine.connect() as conn:
        n = (
            await conn.execute(text("SELECT count(*) FROM businesses WHERE name = 'Race Ltd'"))
        ).scalar()
    assert n == 1
