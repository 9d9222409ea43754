"""Receipt match candidates, both ways: a receipt's expenses and an expense's receipts."""

from db.queries import match_candidates
from db.queries.match_candidates import ExpenseCandidateRow, ReceiptCandidateRow
from loaders.base import TenantLoader, ordered


class MatchCandidatesByReceiptLoader(TenantLoader[int, list[ExpenseCandidateRow]]):
    """Stored candidate expenses of each receipt that the viewer sees, best first."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[ExpenseCandidateRow]]:
        rows = await match_candidates.candidates_by_receipt(
            db=self.db, visibility=self.visibility, receipt_ids=keys
        )
        return ordered(rows, keys, [])


class ReceiptCandidatesByExpenseLoader(TenantLoader[int, list[ReceiptCandidateRow]]):
    """Unmatched receipts the viewer sees that hold each expense as a candidate, best first."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[ReceiptCandidateRow]]:
        rows = await match_candidates.candidates_by_expense(
            db=self.db, visibility=self.visibility, expense_ids=keys
        )
        return ordered(rows, keys, [])
