"""Writes of the organisation mutations and of ``business create``.

Run inside RequestDb.savepoint(); nothing here commits. A unique constraint broken by a
concurrent writer surfaces as :class:`AlreadyExists`, after which the caller's savepoint
must be rolled back (the transaction is unusable until then).
"""

from collections.abc import Sequence
from typing import Any, Protocol, cast

from sqlalchemy import Row, column, exists, func, insert, select, table, update
from sqlalchemy.exc import IntegrityError

from db.engine import RequestDb
from db.locks import LockMode, locked_row
from db.roles import Role
from db.rows import BusinessRow, MemberRow, TeamRow
from db.tables.org import businesses, members, teams
from db.writes.rows import inserting, update_row, updating

UNIQUE_VIOLATION = "23505"


class AlreadyExists(Exception):
    """An insert or update broke the unique constraint named ``constraint``."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


def _unique_violation(error: IntegrityError) -> str | None:
    """Return the constraint a unique violation broke, or None for any other integrity error."""
    for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
        if getattr(candidate, "sqlstate", None) == UNIQUE_VIOLATION:
            return str(getattr(candidate, "constraint_name", None) or "")
    return None


async def _written(db: RequestDb, statement: Any) -> Row[Any]:
    """Return the one row an INSERT or UPDATE ... RETURNING wrote; AlreadyExists if unique."""
    try:
        return (await db.rows(statement))[0]
    except IntegrityError as error:
        constraint = _unique_violation(error)
        if constraint is None:
            raise
        raise AlreadyExists(constraint) from None


# --- businesses ---


async def lock_business(*, db: RequestDb, business_id: int) -> BusinessRow | None:
    """Return the business locked until the transaction ends (it serialises admin changes).

    FOR NO KEY UPDATE: rows referencing the business can still be inserted meanwhile.
    """
    statement = (
        select(businesses).where(businesses.c.id == business_id).with_for_update(key_share=True)
    )
    rows = await db.rows(statement)
    return cast(BusinessRow, rows[0]) if rows else None


async def update_business(
    *, db: RequestDb, business_id: int, values: dict[str, Any]
) -> BusinessRow:
    """Update the business (a new time zone rebuilds its rollups by trigger); return it."""
    statement = (
        update(businesses)
        .where(businesses.c.id == business_id)
        .values(**values)
        .returning(*businesses.c)
    )
    return cast(BusinessRow, (await db.rows(statement))[0])


async def insert_business(
    *, db: RequestDb, name: str, home_currency: str, timezone: str
) -> BusinessRow:
    """Store a new business and return it."""
    statement = (
        insert(businesses)
        .values(name=name, home_currency=home_currency, timezone=timezone)
        .returning(*businesses.c)
    )
    return cast(BusinessRow, (await db.rows(statement))[0])


async def postgres_knows_timezone(*, db: RequestDb, name: str) -> bool:
    """Return True when PostgreSQL's own zone database has ``name`` (the rollups need it)."""
    zones = table("pg_timezone_names", column("name"))
    statement = select(exists().where(zones.c.name == name))
    return bool((await db.rows(statement))[0][0])


async def lock_email(*, db: RequestDb, email: str) -> None:
    """Hold a transaction-level lock on ``email``: ``business create`` runs once per admin."""
    await db.rows(select(func.pg_advisory_xact_lock(func.hashtext(email))))


class AdminMemberRow(MemberRow, Protocol):
    """A member with its business's name, currency and time zone (``business create``)."""

    business_name: str
    home_currency: str
    timezone: str


async def admins_by_email(*, db: RequestDb, email: str) -> Sequence[AdminMemberRow]:
    """Return every member with ``email`` in any business, with the business's columns."""
    statement = (
        select(
            members,
            businesses.c.name.label("business_name"),
            businesses.c.home_currency,
            businesses.c.timezone,
        )
        .join(businesses, businesses.c.id == members.c.business_id)
        .where(members.c.email == email)
        .order_by(members.c.business_id)
    )
    return cast("Sequence[AdminMemberRow]", await db.rows(statement))


# --- teams ---


async def locked_team(*, db: RequestDb, business_id: int, team_id: int) -> TeamRow | None:
    """Return a team of the business locked until the transaction ends (FOR NO KEY UPDATE)."""
    return await locked_row(
        db=db, table=teams, business_id=business_id, row_id=team_id, mode="NO_KEY_UPDATE"
    )


