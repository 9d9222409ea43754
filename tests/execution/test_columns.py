"""execution/columns.py: an expense page reads only the columns its selection shows.

The plan gives each expense connection the columns its selected fields declare they read;
its page statement selects those, the id and the ordering column. The rows serve the
reference path too: the same document answers alike through the lane, through the
planned path that teaches it, and through graphql-core (test_lane_differential.py holds
all three to the same bodies); here, what is read, and the answers that would break if a
narrowed row reached a field that needs another column.
"""

import asyncio
import re

import pytest
from graphql import GraphQLSchema, parse

from db.sql import CURSORS, PAGE_INFO
from execution import compat
from execution.plan import FieldPlan, plan_document
from resolvers.ids import encode_id
from resolvers.paging import PageResult
from schema.base import page_info_of
from schema.build import build_schema
from tests.conftest import gql, gql_raw, token
from tests.execution.test_lane_differential import _both, runs


@pytest.fixture(scope="module")
def core() -> GraphQLSchema:
    return compat.core_schema(build_schema())


def root(core: GraphQLSchema, document: str) -> dict[str, FieldPlan]:
    return {p.key: p for p in plan_document(core, parse(document), None).fields}


@pytest.mark.parametrize(
    ("selection", "columns"),
    [
        ("nodes { id merchantName }", ("id", "merchant_name")),
        (
            "nodes { amount { amount } member { name } __typename }",
            ("amount_minor", "currency", "member_id"),
        ),
        # edges or page info: the page's rows also hold its ordering column (db/sql.py CURSORS);
        # page info: a row past the page's end is read (PAGE_INFO)
        (
            "edges { cursor node { spentAt status } } pageInfo { hasNextPage }",
            ("spent_at", "status", CURSORS, PAGE_INFO),
        ),
        ("edges { cursor node { status } }", ("status", CURSORS)),
        ("totalCount pageInfo { endCursor }", (CURSORS, PAGE_INFO)),
        ("pageInfo { hasNextPage startCursor }", (CURSORS, PAGE_INFO)),
        ("nodes { id } pageInfo { hasNextPage }", ("id", CURSORS, PAGE_INFO)),  # with cursors
        ("nodes { id } totalCount", ("id",)),
        ("nodes { receipts { id } fxRateDate }", ("fx_rate_day", "id")),
    ],
)
def test_a_page_reads_the_columns_its_fields_declare(
    core: GraphQLSchema, selection: str, columns: tuple[str, ...]
) -> None:
    plans = root(core, f"{{ expenses(first: 2) {{ {selection} }} }}")
    assert plans["expenses"].columns == columns


def test_a_field_that_declares_nothing_reads_whole_rows(core: GraphQLSchema) -> None:
    # receiptMissing compares amounts with the policies: its load reads what it needs
    plans = root(core, "{ expenses { nodes { id receiptMissing } } }")
    assert plans["expenses"].columns is None


def test_aliases_of_one_connection_read_the_union(core: GraphQLSchema) -> None:
    plans = root(
        core,
        "{ a: expenses(first: 1) { nodes { id } } b: expenses(first: 1) { nodes { status } } }",
    )
    assert plans["a"].columns == plans["b"].columns == ("id", "status")


def test_a_nested_page_is_narrowed_too(core: GraphQLSchema) -> None:
    plans = root(core, "{ teams { nodes { name expenses(first: 5) { nodes { merchantName } } } } }")
    [team] = plans["teams"].children["TeamConnection"][0].children.values()
    assert {p.key: p.columns for p in team}["expenses"] == ("merchant_name",)


def test_a_reference_reads_the_columns_its_fields_declare(core: GraphQLSchema) -> None:
    query = """{ expenses(first: 2) { nodes {
      member { name email expenses(first: 1) { nodes { id } } }
      card { last4 status }
      team { id name archivedAt }
      receipts { fileName }
      category { name createdAt __typename }
    } } }"""
    [nodes] = root(core, query)["expenses"].children["ExpenseConnection"]
    [expense] = nodes.children.values()
    columns = {p.key: p.columns for p in expense}
    assert columns == {
        "member": ("email", "id", "name"),  # its nested page reads its id
        "card": ("last4", "status"),
        "team": ("archived_at", "id", "name"),
        "receipts": ("file_name",),
        "category": ("created_at", "name"),
    }


