"""The member an identity provider's token names: looked up by email among active members."""

from collections.abc import Sequence
from typing import cast

from sqlalchemy import bindparam, select

from db.engine import RequestDb
from db.queries.auth import CREDENTIAL_MEMBER_COLUMNS, MANAGED_TEAMS, CredentialMemberRow
from db.tables.org import businesses, members

# every signed-in request runs it: built once, its email a parameter (db/fastread.py);
# two rows are enough to tell one member from an ambiguous email
_ACTIVE_BY_EMAIL = (
    select(*CREDENTIAL_MEMBER_COLUMNS, businesses.c.home_currency, MANAGED_TEAMS)
    .join(businesses, businesses.c.id == members.c.business_id)
    .where(members.c.email == bindparam("email"), members.c.deactivated_at.is_(None))
    .order_by(members.c.business_id, members.c.id)
    .limit(2)
)


async def active_members_by_email(*, db: RequestDb, email: str) -> Sequence[CredentialMemberRow]:
    """Return up to two active members with ``email``, with the columns of member_with_teams."""
    # emails are stored in lower case (a check constraint); the index on email serves this
    return cast(
        "Sequence[CredentialMemberRow]", await db.rows(_ACTIVE_BY_EMAIL, {"email": email.lower()})
    )
