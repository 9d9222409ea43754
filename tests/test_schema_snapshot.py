"""The committed schema.graphql is the contract: changing it must be deliberate."""

import subprocess
import sys
from pathlib import Path

from graphql import GraphQLObjectType
from graphql import build_schema as parse_sdl

from schema.build import build_schema

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "schema.graphql"


def test_printed_schema_matches_committed_snapshot() -> None:
    printed = build_schema().as_str()
    assert printed.strip() == SNAPSHOT.read_text().strip(), (
        "The GraphQL schema changed. If intended, run `expensegraph schema > schema.graphql` "
        "and commit it."
    )


def test_every_type_field_and_argument_is_described() -> None:
    sdl = parse_sdl(SNAPSHOT.read_text())
    missing = []
    for name, type_ in sdl.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        if not type_.description:
            missing.append(name)
        for field_name, field in getattr(type_, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description:
                    missing.append(f"{name}.{field_name}({arg_name})")
    assert missing == []


def test_contract_names_exist() -> None:
    sdl = parse_sdl(SNAPSHOT.read_text())
    query = sdl.query_type
    assert query is not None
    for field in (
        "viewer",
        "node",
        "nodes",
        "expenses",
        "receipts",
        "cards",
        "teams",
        "members",
        "categories",
    ):
        assert field in query.fields
    expense = sdl.type_map["Expense"]
    assert isinstance(expense, GraphQLObjectType)
    for field in (
        "id", "merchantName", "description", "amount", "homeAmount", "fxRate", "spentAt", "status",
        "submittedAt", "decidedAt", "reimbursedAt", "exportedAt", "createdAt", "updatedAt", "member",
        "team", "card", "category", "receipts", "receiptMissing", "policyViolations", "events",
    ):  # fmt: skip
        assert field in expense.fields, field
    connection = sdl.type_map["ExpenseConnection"]
    assert isinstance(connection, GraphQLObjectType)
    assert set(connection.fields) >= {"edges", "nodes", "pageInfo", "totalCount"}


def test_cli_prints_the_same_schema() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert out.strip() == SNAPSHOT.read_text().strip()


def test_first_party_packages_come_from_this_repo() -> None:
    # app, schema and db are also PyPI package names: make sure ours are imported
    import app
    import db
    import loaders
    import resolvers
    import schema

    for module in (app, schema, resolvers, loaders, db):
        assert Path(module.__file__ or "").resolve().parent.parent == ROOT
