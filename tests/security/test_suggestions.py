"""With introspection off (production), error messages about the document suggest nothing and
name no type the document did not name; with it on (development), suggestions stay."""

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import specified_scalar_types

from app.limits import LimitSettings
from schema.build import build_schema
from tests.conftest import SETTINGS, app_client, token

PRODUCTION = dataclasses.replace(
    SETTINGS,
    graphiql=False,
    introspection=False,
    limits=LimitSettings(bucket_size=10**9, restore_rate=10**6),
)
DEVELOPMENT = dataclasses.replace(PRODUCTION, introspection=True)
TYPE_NAMES = [
    name
    for name in build_schema()._schema.type_map
    if name not in specified_scalar_types and not name.startswith("__")
]
FILTER = "query($f: ExpenseFilter) { expenses(filter: $f) { totalCount } }"

PROBES: dict[str, tuple[str, dict[str, Any]]] = {
    "unknown argument": ("{ expenses(frist: 5) { totalCount } }", {}),
    "unknown argument of a nested field": ("{ expenses { nodes { id(x: 1) } } }", {}),
    "unknown input field": ("{ expenses(filter: {statusez: [APPROVED]}) { totalCount } }", {}),
    "bad enum value": ("{ expenses(filter: {statuses: [APPROVD]}) { totalCount } }", {}),
    "bad nested enum value": ("{ expenses(orderBy: {field: AMOUNTT}) { totalCount } }", {}),
    "unknown type in a fragment": ("{ ...F } fragment F on Expens { id }", {}),
    "unknown type in a variable": ("query($f: ExpenseFiltr) { expenses(filter: $f) { id } }", {}),
    "leaf selection missing subfields": ("{ viewer { member } }", {}),
    "nested leaf selection missing subfields": ("{ expenses { nodes { amount } } }", {}),
    "unknown field": ("{ expensez { totalCount } }", {}),
    "missing required argument": ("{ spendSummary { count } }", {}),
    "fragment on an impossible type": ("{ expenses { nodes { ... on Card { id } } } }", {}),
    "variable: unknown input field": (FILTER, {"f": {"statusez": ["APPROVED"]}}),
    "variable: bad enum value": (FILTER, {"f": {"statuses": ["APPROVD"]}}),
    "variable: bad nested enum": (
        "query($o: ExpenseOrder) { expenses(orderBy: $o) { totalCount } }",
        {"o": {"field": "AMOUNTT"}},
    ),
}


@pytest.fixture
async def prod(engine, database_url) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(PRODUCTION, engine, database_url) as client:
        yield client


@pytest.fixture
async def dev(engine, database_url) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(DEVELOPMENT, engine, database_url) as client:
        yield client


async def _errors(client: httpx.AsyncClient, world: Any, query: str, variables: Any) -> list[Any]:
    headers = {"Authorization": f"Bearer {token(world.a, 'admin')}"}
    body = (
        await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    ).json()
    assert body.get("errors"), body
    return body["errors"]


def _unnamed_types(message: str, query: str) -> list[str]:
    named = set(re.findall(r"\w+", query))
    return [t for t in TYPE_NAMES if t not in named and re.search(rf"\b{t}\b", message)]


@pytest.mark.parametrize(("query", "variables"), PROBES.values(), ids=list(PROBES))
async def test_production_errors_suggest_nothing_and_name_no_unnamed_type(
    prod, world, query: str, variables: dict[str, Any]
) -> None:
    for _ in range(2):  # the second answer comes from the validation cache
        errors = await _errors(prod, world, query, variables)
        text = json.dumps(errors)
        assert "Did you mean" not in text, text
        for error in errors:
            assert _unnamed_types(error["message"], query) == [], error["message"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_messages_stay_useful(prod, world) -> None:
    def message(name: str) -> str:
        return " | ".join(e["message"] for e in errors_of[name])

    errors_of = {name: await _errors(prod, world, *PROBES[name]) for name in PROBES}
    assert message("unknown argument") == "Unknown argument 'frist' on field 'expenses'."
    assert message("leaf selection missing subfields") == (
        "Field 'member' must have a selection of subfields."
    )
    assert message("unknown type in a fragment") == "Unknown type 'Expens'."
    # a type the document named is still named
    assert "'ExpenseFilter'" in message("variable: unknown input field")


async def test_development_keeps_suggestions(dev, world) -> None:
    errors = await _errors(dev, world, *PROBES["unknown argument"])
    assert "Did you mean 'first'" in errors[0]["message"]
    assert "'Query.expenses'" in errors[0]["message"]
