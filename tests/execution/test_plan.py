"""execution/plan.py: a document's plan on the real schema, and what the planner refuses.

The schema is schema/build.py's, the one app/served_schema.py serves with its extensions.

Whole requests through both paths are compared in test_lane_differential.py; here the
plan itself: its tree of response keys, their kinds and concrete types, which arguments
are constant, the scopes it needs, and the reason of each refusal.
"""

import pytest
from graphql import GraphQLSchema, parse

from db.permissions import Permission
from execution import compat
from execution.plan import REFERENCE_ONLY, FieldPlan, Kind, Plan, Unsupported, plan_document
from resolvers.context import Principal
from schema.build import build_schema

NODE_TYPES = ("Business", "Card", "Category", "Expense", "Member", "Receipt", "Team")
READ, FETCH, TYPENAME = Kind.READ, Kind.FETCH, Kind.TYPENAME


@pytest.fixture(scope="module")
def core() -> GraphQLSchema:
    return compat.core_schema(build_schema())


def plan(core: GraphQLSchema, document: str, operation_name: str | None = None) -> Plan:
    return plan_document(core, parse(document), operation_name)


def by_key(plans: list[FieldPlan]) -> dict[str, FieldPlan]:
    return {p.key: p for p in plans}


def refusal(core: GraphQLSchema, document: str) -> str:
    with pytest.raises(Unsupported) as raised:
        plan(core, document)
    return str(raised.value)


def test_a_page_is_planned_level_by_level(core: GraphQLSchema) -> None:
    query = """{
      expenses(first: 2) {
        nodes { merchantName amount { currency } member { name } }
        pageInfo { hasNextPage }
        totalCount
      }
    }"""
    expenses = by_key(plan(core, query).fields)["expenses"]
    nodes = by_key(expenses.children["ExpenseConnection"])
    expense = by_key(nodes["nodes"].children["Expense"])
    assert [p.key for p in plan(core, query).fields] == ["expenses"]
    assert (expenses.kind, expenses.parent.name, list(expenses.children)) == (
        FETCH,
        "Query",
        ["ExpenseConnection"],
    )
    assert {k: p.kind for k, p in nodes.items()} == {
        "nodes": READ,  # the page's rows
        "pageInfo": READ,
        "totalCount": FETCH,  # counted for every connection of the level at once
    }
    assert {k: p.kind for k, p in expense.items()} == {
        "merchantName": READ,
        "amount": READ,
        "member": FETCH,  # the page's members in one batch
    }
    assert [p.key for p in expense["amount"].children["Money"]] == ["currency"]
    assert [p.key for p in expense["member"].children["Member"]] == ["name"]
    # leaves keep their named type (to serialise), objects their concrete types' plans
    assert (
        expense["merchantName"].leaf is not None and expense["merchantName"].leaf.name == "String"
    )
    assert expense["merchantName"].children == {} and expense["amount"].leaf is None
    assert expense["merchantName"].read is not None and expense["member"].load is not None


def test_aliases_are_response_keys(core: GraphQLSchema) -> None:
    query = (
        "{ a: viewer { c: credential } viewer { credential } n: expenses(first: 1) { totalCount } }"
    )
    fields = plan(core, query).fields
    assert [(p.key, p.kind) for p in fields] == [("a", FETCH), ("viewer", FETCH), ("n", FETCH)]
    first, second, page = fields
    assert [p.key for p in first.children["Viewer"]] == ["c"]
    assert [p.key for p in second.children["Viewer"]] == ["credential"]
    assert first.load is second.load  # the same field under two keys
    assert page.node is not None and page.node.name.value == "expenses"


def test_fragments_and_inline_fragments_merge_by_response_key(core: GraphQLSchema) -> None:
    query = """
      query { viewer { credential } ...Business viewer { ... on Viewer { scopes } } }
      fragment Business on Query { viewer { business { name } credential } }
    """
    fields = plan(core, query).fields
    assert [p.key for p in fields] == ["viewer"]  # one plan for the three selections
    viewer = fields[0].children["Viewer"]
    assert [(p.key, p.kind) for p in viewer] == [
        ("credential", READ),
        ("business", FETCH),
        ("scopes", READ),
    ]
    assert [p.key for p in by_key(viewer)["business"].children["Business"]] == ["name"]