def _selected(sql: str, table: str) -> set[str]:
    """Return the columns of ``table`` a statement selects."""
    shown = re.split(r"\sFROM\s", sql, maxsplit=1)[0]
    return set(re.findall(rf"\b{table}\.(\w+)", shown))


@pytest.mark.parametrize(
    ("cursor", "ordering"), [("", set()), ("pageInfo { endCursor }", {"spent_at"})]
)
async def test_the_statements_select_those_columns(
    client, statements, world, cursor: str, ordering: set[str]
) -> None:
    query = f"{{ expenses(first: 3) {{ nodes {{ merchantName member {{ name }} }} {cursor} }} }}"
    admin = token(world.a, "admin")
    for _ in range(2):  # the planned reference path that teaches the lane, then the lane
        statements.reset()
        await gql(client, query, as_=admin)
        [page] = [sql for sql in statements.statements if "ORDER BY expenses.spent_at" in sql]
        # the ordering column only for a cursor
        assert _selected(page, "expenses") == {"id", "merchant_name", "member_id", *ordering}
        lookups = [sql for sql in statements.statements if "JOIN" not in sql]  # not the caller's
        [members] = [sql for sql in lookups if "\nFROM members" in sql]
        assert _selected(members, "members") == {"id", "name"}


async def test_a_narrowed_page_is_not_kept_for_a_lookup_by_id(client, world) -> None:
    # a list page primes its rows for node(id:) in the same request: not a narrowed one
    admin = token(world.a, "admin")
    page = await gql(client, "{ expenses(first: 3) { nodes { id } } }", as_=admin)
    expense_id = page["expenses"]["nodes"][1]["id"]
    detail = "node(id: $id) { ... on Expense { description fxRate createdAt } }"
    alone = await gql(client, f"query($id: ID!) {{ {detail} }}", {"id": expense_id}, as_=admin)
    query = f"query($id: ID!) {{ expenses(first: 3) {{ nodes {{ id }} }} {detail} }}"
    for _ in range(2):  # the planned reference path, then the lane
        both = await gql(client, query, {"id": expense_id}, as_=admin)
        assert both == {**page, **alone}


async def test_a_fallback_reuses_a_narrowed_page(client, reference, statements, world) -> None:
    # the lane reads the narrowed page, then meets NOT_FOUND: the reference path answers
    # with that page (its objects read only the selected fields), not reading it again
    query = (
        "query($id: ID!) { expenses(first: 3) { nodes { id merchantName amount { amount } } }"
        " node(id: $id) { id ... on Expense { member { name } } } }"
    )
    admin = token(world.a, "admin")
    await gql_raw(client, query, {"id": encode_id("Expense", world.a.expense_ids[0])}, as_=admin)
    fallbacks = runs("fallback")
    other = {"id": encode_id("Expense", world.b.expense_ids[0])}
    expected, got = await _both(client, reference, statements, query, other, admin)
    assert got == expected
    assert expected[2]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert len(expected[2]["data"]["expenses"]["nodes"]) == 3
    assert runs("fallback") > fallbacks


@pytest.mark.parametrize(
    "query",
    [
        # a root list primes whole rows for the references to them: those stay whole
        "{ members(first: 50) { nodes { name } } expenses(first: 5) { nodes { member { name } } } }",
        # receiptMissing reads the receipts' loader whole: the receipts field shares it
        "{ expenses(first: 5) { nodes { receiptMissing receipts { fileName } } } }",
        # two references to one table at two levels: one column set, one loader
        "{ expenses(first: 5) { nodes { member { name } team { manager { email } } } } }",
    ],
)
async def test_tables_read_whole_elsewhere_are_not_narrowed(
    client, reference, statements, world, query
) -> None:
    expected, got = await _both(client, reference, statements, query, None, token(world.a, "admin"))
    assert got == expected and "errors" not in expected[2]


