"""Setting up a business: who may (admins), the names it takes, and updateBusiness.

Admins are members with the ADMIN role and API keys with the ``admin`` scope. A key
without the permission gets a top-level FORBIDDEN, as for every permission; a member who is not an
admin gets a FORBIDDEN userError. Every change writes one audit event.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from db.permissions import Permission
from db.roles import Role
from db.rows import BusinessRow
from db.writes import org as org_writes
from resolvers.context import Context, Principal
from resolvers.mutations.changes import record_change
from resolvers.mutations.rules import RuleCode, atomic, clean_text, fail

MAX_NAME = 200


def require_admin(ctx: Context, what: str) -> Principal:
    """Return the principal if it is an admin or an API key with the ``admin`` scope."""
    principal, _ = ctx.require()
    if principal.kind == "api_key":
        ctx.require(Permission.ADMIN)
    elif principal.role != Role.ADMIN:
        raise fail(RuleCode.FORBIDDEN, f"Only an admin may {what}.")
    return principal


def required_name(value: str, field: str = "name", *, what: str = "name") -> str:
    """Return a name without surrounding blanks; INVALID_VALUE if empty, too long or not text."""
    value = clean_text(value, field, max_length=MAX_NAME)
    if not value:
        raise fail(RuleCode.INVALID_VALUE, f"The {what} cannot be empty.", field)
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    """Return True for an IANA time zone name ("Europe/London", "UTC")."""
    return name in _zones()


async def checked_timezone(ctx: Context, name: str, field: str = "timezone") -> str:
    """Return an IANA zone name that Python and PostgreSQL both know; else INVALID_VALUE."""
    name = name.strip()
    if not is_timezone(name) or not await org_writes.postgres_knows_timezone(db=ctx.db, name=name):
        raise fail(
            RuleCode.INVALID_VALUE,
            f"Unknown time zone {name[:60]!r}; give an IANA name such as Europe/London.",
            field,
        )
    return name


@dataclass(frozen=True)
class BusinessChanges:
    """updateBusiness's input; None leaves a setting as it is."""

    name: str | None = None
    timezone: str | None = None


async def update_business(ctx: Context, changes: BusinessChanges) -> BusinessRow:
    """Rename the business or move it to another time zone; return it.

    A new time zone rebuilds the spend rollups (a trigger of migration 0002), so day and
    month buckets follow the local calendar of the new zone.
    """
    principal = require_admin(ctx, "change the business's settings")
    _, loaders = ctx.require()
    async with atomic(ctx):
        business = await org_writes.lock_business(db=ctx.db, business_id=principal.business_id)
        if business is None:  # deleted while the request ran
            raise fail(RuleCode.NOT_FOUND, "The business no longer exists.")
        values: dict[str, Any] = {}
        if changes.name is not None:
            values["name"] = required_name(changes.name, what="business name")
        if changes.timezone is not None:
            values["timezone"] = await checked_timezone(ctx, changes.timezone)
        changed = {k: v for k, v in values.items() if v != getattr(business, k)}
        if not changed:
            return business
        row = await org_writes.update_business(
            db=ctx.db, business_id=principal.business_id, values=changed
        )
        before = {k: getattr(business, k) for k in changed}
        await record_change(
            ctx, object_type="Business", object_id=row.id, action="UPDATED",
            details={"from": before, "to": changed},
        )  # fmt: skip
        loaders.business.clear(row.id).prime(row.id, row)
        return row
