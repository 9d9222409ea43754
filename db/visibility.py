"""Who sees which rows: the tenant filter and the role-based visibility predicates.

A :class:`Visibility` is built once per request from the authenticated principal. Every
query function takes one, so no query can forget the business filter.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from db.sql import any_of
from db.tables.expense import expenses
from db.tables.org import cards, members, teams
from db.tables.receipt import receipts


@dataclass(frozen=True)
class Visibility:
    """A business, and within it whose rows are visible.

    ``member_id`` None means the whole business (admins, finance, API keys). Otherwise
    the member sees their own rows and those of the teams in ``team_ids`` (managed teams).
    """

    business_id: int
    member_id: int | None = None
    team_ids: tuple[int, ...] = ()
    own_team_id: int | None = None

    @property
    def sees_all(self) -> bool:
        """Return True when nothing in the business is hidden."""
        return self.member_id is None


def _owned_or_team(
    visibility: Visibility, owner: ColumnElement[int], team: ColumnElement[int]
) -> ColumnElement[bool]:
    if visibility.sees_all:
        return true()
    clauses = [owner == visibility.member_id]
    if visibility.team_ids:
        clauses.append(any_of(team, visibility.team_ids))
    return or_(*clauses)


def expense_visible(visibility: Visibility) -> ColumnElement[bool]:
    """Return the predicate on ``expenses`` for rows ``visibility`` shows."""
    return and_(
        expenses.c.business_id == visibility.business_id,
        _owned_or_team(visibility, expenses.c.member_id, expenses.c.team_id),
    )


def member_visible(visibility: Visibility) -> ColumnElement[bool]:
    """Return the predicate on ``members`` for rows ``visibility`` shows."""
    return and_(
        members.c.business_id == visibility.business_id,
        _owned_or_team(visibility, members.c.id, members.c.team_id),
    )


def card_visible(visibility: Visibility) -> ColumnElement[bool]:
    """Return the predicate on ``cards`` for rows ``visibility`` shows."""
    return and_(
        cards.c.business_id == visibility.business_id,
        _owned_or_team(visibility, cards.c.holder_id, cards.c.team_id),
    )


def team_visible(visibility: Visibility) -> ColumnElement[bool]:
    """Return the predicate on ``teams``: managed teams and the member's own team."""
    tenant = teams.c.business_id == visibility.business_id
    if visibility.sees_all:
        return tenant
    ids = (*visibility.team_ids, *((visibility.own_team_id,) if visibility.own_team_id else ()))
    return and_(tenant, any_of(teams.c.id, ids)) if ids else false()


def receipt_visible(visibility: Visibility) -> ColumnElement[bool]:
    """Return the predicate on ``receipts``: own uploads, or on an expense ``visibility`` shows."""
    tenant = receipts.c.business_id == visibility.business_id
    if visibility.sees_all:
        return tenant
    on_visible_expense = exists(
        select(1).where(
            expenses.c.business_id == receipts.c.business_id,
            expenses.c.id == receipts.c.expense_id,
            _owned_or_team(visibility, expenses.c.member_id, expenses.c.team_id),
        )
    )
    by_team_member = exists(
        select(1).where(
            members.c.business_id == receipts.c.business_id,
            members.c.id == receipts.c.uploaded_by,
            any_of(members.c.team_id, visibility.team_ids),
        )
    )
    own = receipts.c.uploaded_by == visibility.member_id
    return and_(
        tenant,
        or_(own, on_visible_expense, by_team_member)
        if visibility.team_ids
        else or_(own, on_visible_expense),
    )
