"""Plans: a query document turned once into what to read, fetch and serialise per field.

A plan is a list of :class:`FieldPlan` per selection set and concrete object type, as
graphql-core's CollectFields groups them (fragments, inline fragments and aliases
merged by response key). Each field is filled from its declaration (schema/fields.py):
a ``Get`` reads the source, a ``Fetch`` loads for the whole level, a plain object's
field (Money, PageInfo) is an attribute. What the planner does not handle raises
:class:`Unsupported` with the reason, and the document stays on the reference path:
directives (``@include``/``@skip`` depend on variables), introspection, fields of a
sourced type without a declaration (tests/execution/test_declarations.py lists them),
mutations and subscriptions.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from operator import attrgetter
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Visitor,
    get_named_type,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    visit,
)

from db.sql import Columns
from execution import compat
from execution.columns import narrow
from execution.follows import plan_follows
from schema.fields import LANE, Fetch, Get, Narrows, Sourced

# Fields of the types a query can reach that the lane leaves to the reference path, and why
# (tests/execution/test_declarations.py holds this list to the schema).
REFERENCE_ONLY = {
    "Query.nodes": "a missing id is null with an error at its index, a partial answer",
}


class Unsupported(Exception):
    """The document uses something the planner leaves to the reference path."""


class Kind(Enum):
    TYPENAME = "typename"
    READ = "read"  # a Get declaration, or a plain object's attribute
    FETCH = "fetch"


@dataclass(eq=False, slots=True)
class FieldPlan:
    """One response key of a selection set on one object type, and how to fill it."""

    key: str
    kind: Kind
    parent: GraphQLObjectType
    type: GraphQLOutputType | None = None  # None for __typename
    read: Callable[[Any], Any] | None = None
    many: Callable[[list[Any]], list[Any]] | None = None  # a leaf's serialised column (Get)
    load: Callable[..., Any] | None = None
    # a field with arguments: its definition and node, to read them per request
    field_def: GraphQLField | None = None
    node: FieldNode | None = None
    # the arguments as the load takes them, kept after the first request when no
    # variable is among them (they are then the same for every request)
    arguments: dict[str, Any] | None = None
    constant_arguments: bool = False
    leaf: GraphQLLeafType | None = None  # the named type, when it is a scalar or enum
    # the named return type's plans, per concrete object type name
    children: dict[str, list["FieldPlan"]] = field(default_factory=dict)
    name: str = ""  # the field's name in the schema
    reads: tuple[str, ...] | None = None  # what it uses of its source, as declared
    narrows: Narrows | None = None  # its load takes ``columns=`` (schema/fields.py Fetch)
    whole: tuple[str, ...] = ()  # tables it reads whole rows of (Fetch)
    # what the selection reads of the rows a narrowing load returns (None: whole rows); of
    # each concrete type's rows for a field narrowing by type
    columns: Columns | dict[str, Columns] = None
    follow: Callable[..., Any] | None = None  # its batch after its sources' read (Fetch)
    rows: Narrows | None = None  # the table of what its load returns, unnarrowed (Fetch)
    # the fetches of the level below whose batches go with this one's read: (the table of
    # their sources, their plan)
    follows: list[tuple[str, "FieldPlan"]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Plan:
    """A planned query operation: its root fields' plans and what it was made from."""

    document: DocumentNode | None  # None when planned inside graphql-core's execution
    operation: OperationDefinitionNode
    fields: list[FieldPlan]
    # the API key scopes its loads require (declared with them): checked before any SQL
    scopes: frozenset[str]

    def permits(self, principal: Any) -> bool:
        """Return True unless the caller lacks a permission the plan needs (FORBIDDEN somewhere).

        Such a request goes to the reference path before any SQL: its answer depends on
        which fields fail first, and a run would read what the reference path does not.
        """
        return principal is not None and all(map(principal.allows, self.scopes))


