"""The command line's configuration: errors say what to do, no tracebacks; every option
says its default; migrate on the embedded database."""

import argparse
import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import _parser
from app.settings import ConfigError, Settings
from resolvers.ids import encode_id
from tests.app.helpers_cli import run_cli
from tests.serving import ROOT


def test_unreachable_database_is_one_paragraph_not_a_traceback(tmp_path: Path) -> None:
    result = run_cli(
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
    result = run_cli(
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
