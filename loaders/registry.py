"""The per-request loader set, built lazily: a request pays only for the loaders it uses."""

from typing import Any, Generic, Literal, TypeVar, overload

from db.engine import RequestDb
from db.rows import (
    CardRow,
    CategoryRow,
    ExpenseRow,
    MemberRow,
    NodeRow,
    ReceiptRow,
    TeamRow,
)
from db.sql import Columns
from db.tables.org import businesses
from db.visibility import Visibility
from loaders.base import BATCHING, TenantLoader
from loaders.cards import SpendThisPeriodByCardLoader
from loaders.expenses import ExpenseCountsByParentLoader, ExpensePagesByParentLoader
from loaders.matching import MatchCandidatesByReceiptLoader, ReceiptCandidatesByExpenseLoader
from loaders.rows import (
    BusinessLoader,
    CardsByHolderLoader,
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
        self._visible: dict[str, TenantLoader[int, Any]] = {}
        self._receipts: dict[tuple[str, ...], ReceiptsByExpenseLoader] = {}

    # the type of a node table's rows follows from its name
    @overload
    def ref(self, table: Literal["cards"], columns: Columns = None) -> RowByIdLoader[CardRow]: ...
    @overload
    def ref(
        self, table: Literal["categories"], columns: Columns = None
    ) -> RowByIdLoader[CategoryRow]: ...
    @overload
    def ref(
        self, table: Literal["expenses"], columns: Columns = None
    ) -> RowByIdLoader[ExpenseRow]: ...
    @overload
    def ref(
        self, table: Literal["members"], columns: Columns = None
    ) -> RowByIdLoader[MemberRow]: ...
    @overload
    def ref(
        self, table: Literal["receipts"], columns: Columns = None
    ) -> RowByIdLoader[ReceiptRow]: ...
    @overload
    def ref(self, table: Literal["teams"], columns: Columns = None) -> RowByIdLoader[TeamRow]: ...
    @overload
    def ref(self, table: str, columns: Columns = None) -> RowByIdLoader[NodeRow]: ...
    def ref(self, table: str, columns: Columns = None) -> RowByIdLoader[Any]:
        """Return the loader of ``table`` rows referenced from an already visible object.

        With ``columns``, one whose rows hold only those (and the id), for a selection that
        reads no more (execution/columns.py); whole rows are primed by list pages.
        """
        loader = self._refs.get((table, columns))
        if loader is None:
            loader = self._refs[(table, columns)] = RowByIdLoader(
                db=self.db,
                visibility=self.visibility,
                table=table,
                visible_only=False,
                columns=columns,
            )
        return loader

    @overload
    def visible(self, table: Literal["businesses"]) -> BusinessLoader: ...
    @overload
    def visible(self, table: Literal["cards"]) -> RowByIdLoader[CardRow]: ...
    @overload
    def visible(self, table: Literal["categories"]) -> RowByIdLoader[CategoryRow]: ...
    @overload
    def visible(self, table: Literal["expenses"]) -> RowByIdLoader[ExpenseRow]: ...
    @overload
    def visible(self, table: Literal["members"]) -> RowByIdLoader[MemberRow]: ...
    @overload
    def visible(self, table: Literal["receipts"]) -> RowByIdLoader[ReceiptRow]: ...
    @overload
    def visible(self, table: Literal["teams"]) -> RowByIdLoader[TeamRow]: ...
    @overload
    def visible(self, table: str) -> ById: ...
    def visible(self, table: str) -> TenantLoader[int, Any]:
        """Return the loader of ``table`` rows by a client-supplied id (visibility applies)."""
        if table == businesses.name:  # one row per request: one loader, however it is asked
            return self.business
        if table not in self._visible:
            self._visible[table] = RowByIdLoader(
                db=self.db, visibility=self.visibility, table=table, visible_only=True
            )
        return self._visible[table]

    def receipts_of(self, columns: Columns) -> ReceiptsByExpenseLoader:
        """Return the loader of expenses' receipts; with ``columns``, rows of only those."""
        if columns is None:
            return self.receipts_by_expense
        loader = self._receipts.get(columns)
        if loader is None:
            loader = self._receipts[columns] = ReceiptsByExpenseLoader(
                db=self.db, visibility=self.visibility, columns=columns
            )
        return loader

    def changed(self, table: str, row_id: int, row: Any = None) -> None:
        """Forget row ``row_id`` of ``table`` in its by-id loaders: a write changed it.

        ``row``, when the write returned it, is remembered instead (no read to see it again;
        a whole row serves the loaders of fewer columns too).
        """
        self.ref(table)  # the whole rows' loader, made if not yet, among the table's refs
        refs = [loader for (name, _), loader in self._refs.items() if name == table]
        for loader in (*refs, self.visible(table)):
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
