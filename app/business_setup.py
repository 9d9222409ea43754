"""``expensegraph business create``: a business and its first admin, in one transaction.

Idempotent by the admin's email: a second run with the same email and settings prints the
same ids and changes nothing; a run whose settings differ from what exists says which.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from db.engine import RequestDb
from db.money import MINOR_UNITS
from db.roles import Role
from db.writes import audit
from db.writes import org as org_writes
from db.writes.org import AdminMemberRow
from resolvers.ids import encode_id
from resolvers.mutations.business import MAX_NAME, is_timezone
from resolvers.mutations.members import normalised_email
from resolvers.mutations.rules import RuleError

EXAMPLE_ZONE = "Europe/London"


class SetupError(Exception):
    """The business cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class SetUp:
    """The business's and its admin's global ids, and whether this run created them."""

    business_id: str
    admin_id: str
    created: bool

    def lines(self) -> str:
        """Return what the command prints on stdout."""
        return f"business: {self.business_id}\nadmin: {self.admin_id}"


def checked_currency(raw: str) -> str:
    """Return an ISO 4217 code the API supports, in upper case; ValueError says what is wrong."""
    code = raw.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"{raw!r} is not an ISO 4217 currency code (three letters, such as GBP)")
    if code not in MINOR_UNITS:
        supported = " ".join(sorted(MINOR_UNITS))
        raise ValueError(f"{code} is not a currency the API supports; use one of: {supported}")
    return code


def checked_timezone(raw: str) -> str:
    """Return an IANA time zone name; ValueError says what is wrong."""
    zone = raw.strip()
    if not is_timezone(zone):
        raise ValueError(
            f"{raw!r} is not an IANA time zone name (such as {EXAMPLE_ZONE}, America/New_York, UTC)"
        )
    return zone


def _checked(name: str, email: str, admin_name: str | None) -> tuple[str, str, str]:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise SetupError(f"the business name must have 1 to {MAX_NAME} characters")
    try:
        email = normalised_email(email)
    except RuleError as error:
        raise SetupError(f"--admin-email: {error.errors[0].message}") from None
    admin = (admin_name if admin_name is not None else email.partition("@")[0]).strip()
    if not 1 <= len(admin) <= MAX_NAME:
        raise SetupError(f"the admin's name must have 1 to {MAX_NAME} characters")
    return name, email, admin


async def create_business(
    db: RequestDb, *, name: str, home_currency: str, timezone: str, admin_email: str,
    admin_name: str | None,
) -> SetUp:  # fmt: skip
    """Create the business and its admin, or return the existing pair for the admin's email.

    Runs in one savepoint of ``db``'s transaction; the caller commits.
    """
    try:
        currency, zone = checked_currency(home_currency), checked_timezone(timezone)
    except ValueError as error:
        raise SetupError(str(error)) from None
    name, email, admin = _checked(name, admin_email, admin_name)
    async with db.savepoint():
        if not await org_writes.postgres_knows_timezone(db=db, name=zone):
            raise SetupError(f"PostgreSQL does not know the time zone {zone!r}; pick another")
        await org_writes.lock_email(db=db, email=email)  # two runs at once: one creates
        found = await org_writes.admins_by_email(db=db, email=email)
        if found:
            return _existing(found, name=name, email=email, currency=currency, zone=zone,
                             admin=admin if admin_name is not None else None)  # fmt: skip
        business = await org_writes.insert_business(
            db=db, name=name, home_currency=currency, timezone=zone
        )
        member = await org_writes.insert_member(
            db=db, business_id=business.id, name=admin, email=email, role=Role.ADMIN, team_id=None
        )
        # no actor: the command line
        await audit.record(
            db=db, business_id=business.id, actor_member_id=None, actor_api_key_id=None,
            action="CREATED", object_type="Business", object_id=business.id,
            details={"name": name, "home_currency": currency, "timezone": zone},
        )  # fmt: skip
        await audit.record(
            db=db, business_id=business.id, actor_member_id=None, actor_api_key_id=None,
            action="ADDED", object_type="Member", object_id=member.id,
            details={"email": email, "name": admin, "role": Role.ADMIN, "team_id": None},
        )  # fmt: skip
    return SetUp(encode_id("Business", business.id), encode_id("Member", member.id), True)


def _existing(
    rows: Sequence[AdminMemberRow], *, name: str, email: str, currency: str, zone: str,
    admin: str | None,
) -> SetUp:  # fmt: skip
    """Return the ids of the business ``name`` that ``email`` administers, if all else matches."""
    same = [row for row in rows if row.business_name == name]
    if not same:
        names = ", ".join(repr(row.business_name) for row in rows)
        raise SetupError(
            f"{email} is already a member of business {names}, not {name!r}; nothing changed. "
            "Run again with that --name to see its ids, or choose another --admin-email."
        )
    row = same[0]
    problems = []
    if row.role != Role.ADMIN or row.deactivated_at is not None:
        state = "a deactivated member" if row.deactivated_at is not None else f"a {row.role}"
        problems.append(f"{email} is {state} there, not an active admin")
    if row.home_currency != currency:
        problems.append(f"its home currency is {row.home_currency}, not {currency}")
    if row.timezone != zone:
        problems.append(f"its time zone is {row.timezone}, not {zone}")
    if admin is not None and row.name != admin:
        problems.append(f"the admin is called {row.name!r}, not {admin!r}")
    if problems:
        raise SetupError(
            f"business {name!r} already exists with admin {email}, but "
            + "; ".join(problems)
            + "; nothing changed."
        )
    return SetUp(encode_id("Business", row.business_id), encode_id("Member", row.id), False)
