"""loaders/matching.py: stored match candidates both ways, best first, the viewer's visibility applied.

The data set has no candidates: the test adds some in its request's transaction (rolled
back at its end) for two of business A's unmatched receipts, including an expense since
deleted and one that has a receipt already, which are never offered.
"""

import pytest
from sqlalchemy import insert

from db.engine import RequestDb
from db.tables.receipt import receipt_match_candidates
from db.visibility import Visibility
from loaders.registry import make_loaders
from tests.conftest import StatementCounter
from tests.loaders.conftest import Committed
from tests.loaders.rows_read import UNKNOWN, change, nested_ids
from tests.world import World

# (unmatched receipt, index in world.a.expense_ids, score)
CANDIDATES = [
    (0, 3, 0.5),  # the manager's, no receipt
    (0, 6, 0.9),  # employee2's, no receipt
    (0, 15, 0.7),  # the employee's, no receipt
    (0, 0, 0.95),  # deleted: never offered
    (0, 5, 0.99),  # has a receipt: never offered
    (1, 15, 0.6),
]


@pytest.fixture
async def candidates(db: RequestDb, committed: Committed, world: World) -> list[int]:
    """Store CANDIDATES in the test's transaction; return the unmatched receipts' ids."""
    a = world.a
    unmatched = [r.id for r in committed["receipts"] if r.business_id == a.id and not r.expense_id]
    by_id = {e.id: e for e in committed["expenses"]}
    with_receipt = {r.expense_id for r in committed["receipts"]}
    deleted, attached = by_id[a.expense_ids[0]], by_id[a.expense_ids[5]]
    assert deleted.deleted_at and attached.id in with_receipt and deleted.id not in with_receipt
    assert {by_id[a.expense_ids[i]].member_id for i in (3, 6, 15)} == {
        a.members[m] for m in ("manager", "employee2", "employee")
    }
    values = [
        dict(business_id=a.id, receipt_id=unmatched[r], expense_id=a.expense_ids[e], score=s)
        for r, e, s in CANDIDATES
    ]
    await change(
        db, insert(receipt_match_candidates).values(values).returning(receipt_match_candidates)
    )
    return unmatched


def viewer(world: World, member: str | None) -> Visibility:
    a = world.a
    if member is None:
        return Visibility(business_id=a.id)
    return Visibility(business_id=a.id, member_id=a.members[member], own_team_id=a.teams["sales"])


@pytest.mark.parametrize(
    ("member", "offered"),
    [
        (None, [[6, 15, 3], [15], []]),  # best first; deleted and matched expenses left out
        ("employee", [[15], [15], []]),  # only the viewer's own expenses
    ],
)
async def test_candidate_expenses_per_receipt(
    db: RequestDb,
    world: World,
    candidates: list[int],
    statements: StatementCounter,
    member: str | None,
    offered: list[list[int]],
) -> None:
    ids = world.a.expense_ids
    theirs = world.b.receipt_ids[0]
    keys = [*candidates[:3], theirs, UNKNOWN, candidates[0]]
    statements.reset()
    found = await make_loaders(db, viewer(world, member)).match_candidates_by_receipt.load_all(keys)
    assert statements.count == 1
    expected = [[ids[i] for i in row] for row in offered]
    assert nested_ids(found) == [*expected, [], [], expected[0]]
    assert [row.match_score for row in found[0]] == sorted(
        (s for r, e, s in CANDIDATES if r == 0 and e in offered[0]), reverse=True
    )


@pytest.mark.parametrize(
    ("member", "visible"),
    [
        (None, True),
        ("employee", True),  # uploaded every receipt
        ("employee2", False),  # sees an unmatched receipt only when they uploaded it
    ],
)
async def test_candidate_receipts_per_expense(
    db: RequestDb,
    world: World,
    candidates: list[int],
    statements: StatementCounter,
    member: str | None,
    visible: bool,
) -> None:
    ids = world.a.expense_ids
    first, second = candidates[0], candidates[1]
    keys = [ids[15], ids[6], ids[0], ids[1], world.b.expense_ids[0], UNKNOWN, ids[15]]
    statements.reset()
    found = await make_loaders(db, viewer(world, member)).receipt_candidates_by_expense.load_all(
        keys
    )
    assert statements.count == 1
    # the deleted expense still names the receipt: it is the receipt that must be unmatched
    held = [[first, second], [first], [first], [], [], [], [first, second]]
    assert nested_ids(found) == (held if visible else [[] for _ in keys])