def test_an_interface_has_children_per_concrete_type(core: GraphQLSchema) -> None:
    query = """{ node(id: "x") {
      __typename id
      ... on Expense { merchantName member { name } }
      ... on Member { name }
      ...Named
    } }
    fragment Named on Team { name }"""
    node = plan(core, query).fields[0]
    assert node.kind is FETCH and sorted(node.children) == sorted(NODE_TYPES)
    common = [("__typename", TYPENAME), ("id", READ)]
    extra = {
        "Expense": [("merchantName", READ), ("member", FETCH)],
        "Member": [("name", READ)],
        "Team": [("name", READ)],  # a fragment spread on one of the types
    }
    for type_name, children in node.children.items():
        assert [(p.key, p.kind) for p in children] == common + extra.get(type_name, []), type_name
        assert all(p.parent.name == type_name for p in children)
    typename = node.children["Team"][0]
    assert (typename.type, typename.read, typename.load) == (None, None, None)


def test_a_fragment_on_another_type_adds_nothing(core: GraphQLSchema) -> None:
    query = "{ viewer { credential ... on Query { __typename } ...OnMember } } "
    query += "fragment OnMember on Member { name }"
    assert [p.key for p in plan(core, query).fields[0].children["Viewer"]] == ["credential"]


def test_literal_arguments_are_constant_and_variables_are_not(core: GraphQLSchema) -> None:
    query = """query ($n: Int, $s: [ExpenseStatus!]) {
      literal: expenses(first: 2, filter: {statuses: [APPROVED]}) { totalCount }
      variable: expenses(first: $n) { totalCount }
      nested: expenses(first: 2, filter: {statuses: $s}) { totalCount }
      none: expenses { totalCount }
      viewer { credential }
    }"""
    fields = by_key(plan(core, query).fields)
    assert {k: p.constant_arguments for k, p in fields.items()} == {
        "literal": True,
        "variable": False,
        "nested": False,  # a variable inside an input object
        "none": True,  # arguments declared, none given: the defaults every time
        "viewer": False,  # no arguments to read at all
    }
    # a field with arguments keeps its definition and node to read them per request
    literal = fields["literal"]
    assert literal.node is not None
    assert [a.name.value for a in literal.node.arguments or ()] == ["first", "filter"]
    assert literal.field_def is not None and "orderBy" in literal.field_def.args
    assert fields["viewer"].field_def is None and fields["viewer"].node is None
    assert all(p.arguments is None for p in fields.values())  # filled by the first run


def test_the_operation_is_chosen_by_name(core: GraphQLSchema) -> None:
    document = "query A { viewer { credential } } query B { expenses { totalCount } }"
    chosen = plan(core, document, "B")
    assert chosen.operation.name is not None and chosen.operation.name.value == "B"
    assert [p.key for p in chosen.fields] == ["expenses"]
    assert chosen.document is not None
    with pytest.raises(Unsupported, match="no such operation"):
        plan(core, document, "C")
    with pytest.raises(Unsupported, match="no such operation"):
        plan(core, document)  # two operations and no name


def api_key(permissions: set[str]) -> Principal:
    return Principal(
        kind="api_key", id=1, business_id=1, home_currency="GBP", permissions=frozenset(permissions)
    )


def test_scopes_are_those_of_the_loads(core: GraphQLSchema) -> None:
    assert plan(core, "{ viewer { credential } }").scopes == frozenset()
    cards = plan(core, "{ expenses { nodes { member { cards { last4 } } } } }")
    assert cards.scopes == {Permission.EXPENSES_READ, Permission.CARDS_READ}
    assert cards.permits(api_key({Permission.EXPENSES_READ, Permission.CARDS_READ}))
    assert cards.permits(api_key({Permission.ADMIN}))
    assert not cards.permits(api_key({Permission.EXPENSES_READ}))
    assert not cards.permits(None)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("{ viewer @include(if: true) { credential } }", "directive"),
        ("{ viewer { credential @skip(if: false) } }", "directive"),
        ("query ($x: Boolean!) { viewer { ... @include(if: $x) { scopes } } }", "directive"),
        ("{ viewer { ...F @skip(if: true) } } fragment F on Viewer { scopes }", "directive"),
        ("{ __schema { queryType { name } } }", "introspection field __schema"),
        ('{ __type(name: "Expense") { name } }', "introspection field __type"),
        ("{ viewer { credential } __schema { types { name } } }", "introspection field __schema"),
        ("mutation { __typename }", "not a query operation"),
        ("subscription { __typename }", "not a query operation"),
    ],
)
def test_what_the_planner_refuses_says_why(core: GraphQLSchema, document: str, reason: str) -> None:
    assert refusal(core, document) == reason


@pytest.mark.parametrize("field", sorted(REFERENCE_ONLY))
def test_reference_only_fields_are_refused(core: GraphQLSchema, field: str) -> None:
    type_name, name = field.split(".")
    assert type_name == "Query"  # the document below selects it at the root
    selection = {"nodes": 'nodes(ids: ["x"]) { id }'}[name]
    assert refusal(core, f"{{ viewer {{ credential }} {selection} }}") == (
        f"{field} has no declaration"
    )
