"""`expensegraph schema --check`: variants of the running schema's SDL stand in for the committed one.

Each test writes an "old" schema (the committed one) that the running schema changes in one
way, and runs the command against it with --against.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    InputValueDefinitionNode,
    NamedTypeNode,
    Node,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    parse,
    print_ast,
)
from graphql import build_schema as build_from_sdl

from app import schema_check
from app.cli import main
from schema.build import build_schema

RUNNING = build_schema().as_str()


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["schema", "--check", *args])
        raise SystemExit(0)
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out + captured.err


def _against(tmp_path: Path, sdl: str) -> str:
    path = tmp_path / "old.graphql"
    path.write_text(sdl)
    return str(path)


Against = Callable[[str], tuple[int, str]]


@pytest.fixture
def against(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Against:
    """Return a function running the check against an old schema's SDL: (exit code, output)."""

    def check(sdl: str) -> tuple[int, str]:
        return _check(capsys, "--against", _against(tmp_path, sdl))

    return check


def _replaced(node: Node, text: str) -> str:
    """Return the running SDL with ``node``'s source text replaced by ``text``."""
    assert node.loc is not None
    return RUNNING[: node.loc.start] + text + RUNNING[node.loc.end :]


def _object_fields(
    document: DocumentNode,
) -> list[tuple[str, FieldDefinitionNode, tuple[InputValueDefinitionNode, ...]]]:
    """Return each object type's fields: type name, field, its arguments."""
    return [
        (definition.name.value, field, field.arguments or ())
        for definition in document.definitions
        if isinstance(definition, ObjectTypeDefinitionNode)
        for field in definition.fields or ()
    ]


def test_removing_a_field_is_breaking(against: Against) -> None:
    old = RUNNING + '\nextend type Query {\n  "Gone."\n  legacyTotal: Int\n}\n'
    code, out = against(old)
    assert code == 1
    assert "BREAKING   Field Query.legacyTotal was removed." in out
    assert "FAILED: 1 breaking change(s)" in out


def test_removing_a_deprecated_field_is_reported_and_allowed(against: Against) -> None:
    old = RUNNING + '\nextend type Query {\n  legacyTotal: Int @deprecated(reason: "Use x.")\n}\n'
    code, out = against(old)
    assert code == 0, out
    assert "ALLOWED    Field Query.legacyTotal was removed (deprecated: Use x.)" in out
    assert "BREAKING" not in out


def test_a_type_only_deprecated_fields_used_may_go_with_them(against: Against) -> None:
    extra = "\ntype LegacyTotals {\n  total: Int\n}\n\nextend type Query {\n  legacy: LegacyTotals%s\n}\n"
    code, out = against(RUNNING + extra % ' @deprecated(reason: "Gone.")')
    assert code == 0, out
    assert "ALLOWED    LegacyTotals was removed" in out
    code, out = against(RUNNING + extra % "")
    assert code == 1
    assert "BREAKING   LegacyTotals was removed." in out
    assert "BREAKING   Field Query.legacy was removed." in out


def test_changing_a_field_type_is_breaking(against: Against) -> None:
    field = next(
        field
        for _, field, _ in _object_fields(parse(RUNNING))
        if isinstance(field.type, NonNullTypeNode)
        and isinstance(field.type.type, NamedTypeNode)
        and field.type.type.name.value == "String"
    )
    old = _replaced(field.type, "Int!")  # an Int before, a String now
    code, out = against(old)
    assert code == 1
    assert f"{field.name.value} changed type from Int! to String!." in out
    assert out.startswith("BREAKING   Field ")


def test_adding_an_optional_argument_is_safe(against: Against) -> None:
    type_name, before, last = next(
        (type_name, args[-2], args[-1])
        for type_name, _, args in _object_fields(parse(RUNNING))
        if len(args) > 1 and not isinstance(args[-1].type, NonNullTypeNode)
    )
    assert before.loc is not None and last.loc is not None
    old = RUNNING[: before.loc.end] + RUNNING[last.loc.end :]  # without its last argument
    code, out = against(old)
    assert code == 0, out
    assert "BREAKING" not in out and "DANGEROUS" not in out, (type_name, out)
    assert "safe: 1 optional arg added" in out


def test_making_an_argument_required_is_breaking(against: Against) -> None:
    type_name, field, arg = next(
        (type_name, field, arg)
        for type_name, field, args in _object_fields(parse(RUNNING))
        for arg in args
        if isinstance(arg.type, NonNullTypeNode) and arg.default_value is None
    )
    assert isinstance(arg.type, NonNullTypeNode)
    old = _replaced(arg.type, print_ast(arg.type.type))  # optional before, required now
    code, out = against(old)
    assert code == 1
    where = f"{type_name}.{field.name.value}({arg.name.value}:)"
    assert f"BREAKING   Argument {where} has changed type" in out


def test_adding_an_enum_value_is_dangerous(against: Against) -> None:
    enum, value = next(
        (definition, values[-1])
        for definition in parse(RUNNING).definitions
        if isinstance(definition, EnumTypeDefinitionNode)
        for values in [definition.values or ()]
        # not a default value anywhere, so the old SDL stays valid
        if len(values) > 1 and RUNNING.count(values[-1].name.value) == 1
    )
    code, out = against(_replaced(value, ""))
    assert code == 0, out
    assert (
        out.splitlines()[0]
        == f"DANGEROUS  Enum value {enum.name.value}.{value.name.value} was added."
    )


def test_removing_a_deprecated_argument_or_enum_value_is_allowed() -> None:
    old = RUNNING + (
        '\nenum LegacyKind {\n  A\n  B @deprecated(reason: "Use A.")\n}\n'
        '\nextend type Query {\n  legacyKind(strict: Boolean @deprecated(reason: "Ignored.")): LegacyKind\n}\n'
    )
    new_sdl = (
        RUNNING
        + "\nenum LegacyKind {\n  A\n}\n\nextend type Query {\n  legacyKind: LegacyKind\n}\n"
    )
    report = schema_check.compare(build_from_sdl(old), build_from_sdl(new_sdl))
    assert report.breaking == [] and report.ok
    assert sorted(report.allowed) == [
        "Argument Query.legacyKind(strict:) was removed (deprecated: Ignored.)",
        "Enum value LegacyKind.B was removed (deprecated: Use A.)",
    ]


def test_a_stale_snapshot_fails_and_says_how_to_regenerate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schema.graphql").write_text(RUNNING + "\n")
    assert _check(capsys, "--against", "schema.graphql")[0] == 0
    code, out = _check(capsys)
    assert code == 0 and "No changes from schema.graphql." in out
    # a description edited in the code but not regenerated: a safe change, still stale
    (tmp_path / "schema.graphql").write_text(RUNNING.replace('"""', '"""Old. ', 1))
    code, out = _check(capsys)
    assert code == 1
    assert "regenerate it with `expensegraph schema > schema.graphql`" in out


def test_a_missing_or_malformed_schema_is_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(capsys, "--against", str(tmp_path / "nope.graphql"))
    assert code == 2 and "cannot read" in out and "expensegraph schema > schema.graphql" in out
    code, out = _check(capsys, "--against", _against(tmp_path, "type Query {"))
    assert code == 2 and "is not a GraphQL schema" in out
