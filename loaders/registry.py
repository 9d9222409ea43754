"""The per-request loader set, built lazily: a request pays only for the loaders it uses."""

from typing import Any, Generic, TypeVar, overload

from db.engine import RequestDb
from db.nodes import BUSINESS, NodeType
from db.rows import NodeRow
from db.sql import Columns
from db.visibility import Visibility
from loaders.base import BATCHING, TenantLoader
from loaders.cards import SpendThisPeriodByCardLoader
from loaders.expenses import ExpenseCountsByParentLoader, ExpensePagesByParentLoader
from loaders.matching import MatchCandidatesByReceiptLoader, ReceiptCandidatesByExpenseLoader
from loaders.rows import (
    BusinessLoader,
    CardsByHolderLoader,
    ChildrenLoader,
    EventsByExpenseLoader,
    MembersByTeamLoader,
    PoliciesLoader,
    ReceiptsByExpenseLoader,
    RowByIdLoader,
)
from loaders.teams import ActiveMemberCountByTeamLoader

# a loader of rows by id (a node type's, for ``node(id:)``)
ById = TenantLoader[int, NodeRow | None]
L = TypeVar("L", bound=TenantLoader[Any, Any])
C = TypeVar("C", bound=ChildrenLoader[Any])
R = TypeVar("R", bound=NodeRow)


def _table(node: NodeType[Any] | str) -> str:
    return node if isinstance(node, str) else node.table.name


class _PerRequest(Generic[L]):
    """A loader of the set, made on first use and kept in the set (like ``cached_property``)."""

    def __init__(self, make: type[L]) -> None:
        self.make = make

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, loaders: "Loaders", owner: type) -> L:
        made = loaders.__dict__[self.name] = self.make(db=loaders.db, visibility=loaders.visibility)
        return made


class Loaders:
    """One request's DataLoaders. Never shared between requests."""

    def __init__(self, *, db: RequestDb, visibility: Visibility) -> None:
        self.db = db
        self.visibility = visibility
        self._refs: dict[tuple[str, Columns], RowByIdLoader[Any]] = {}
        self._visible: dict[tuple[str, Columns], RowByIdLoader[Any]] = {}
        self._missing: dict[str, set[int]] = {}  # by table: ids no visible loader found
        self._narrowed: dict[tuple[type, tuple[str, ...]], ChildrenLoader[Any]] = {}

    # the type of the rows follows from the node type's entry (db/nodes.py); by table name
    # (the executor's plans), they are only known to be some node type's
    @overload
    def ref(self, node: NodeType[R], columns: Columns = None) -> RowByIdLoader[R]: ...
    @overload
    def ref(self, node: str, columns: Columns = None) -> RowByIdLoader[NodeRow]: ...
    def ref(self, node: NodeType[Any] | str, columns: Columns = None) -> RowByIdLoader[Any]:
        """Return the loader of a node table's rows (its entry, or its table's name) referenced
        from an already visible object.

        With ``columns``, one whose rows hold only those (and the id), for a selection that
        reads no more (execution/columns.py); whole rows are primed by list pages.
        """
        return self._by_id(self._refs, _table(node), columns, visible_only=False)

    @overload
    def visible(
        self, node: NodeType[R], columns: Columns = None
    ) -> TenantLoader[int, R | None]: ...
    @overload
    def visible(self, node: str, columns: Columns = None) -> ById: ...
    def visible(self, node: NodeType[Any] | str, columns: Columns = None) -> TenantLoader[int, Any]:
        """Return the loader of a node table's rows by a client-supplied id (visibility
        applies); with ``columns``, one whose rows hold only those (and the id)."""
        table = _table(node)
        if table == BUSINESS.table.name:  # one row per request: one loader, however it is asked
            return self.business
        return self._by_id(self._visible, table, columns, visible_only=True)

    def _by_id(
        self,
        made: dict[tuple[str, Columns], RowByIdLoader[Any]],
        table: str,
        columns: Columns,
        *,
        visible_only: bool,
    ) -> RowByIdLoader[Any]:
        """Return the loader of ``made`` for (``table``, ``columns``), made on first use."""
        loader = made.get((table, columns))
        if loader is None:
            # a lookup by a client's id that found nothing: not read again for other columns
            missing = self._missing.setdefault(table, set()) if visible_only else None
            loader = made[(table, columns)] = RowByIdLoader(
                db=self.db,
                visibility=self.visibility,
                table=table,
                visible_only=visible_only,
                columns=columns,
                missing=missing,
            )
        return loader

    def narrowed(self, whole: C, columns: Columns) -> C:
        """Return ``whole`` (a loader of the set), or with ``columns`` one of its kind whose
        rows hold only those (execution/columns.py)."""
        if columns is None:
            return whole
        loader = self._narrowed.get((type(whole), columns))
        if loader is None:
            loader = type(whole)(db=self.db, visibility=self.visibility, columns=columns)
            self._narrowed[(type(whole), columns)] = loader
        return loader  # type: ignore[return-value]

    def changed(self, node: NodeType[Any], row_id: int, row: Any = None) -> None:
        """Forget row ``row_id`` of ``node``'s table in its by-id loaders: a write changed it.

        ``row``, when the write returned it, is remembered instead (no read to see it again;
        a whole row serves the loaders of fewer columns too).
        """
        table = node.table.name
        self.ref(node)  # the whole rows' loader, made if not yet, among the table's refs
        refs = [loader for (name, _), loader in self._refs.items() if name == table]
        self._missing.get(table, set()).discard(row_id)
        visible = [self.visible(node)]  # and those of fewer columns
        visible += [loader for (name, c), loader in self._visible.items() if name == table and c]
        for loader in (*refs, *visible):
            loader.clear(row_id)
            if row is not None:
                loader.prime(row_id, row)

    business = _PerRequest(BusinessLoader)
    policies = _PerRequest(PoliciesLoader)
    receipts_by_expense = _PerRequest(ReceiptsByExpenseLoader)
    match_candidates_by_receipt = _PerRequest(MatchCandidatesByReceiptLoader)
    receipt_candidates_by_expense = _PerRequest(ReceiptCandidatesByExpenseLoader)
    events_by_expense = _PerRequest(EventsByExpenseLoader)
    members_by_team = _PerRequest(MembersByTeamLoader)
    member_counts = _PerRequest(ActiveMemberCountByTeamLoader)
    cards_by_holder = _PerRequest(CardsByHolderLoader)
    card_spend = _PerRequest(SpendThisPeriodByCardLoader)
    expense_pages = _PerRequest(ExpensePagesByParentLoader)
    expense_counts = _PerRequest(ExpenseCountsByParentLoader)


def make_loaders(db: RequestDb, visibility: Visibility, *, batch: bool = True) -> Loaders:
    """Return a fresh loader set for one request (``batch`` False only for benchmarks)."""
    BATCHING.set(batch)
    return Loaders(db=db, visibility=visibility)