def test_a_list_of_children_reads_the_columns_its_fields_declare(core: GraphQLSchema) -> None:
    plans = root(core, "{ teams { nodes { members { id cards { last4 } } } } }")
    [team] = plans["teams"].children["TeamConnection"][0].children.values()
    [members] = [p for p in team if p.key == "members"]
    assert members.columns == ("id",)  # and its cards read the member's id
    [cards] = [p for p in members.children["Member"] if p.key == "cards"]
    assert cards.columns == ("last4",)


def test_node_reads_the_columns_of_each_type_it_selects(core: GraphQLSchema) -> None:
    query = """query($id: ID!) { node(id: $id) {
      id
      ... on Expense { merchantName member { name } }
      ... on Member { email expenses(first: 1) { nodes { id } } }
      ... on Category { createdAt receiptMissing: __typename }
    } }"""
    columns = root(core, query)["node"].columns
    assert isinstance(columns, dict)
    assert columns["Expense"] == ("id", "member_id", "merchant_name")
    # one set a table: the expense's member shares the members' loader (and its name)
    assert columns["Member"] == ("email", "id", "name")
    assert columns["Category"] == ("created_at", "id")
    assert columns["Card"] == ("id",)


@pytest.mark.parametrize("who", ["admin", "manager", "employee"])
async def test_node_and_child_lists_select_those_columns(
    client, reference, statements, world, who
) -> None:
    # the whole business (statements built once) and the roles that see part of it (built
    # with their visibility): the same columns, and the reference path's answers
    query = """query($id: ID!) {
      node(id: $id) { ... on Expense { merchantName amount { amount currency } } }
      teams { nodes { name members { id name } } }
    }"""
    # an employee's own expense (the sixth: not deleted), in a team its manager manages
    variables = {"id": encode_id("Expense", world.a.expense_ids[5])}
    caller = token(world.a, who)
    expected, got = await _both(client, reference, statements, query, variables, caller)
    assert got == expected and "errors" not in expected[2]
    statements.reset()
    await gql(client, query, variables, as_=caller)  # the lane, as _both left it
    lookups = [sql for sql in statements.statements if "JOIN businesses" not in sql]
    [node] = [sql for sql in lookups if "\nFROM expenses" in sql]
    assert _selected(node, "expenses") == {"amount_minor", "currency", "id", "merchant_name"}
    [members] = [sql for sql in lookups if "\nFROM members" in sql]
    assert _selected(members, "members") == {"id", "name", "team_id"}


@pytest.mark.parametrize("info", ["", "pageInfo { hasNextPage hasPreviousPage }"])
@pytest.mark.parametrize("page", ["first: 2", "last: 2", "first: 100"])
async def test_a_page_reads_a_row_past_its_end_only_for_its_page_info(
    client, reference, statements, world, page, info
) -> None:
    # the row past the end says whether more follow: read for the page info, and only then
    query = (
        f"{{ expenses({page}) {{ nodes {{ id }} {info} }}"
        f" teams {{ nodes {{ expenses({page}) {{ nodes {{ merchantName }} {info} }} }} }} }}"
    )
    admin = token(world.a, "admin")
    expected, got = await _both(client, reference, statements, query, None, admin)
    assert got == expected and "errors" not in expected[2]
    if info:
        more = expected[2]["data"]["expenses"]["pageInfo"]
        assert more["hasNextPage" if page.startswith("first") else "hasPreviousPage"] == (
            page != "first: 100"
        )
    statements.reset()
    await gql(client, query, as_=admin)  # the lane, as _both left it
    pages = [sql for sql in statements.statements if "ORDER BY expenses.spent_at" in sql]
    assert len(pages) == 2
    size = int(page.split()[1])
    assert {int(n) for sql in pages for n in re.findall(r"LIMIT (\d+)", sql)} == {
        size + 1 if info else size
    }


def test_the_page_info_of_a_page_read_without_it_is_an_error() -> None:
    # never a guess: a page read without its row past the end does not know if more follow
    for more in (None, True):
        for less in (None, False):
            result = PageResult([], "spent_at", more, less, lambda: asyncio.sleep(0, 0))
            if more is None or less is None:
                with pytest.raises(RuntimeError):
                    page_info_of(result)
            else:
                assert page_info_of(result).has_next_page is True
