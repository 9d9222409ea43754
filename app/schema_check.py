"""`expensegraph schema --check`: is the running schema a safe change from a committed one?

graphql-core finds the changes (``find_schema_changes``, which ``find_breaking_changes`` and
``find_dangerous_changes`` filter); the policy on top of it is ours:

- a field, input field, argument or enum value may be removed only if the committed schema
  marked it ``@deprecated(reason: ...)``: reported, allowed;
- a type may be removed only if everything that referred to it was such a removal;
- an optional argument or input field changes no existing operation: safe, not dangerous.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)
from graphql import build_schema as build_from_sdl
from graphql.utilities.find_schema_changes import (
    BreakingChange,
    DangerousChange,
    DangerousChangeType,
    SafeChange,
    find_schema_changes,
)

SNAPSHOT = Path("schema.graphql")
REGENERATE = "expensegraph schema > schema.graphql"
# existing operations neither break nor see anything new
NOT_DANGEROUS = {
    DangerousChangeType.OPTIONAL_ARG_ADDED,
    DangerousChangeType.OPTIONAL_INPUT_FIELD_ADDED,
}


class UnreadableSchema(Exception):
    """The committed schema is missing or is not GraphQL SDL; the message says which."""


@dataclass
class Report:
    """The changes from the committed schema to the running one, classified."""

    breaking: list[str] = field(default_factory=list)
    dangerous: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)  # removals of deprecated elements
    deprecated: list[str] = field(default_factory=list)  # newly deprecated, for the changelog
    safe: Counter[str] = field(default_factory=Counter)  # kind of change -> how many
    stale: bool = False  # the snapshot is not what `expensegraph schema` prints

    @property
    def ok(self) -> bool:
        return not self.breaking and not self.stale

    def lines(self, against: Path) -> list[str]:
        """Return the report as printed: one line per change, safe changes summarised."""
        out = [f"BREAKING   {text}" for text in self.breaking]
        out += [f"DANGEROUS  {text}" for text in self.dangerous]
        out += [f"ALLOWED    {text}" for text in self.allowed]
        out += [f"DEPRECATED {text}" for text in self.deprecated]
        if self.safe:
            kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.safe.items()))
            out.append(f"safe: {kinds}")
        if self.stale:
            out.append(f"{against} is not the printed schema: regenerate it with `{REGENERATE}`.")
        if not (self.breaking or self.dangerous or self.allowed or self.deprecated or self.safe):
            out.append(f"No changes from {against}.")
        verdict = "FAILED" if not self.ok else "passed"
        out.append(f"schema --check {verdict}: {len(self.breaking)} breaking change(s).")
        return out


def check(running_sdl: str, against: Path) -> Report:
    """Return how the running schema (its printed SDL) changes the schema in ``against``."""
    try:
        committed_sdl = against.read_text()
    except OSError as error:
        raise UnreadableSchema(
            f"cannot read {against} ({error.strerror}); create it with `{REGENERATE}`."
        ) from None
    try:
        old = build_from_sdl(committed_sdl)
    except GraphQLError as error:
        raise UnreadableSchema(f"{against} is not a GraphQL schema: {error.message}") from None
    report = compare(old, build_from_sdl(running_sdl))
    # only the snapshot must be current; another file (an older release's schema) is
    # compared for compatibility alone
    if against.resolve() == SNAPSHOT.resolve():
        report.stale = committed_sdl.strip() != running_sdl.strip()
    return report


def compare(old: GraphQLSchema, new: GraphQLSchema) -> Report:
    """Return the changes from ``old`` to ``new``, classified by our policy."""
    removable = deprecated_removals(old, new)
    report = Report(deprecated=newly_deprecated(old, new))
    for change in find_schema_changes(old, new):
        if isinstance(change, BreakingChange):
            reason = removable.get(change.description)
            if reason is None:
                report.breaking.append(change.description)
            else:
                report.allowed.append(f"{change.description[:-1]} (deprecated: {reason})")
        elif isinstance(change, DangerousChange) and change.type not in NOT_DANGEROUS:
            report.dangerous.append(change.description)
        elif isinstance(change, DangerousChange | SafeChange):
            report.safe[change.type.name.lower().replace("_", " ")] += 1
    return report


def deprecated_removals(old: GraphQLSchema, new: GraphQLSchema) -> dict[str, str]:
    """Return the removals our policy allows: graphql-core's description -> the reason given.

    The descriptions are graphql-core's wording; a change it words differently stays
    breaking (the tests of this module would then fail).
    """
    allowed: dict[str, str] = {}
    for name, old_type in old.type_map.items():
        new_type = new.type_map.get(name)
        if new_type is None or type(new_type) is not type(old_type):
            continue
        for text, reason in _removed_members(old_type, new_type):
            allowed[text] = reason
    references = _references(old)
    for name in old.type_map.keys() - new.type_map.keys():
        # reachable only through deprecated elements that are gone too
        via = references.get(name, [])
        if via and all(ref in allowed for ref in via):
            allowed[f"{name} was removed."] = "only deprecated fields, arguments or values used it"
    return allowed


def _removed_members(old: GraphQLNamedType, new: GraphQLNamedType) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(old, GraphQLEnumType) and isinstance(new, GraphQLEnumType):
        for value_name, value in old.values.items():
            if value_name not in new.values and value.deprecation_reason is not None:
                out.append(
                    (f"Enum value {old}.{value_name} was removed.", value.deprecation_reason)
                )
    if not isinstance(old, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
        return out
    new_fields = getattr(new, "fields", {})
    for field_name, old_field in old.fields.items():
        new_field = new_fields.get(field_name)
        if new_field is None:
            if old_field.deprecation_reason is not None:
                out.append((f"Field {old}.{field_name} was removed.", old_field.deprecation_reason))
            continue
        for arg_name, arg in getattr(old_field, "args", {}).items():
            if (
                arg_name not in getattr(new_field, "args", {})
                and arg.deprecation_reason is not None
            ):
                text = f"Argument {old}.{field_name}({arg_name}:) was removed."
                out.append((text, arg.deprecation_reason))
    return out


def _references(schema: GraphQLSchema) -> dict[str, list[str]]:
    """Return, per type name, what refers to it, worded as its removal would be."""
    refs: dict[str, list[str]] = {}
    for name, type_ in schema.type_map.items():
        if isinstance(type_, GraphQLUnionType):
            for member in type_.types:  # a union member is never removable with the union kept
                refs.setdefault(member.name, []).append(f"{member} is in union {name}")
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for interface in type_.interfaces:  # `... on` it through the interface
                refs.setdefault(name, []).append(f"{name} implements {interface}")
        for field_name, field_ in getattr(type_, "fields", {}).items():
            field_ref = f"Field {name}.{field_name} was removed."
            refs.setdefault(get_named_type(field_.type).name, []).append(field_ref)
            for arg_name, arg in getattr(field_, "args", {}).items():
                arg_ref = f"Argument {name}.{field_name}({arg_name}:) was removed."
                refs.setdefault(get_named_type(arg.type).name, []).append(arg_ref)
    return refs


def newly_deprecated(old: GraphQLSchema, new: GraphQLSchema) -> list[str]:
    """Return the fields, arguments and enum values deprecated since ``old``."""
    out = []
    for name, new_type in new.type_map.items():
        old_type = old.type_map.get(name)
        if isinstance(new_type, GraphQLEnumType) and isinstance(old_type, GraphQLEnumType):
            for value_name, value in new_type.values.items():
                before = old_type.values.get(value_name)
                if value.deprecation_reason and before and not before.deprecation_reason:
                    out.append(f"Enum value {name}.{value_name}: {value.deprecation_reason}")
        old_fields = getattr(old_type, "fields", {})
        for field_name, field_ in getattr(new_type, "fields", {}).items():
            before = old_fields.get(field_name)
            if before is None:
                continue
            if field_.deprecation_reason and not before.deprecation_reason:
                out.append(f"Field {name}.{field_name}: {field_.deprecation_reason}")
            for arg_name, arg in getattr(field_, "args", {}).items():
                old_arg = getattr(before, "args", {}).get(arg_name)
                if arg.deprecation_reason and old_arg and not old_arg.deprecation_reason:
                    out.append(
                        f"Argument {name}.{field_name}({arg_name}:): {arg.deprecation_reason}"
                    )
    return out
