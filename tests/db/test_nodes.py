"""The node type registry (db/nodes.py) is complete: every part of every entry, and every
schema type implementing Node has an entry; the expense ordering keys match the GraphQL enum."""

import pytest
from graphql import GraphQLObjectType
from sqlalchemy import ColumnElement, select

from db.nodes import NODE_TABLES, NODE_TYPES, NODES, NodeType
from db.permissions import READ_PERMISSIONS
from db.queries.expenses import EXPENSE_ORDERS, SORT_COLUMNS
from db.tables import metadata
from db.tables.expense import expenses
from db.visibility import Visibility
from db.writes.events import OBJECT_TABLES
from resolvers.events import EVENT_PERMISSIONS
from resolvers.ids import decode_id, encode_id
from schema.build import NODE_TYPES as SCHEMA_NODE_TYPES
from schema.build import build_schema
from schema.expense_inputs import ExpenseOrderField

# everything sees all; a member sees their own rows and a managed team's
VISIBILITIES = (Visibility(business_id=1), Visibility(business_id=1, member_id=2, team_ids=(3,)))


def _schema_nodes() -> set[str]:
    types = build_schema()._schema.type_map.values()
    return {
        t.name
        for t in types
        if isinstance(t, GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)
    }


def test_names_and_tables_are_unique() -> None:
    assert len(NODE_TYPES) == len(NODE_TABLES) == len(NODES)


def test_every_schema_node_type_is_registered() -> None:
    assert _schema_nodes() == set(NODE_TYPES)
    assert [cls.__name__ for cls in SCHEMA_NODE_TYPES] == sorted(NODE_TYPES)


@pytest.mark.parametrize("node", NODES, ids=lambda node: node.name)
def test_entry_is_complete(node: NodeType) -> None:
    assert node.name.isidentifier() and node.name[0].isupper()
    assert metadata.tables.get(node.table.name) is node.table
    assert node.tenant in node.table.c and "id" in node.table.c
    for visibility in VISIBILITIES:
        predicate = node.visible(visibility)
        assert isinstance(predicate, ColumnElement)
        # the predicate is on the node's own table, not on another one
        assert select(node.table).where(predicate).get_final_froms() == [node.table]
    assert node.read_permission is None or node.read_permission in READ_PERMISSIONS
    if node.root_list is not None:
        assert node.root_list.column in node.table.c
    assert decode_id(encode_id(node.name, 7)) == (node.name, 7)


@pytest.mark.parametrize("node", NODES, ids=lambda node: node.name)
def test_root_list_is_a_query_field(node: NodeType) -> None:
    query = build_schema()._schema.query_type
    assert query is not None
    if node.root_list is not None:
        assert node.table.name in query.fields


@pytest.mark.parametrize("node", NODES, ids=lambda node: node.name)
def test_change_feed_carries_it(node: NodeType) -> None:
    assert node.name in OBJECT_TABLES
    assert OBJECT_TABLES[node.name] in (None, node.table.name)


def test_every_feed_object_type_has_a_permission() -> None:
    assert set(EVENT_PERMISSIONS) == set(OBJECT_TABLES)
    for node in NODES:
        assert EVENT_PERMISSIONS[node.name] == node.read_permission


def test_expense_ordering_keys_match_the_enum() -> None:
    assert {field.value for field in ExpenseOrderField} == set(EXPENSE_ORDERS)
    assert all(column.table is expenses for column in EXPENSE_ORDERS.values())
    assert len(SORT_COLUMNS) == len(EXPENSE_ORDERS)
