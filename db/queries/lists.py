"""Keyset pages of the smaller root lists: cards, members, teams, categories, receipts."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, false, func, select

from db.engine import RequestDb
from db.nodes import NODE_TABLES
from db.paging import Keyset, Page, seek, to_page
from db.rows import NodeRow
from db.sql import any_of, kept_by_inputs
from db.tables.org import cards, members
from db.tables.receipt import receipts
from db.visibility import Visibility


@dataclass(frozen=True)
class ListSpec:
    """Filters of the root lists; each applies only to the table that has the column."""

    statuses: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    roles: tuple[str, ...] | None = None
    holder_ids: tuple[int, ...] | None = None
    team_ids: tuple[int, ...] | None = None
    matched: bool | None = None
    processing: tuple[str, ...] | None = None


def _filters(table: str, spec: ListSpec) -> list[ColumnElement[bool]]:
    pairs: list[tuple[ColumnElement[Any], tuple[Any, ...] | None]] = []
    if table == "cards":
        pairs = [
            (cards.c.status, spec.statuses),
            (cards.c.kind, spec.kinds),
            (cards.c.holder_id, spec.holder_ids),
            (cards.c.team_id, spec.team_ids),
        ]
    elif table == "members":
        pairs = [(members.c.role, spec.roles), (members.c.team_id, spec.team_ids)]
    clauses = [any_of(column, values) for column, values in pairs if values is not None]
    if table == "receipts" and spec.processing is not None:
        clauses.append(
            any_of(receipts.c.processing, spec.processing) if spec.processing else false()
        )
    if table == "receipts" and spec.matched is not None:
        column = receipts.c.expense_id
        clauses.append(column.is_not(None) if spec.matched else column.is_(None))
    return clauses


def _where(visibility: Visibility, table: str, spec: ListSpec) -> ColumnElement[bool]:
    return and_(NODE_TABLES[table].visible(visibility), *_filters(table, spec))


async def list_page(
    *, db: RequestDb, visibility: Visibility, table: str, spec: ListSpec, keyset: Keyset
) -> Page[NodeRow]:
    """Return one page of the visible rows of ``table`` matching ``spec``."""
    rows = await db.rows(_page(visibility, table, spec, keyset))
    return to_page(list(cast("Sequence[NodeRow]", rows)), keyset)


async def count_list(*, db: RequestDb, visibility: Visibility, table: str, spec: ListSpec) -> int:
    """Return how many visible rows of ``table`` match ``spec``."""
    return int((await db.rows(_count(visibility, table, spec)))[0][0])


@kept_by_inputs
def _page(visibility: Visibility, table: str, spec: ListSpec, keyset: Keyset) -> Select[Any]:
    source = NODE_TABLES[table].table
    return seek(
        select(source).where(_where(visibility, table, spec)),
        source.c[keyset.column],
        source.c.id,
        keyset,
    )


@kept_by_inputs
def _count(visibility: Visibility, table: str, spec: ListSpec) -> Select[Any]:
    source = NODE_TABLES[table].table
    return select(func.count()).select_from(source).where(_where(visibility, table, spec))
