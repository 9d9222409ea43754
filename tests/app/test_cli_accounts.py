"""Commands that make accounts: tokens, API keys (create, list, revoke) and businesses."""

import subprocess
from pathlib import Path

import pytest

from app.cli import _parser
from app.commands.accounts import list_api_keys, revoke_api_key
from app.commands.errors import CommandError
from resolvers.ids import encode_id
from tests.app.helpers_cli import cli_env, run_cli


async def test_token_and_apikey_commands_print_working_credentials(
    client, world, database_url: str, tmp_path: Path
) -> None:
    from tests.conftest import SETTINGS, gql

    env = {
        "DATABASE_URL": database_url,
        "EXPENSEGRAPH_JWT_SECRET": SETTINGS.jwt_secret,
        "EXPENSEGRAPH_DATA_DIR": str(tmp_path),
    }
    token = run_cli("token", "--member", "Finance@Alpha.test", env=env)
    assert token.returncode == 0, token.stderr
    key = run_cli(
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

    missing = run_cli("token", "--member", "nobody@alpha.test", env=env)
    assert missing.returncode == 2 and "no member" in missing.stderr


async def test_token_for_a_business_given_by_its_global_id(
    client, world, database_url: str, tmp_path: Path
) -> None:
    from tests.conftest import gql

    business = encode_id("Business", world.b.id)
    result = run_cli("token", "--member", "admin@beta.test", "--business", business,
                    env=cli_env(database_url, tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = await gql(client, "{ viewer { business { name } } }", as_=result.stdout.strip())
    assert data["viewer"]["business"]["name"] == "Beta Inc"


async def test_apikey_list_and_revoke(client, world, database_url: str, tmp_path: Path) -> None:
    from tests.conftest import gql, gql_raw

    env = cli_env(database_url, tmp_path)
    business = encode_id("Business", world.b.id)
    created = run_cli("apikey", "create", "--business", business, "--name", "cli listing",
                     "--scopes", "expenses:read,teams:read", env=env)  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    prefix = secret.split("_")[1]
    await gql(client, "{ viewer { credential } }", as_=secret)

    listed = run_cli("apikey", "list", "--business", str(world.b.id), env=env)
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

    revoked = run_cli("apikey", "revoke", "--business", business, prefix, env=env)
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


# --- business create ---


def _business_create(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("business", "create", *args, env=env)


def _ids(stdout: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in stdout.strip().splitlines())


async def test_business_create_prints_ids_that_work_and_is_idempotent(
    client, database_url: str, engine, tmp_path: Path
) -> None:
    from sqlalchemy import text

    from resolvers.ids import decode_id
    from tests.conftest import gql

    env = cli_env(database_url, tmp_path)
    args = ("--name", "Setup Co", "--home-currency", "eur", "--timezone", "Europe/Berlin",
            "--admin-email", " Founder@SetupCo.test ", "--admin-name", "Fran Founder")  # fmt: skip
    first = _business_create(env, *args)
    assert first.returncode == 0, first.stderr
    ids = _ids(first.stdout)
    assert set(ids) == {"business", "admin"}
    business, admin = decode_id(ids["business"]), decode_id(ids["admin"])
    assert business[0] == "Business" and admin[0] == "Member"
    assert "Created" in first.stderr

    token = run_cli(
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


# (option, value, what the refusal says)
REFUSED_OPTIONS = [
    ("--home-currency", "pounds", "is not an ISO 4217 currency code"),
    ("--home-currency", "XXX", "is not a currency the API supports"),
    ("--timezone", "Europe/Atlantis", "is not an IANA time zone name"),
    ("--timezone", "", "is not an IANA time zone name"),
]


@pytest.mark.parametrize(("option", "value", "message"), REFUSED_OPTIONS)
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
