"""The node types, one entry each: registering a new one is adding its entry here.

A node type is an object clients reach by global id (``node(id:)``). Its entry holds every
fact the layers above need: the GraphQL type name (also the global id's prefix and the
change feed's object type), its table, the predicate deciding which rows a visibility
shows, the API key permission that reads it, and the order of its root list if it has one.
Everything else is derived from here: the id codec (``resolvers/ids.py``), ``node`` lookups
(``resolvers/nodes.py``), by-id statements and loaders (``db/queries/lookups.py``,
``loaders/registry.py``), root lists (``db/queries/lists.py``, ``resolvers/nodes.py``) and
the schema's node types (``schema/build.py``). An entry is typed by its table's rows
(``NodeType[CardRow]``), so ``loaders.visible(CARD)`` returns card rows to the type checker.
``tests/db/test_nodes.py`` fails when a type is registered incompletely or a schema type
implementing ``Node`` is not registered.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Table

from db.permissions import Permission
from db.rows import (
    BusinessRow,
    CardRow,
    CategoryRow,
    ExpenseRow,
    MemberRow,
    NodeRow,
    ReceiptRow,
    TeamRow,
)
from db.tables.expense import expenses
from db.tables.org import businesses, cards, categories, members, teams
from db.tables.receipt import receipts
from db.visibility import (
    Visibility,
    card_visible,
    expense_visible,
    member_visible,
    receipt_visible,
    team_visible,
)

RowPredicate = Callable[[Visibility], ColumnElement[bool]]
R = TypeVar("R", bound=NodeRow)


@dataclass(frozen=True)
class ListOrder:
    """How a root list (``Query.cards``...) orders its rows; ties are broken by id."""

    column: str
    descending: bool = False


@dataclass(frozen=True)
class NodeType(Generic[R]):
    """Everything the layers need to know about one node type (``R``: its table's rows)."""

    name: str  # the GraphQL type, the global id's prefix, the feed's object type
    table: Table
    visible: RowPredicate  # the rows of ``table`` a visibility shows
    read_permission: Permission | None  # None: roles alone decide
    root_list: ListOrder | None  # None: no root list of its own
    tenant: str = "business_id"  # the column holding the business id


def _tenant(table: Table) -> RowPredicate:
    return lambda visibility: table.c.business_id == visibility.business_id


def _the_business(visibility: Visibility) -> ColumnElement[bool]:
    return businesses.c.id == visibility.business_id


# one row per request, the caller's business (loaders/registry.py keeps one loader for it)
BUSINESS: NodeType[BusinessRow] = NodeType(
    "Business", businesses, _the_business, None, root_list=None, tenant="id"
)
CARD: NodeType[CardRow] = NodeType(
    "Card", cards, card_visible, Permission.CARDS_READ, ListOrder("created_at")
)
CATEGORY: NodeType[CategoryRow] = NodeType(
    "Category", categories, _tenant(categories), Permission.EXPENSES_READ, ListOrder("created_at")
)
EXPENSE: NodeType[ExpenseRow] = NodeType(
    "Expense", expenses, expense_visible, Permission.EXPENSES_READ, root_list=None
)
MEMBER: NodeType[MemberRow] = NodeType(
    "Member", members, member_visible, Permission.TEAMS_READ, ListOrder("created_at")
)
RECEIPT: NodeType[ReceiptRow] = NodeType(
    "Receipt",
    receipts,
    receipt_visible,
    Permission.RECEIPTS_READ,
    ListOrder("uploaded_at", descending=True),
)
TEAM: NodeType[TeamRow] = NodeType(
    "Team", teams, team_visible, Permission.TEAMS_READ, ListOrder("created_at")
)
NODES: tuple[NodeType[Any], ...] = (BUSINESS, CARD, CATEGORY, EXPENSE, MEMBER, RECEIPT, TEAM)
# by GraphQL type name, and by table name
NODE_TYPES: dict[str, NodeType[Any]] = {node.name: node for node in NODES}
NODE_TABLES: dict[str, NodeType[Any]] = {node.table.name: node for node in NODES}