def plan_document(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Plan:
    """Return the plan of a valid document's query operation, or raise Unsupported."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        raise Unsupported("no such operation")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return plan_operation(schema, document, operation, fragments)


def plan_operation(
    schema: GraphQLSchema,
    document: DocumentNode | None,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> Plan:
    """Return the plan of a valid query operation, or raise Unsupported."""
    if operation.operation is not OperationType.QUERY:
        raise Unsupported("not a query operation")
    if operation.directives:
        raise Unsupported("directive")
    root = schema.query_type
    assert root is not None
    planner = _Planner(schema, fragments)
    fields = planner.plans(root, [operation.selection_set])
    narrow(fields)
    plan_follows(fields)
    return Plan(document, operation, fields, frozenset(planner.scopes))


class _Planner:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema, self.fragments = schema, fragments
        self.scopes: set[str] = set()

    def plans(
        self, object_type: GraphQLObjectType, selection_sets: Sequence[SelectionSetNode]
    ) -> list[FieldPlan]:
        grouped: dict[str, list[FieldNode]] = {}
        self.collect(object_type, selection_sets, grouped, set())
        plans = []
        for key, nodes in grouped.items():
            plan = self.plan(object_type, key, nodes)
            if plan.type is not None:
                named = get_named_type(plan.type)
                if is_leaf_type(named):
                    plan.leaf = named
                else:
                    subsets = [node.selection_set for node in nodes if node.selection_set]
                    for concrete in self.concrete_types(named):
                        plan.children[concrete.name] = self.plans(concrete, subsets)
            plans.append(plan)
        return plans

    def collect(
        self,
        object_type: GraphQLObjectType,
        selection_sets: Iterable[SelectionSetNode],
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        """Group the fields selected on ``object_type`` by response key, as CollectFields does."""
        for selection_set in selection_sets:
            for selection in selection_set.selections:
                if selection.directives:
                    raise Unsupported("directive")
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    grouped.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    if condition is None or self.applies(condition.name.value, object_type):
                        self.collect(object_type, [selection.selection_set], grouped, visited)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if name in visited or fragment is None:
                        continue
                    visited.add(name)
                    if fragment.directives or getattr(fragment, "variable_definitions", None):
                        raise Unsupported("fragment directives or arguments")
                    if self.applies(fragment.type_condition.name.value, object_type):
                        self.collect(object_type, [fragment.selection_set], grouped, visited)

    def applies(self, condition: str, object_type: GraphQLObjectType) -> bool:
        condition_type = self.schema.get_type(condition)
        if condition_type is object_type:
            return True
        return is_abstract_type(condition_type) and self.schema.is_sub_type(
            condition_type,
            object_type,
        )

    def plan(self, object_type: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return FieldPlan(key, Kind.TYPENAME, object_type, name=name, reads=())
        field_def = object_type.fields.get(name)
        if field_def is None or name.startswith("__"):
            raise Unsupported(f"introspection field {name}")
        declared = compat.strawberry_field(field_def)
        if declared is None or declared.extensions:  # permission classes are extensions
            raise Unsupported(f"{object_type.name}.{name} has field extensions")
        declaration: Any = dict(declared.metadata or {}).get(LANE)
        plan = FieldPlan(key, Kind.READ, object_type, field_def.type, name=name)
        if isinstance(declaration, Get):
            plan.read, plan.reads, plan.many = declaration.read, declaration.reads, declaration.many
        elif isinstance(declaration, Fetch):
            plan.kind, plan.load = Kind.FETCH, declaration.load
            plan.reads, plan.narrows = declaration.reads, declaration.narrows
            plan.whole, plan.rows = declaration.whole, declaration.rows
            plan.follow = declaration.follow
            if declaration.permission is not None:
                self.scopes.add(declaration.permission)
            if field_def.args:
                plan.field_def, plan.node = field_def, nodes[0]
                plan.constant_arguments = not _uses_variables(nodes[0])
        elif _sourced(object_type) or not compat.default_resolver(field_def):
            raise Unsupported(f"{object_type.name}.{name} has no declaration")
        elif any(_sourced(t) for t in self.concrete_types(get_named_type(field_def.type))):
            # a plain object holding strawberry objects (ReceiptCandidate.receipt)
            raise Unsupported(f"{object_type.name}.{name} holds a made object")
        else:
            plan.read = attrgetter(declared.python_name)
        return plan

    def concrete_types(self, named: Any) -> Sequence[GraphQLObjectType]:
        if is_leaf_type(named):
            return []
        if isinstance(named, GraphQLObjectType):
            return [named]
        if is_abstract_type(named):
            return self.schema.get_possible_types(named)
        raise Unsupported(f"{named} is neither object, abstract nor leaf")


def _sourced(object_type: GraphQLObjectType) -> bool:
    cls = compat.object_class(object_type)
    return cls is not None and issubclass(cls, Sourced)


def _uses_variables(node: FieldNode) -> bool:
    """Return True when a variable appears anywhere in the field's arguments."""
    found = False

    class Finder(Visitor):
        def enter_variable(self, *_: Any) -> None:
            nonlocal found
            found = True

    for argument in node.arguments or ():
        visit(argument, Finder())
    return found