async def team(*, db: RequestDb, business_id: int, team_id: int) -> TeamRow | None:
    """Return a team of the business, share-locked (it cannot be archived meanwhile), or None."""
    return await locked_row(
        db=db, table=teams, business_id=business_id, row_id=team_id, mode="SHARE"
    )


async def team_named(*, db: RequestDb, business_id: int, name: str) -> TeamRow | None:
    """Return the business's team called ``name`` (archived or not), or None."""
    statement = select(teams).where(teams.c.business_id == business_id, teams.c.name == name)
    rows = await db.rows(statement)
    return cast(TeamRow, rows[0]) if rows else None


async def insert_team(
    *, db: RequestDb, business_id: int, name: str, manager_id: int | None
) -> TeamRow:
    """Store a new team and return it; AlreadyExists when the name is taken."""
    values = {"name": name, "manager_id": manager_id}
    return cast(
        TeamRow, await _written(db, inserting(teams, business_id=business_id, values=values))
    )


async def update_team(
    *, db: RequestDb, business_id: int, team_id: int, values: dict[str, Any]
) -> TeamRow:
    """Update a locked team and return it; AlreadyExists when the new name is taken."""
    statement = updating(teams, business_id=business_id, row_id=team_id, values=values)
    return cast(TeamRow, await _written(db, statement))


async def archive_team(*, db: RequestDb, business_id: int, team_id: int) -> TeamRow:
    """Set ``archived_at`` of a locked team to now and return it."""
    return await update_team(
        db=db, business_id=business_id, team_id=team_id,
        values={"archived_at": func.clock_timestamp()},
    )  # fmt: skip


async def drop_manager(*, db: RequestDb, business_id: int, manager_id: int) -> list[int]:
    """Leave the teams ``manager_id`` manages without a manager; return their ids."""
    statement = (
        update(teams)
        .where(teams.c.business_id == business_id, teams.c.manager_id == manager_id)
        .values(manager_id=None)
        .returning(teams.c.id)
    )
    return sorted(row.id for row in await db.rows(statement))


# --- members ---


async def locked_member(
    *, db: RequestDb, business_id: int, member_id: int, share: bool = False
) -> MemberRow | None:
    """Return a member of the business locked until the transaction ends, or None.

    ``share`` takes a shared lock: the member cannot change meanwhile, others may read.
    Otherwise FOR NO KEY UPDATE, which still lets rows referencing the member be written
    (the audit event of a mutation the member is making meanwhile). Lock members before
    teams and the business, as every organisation mutation does, so none deadlock.
    """
    mode: LockMode = "SHARE" if share else "NO_KEY_UPDATE"
    return await locked_row(
        db=db, table=members, business_id=business_id, row_id=member_id, mode=mode
    )


async def member_by_email(*, db: RequestDb, business_id: int, email: str) -> MemberRow | None:
    """Return the business's member with ``email`` (deactivated or not), or None."""
    statement = select(members).where(
        members.c.business_id == business_id, members.c.email == email
    )
    rows = await db.rows(statement)
    return cast(MemberRow, rows[0]) if rows else None


async def insert_member(
    *, db: RequestDb, business_id: int, name: str, email: str, role: str, team_id: int | None
) -> MemberRow:
    """Store a new member and return it; AlreadyExists when the email is taken."""
    values = {"name": name, "email": email, "role": role, "team_id": team_id}
    return cast(
        MemberRow, await _written(db, inserting(members, business_id=business_id, values=values))
    )


async def update_member(
    *, db: RequestDb, business_id: int, member_id: int, values: dict[str, Any]
) -> MemberRow:
    """Update a locked member and return it."""
    return await update_row(
        db=db, table=members, business_id=business_id, row_id=member_id, values=values
    )


async def deactivate_member(*, db: RequestDb, business_id: int, member_id: int) -> MemberRow:
    """Set ``deactivated_at`` of a locked member to now and return it."""
    return await update_member(
        db=db, business_id=business_id, member_id=member_id,
        values={"deactivated_at": func.clock_timestamp()},
    )  # fmt: skip


async def active_admin_ids(*, db: RequestDb, business_id: int) -> list[int]:
    """Return the ids of the business's active admins (lock the business first)."""
    statement = select(members.c.id).where(
        members.c.business_id == business_id,
        members.c.role == Role.ADMIN,
        members.c.deactivated_at.is_(None),
    )
    return [row.id for row in await db.rows(statement)]
