"""The two lookups that authenticate a request: an API key by prefix, a member by id."""

from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import Text, bindparam, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import aggregate_order_by

from db.engine import RequestDb
from db.fastread import keep
from db.tables.api import api_keys
from db.tables.org import businesses, members, teams

# the columns of a key a credential reads; its scopes come as JSON text (``scope_list``):
# text merges with the reads sent beside it (db/merged_reads.py), an array would not
CREDENTIAL_KEY_COLUMNS = (
    api_keys.c.business_id,
    api_keys.c.id,
    api_keys.c.secret_hash,
    api_keys.c.revoked_at,
)


class CredentialKeyColumnsRow(Protocol):
    """The columns of :data:`CREDENTIAL_KEY_COLUMNS`."""

    business_id: int
    id: int
    secret_hash: bytes
    revoked_at: datetime | None


class CredentialApiKeyRow(CredentialKeyColumnsRow, Protocol):
    """An API key as a credential reads it: its business's currency, its scopes as JSON."""

    home_currency: str
    scope_list: str  # a JSON array of strings: the key's scopes


# every request with an API key runs it: built once, its prefix a parameter (db/fastread.py)
_API_KEY_BY_PREFIX = keep(
    select(
        *CREDENTIAL_KEY_COLUMNS,
        businesses.c.home_currency,
        sql_cast(func.array_to_json(api_keys.c.scopes), Text).label("scope_list"),
    )
    .join(businesses, businesses.c.id == api_keys.c.business_id)
    .where(api_keys.c.prefix == bindparam("prefix")),
    one_row=True,  # prefixes are unique
)


async def api_key_by_prefix(*, db: RequestDb, prefix: str) -> CredentialApiKeyRow | None:
    """Return the key with ``prefix`` and its business's home currency, revoked or not."""
    rows = await db.rows(_API_KEY_BY_PREFIX, {"prefix": prefix})
    return cast(CredentialApiKeyRow, rows[0]) if rows else None


# the ids of the teams a member manages, in order, as a JSON array ("[3, 7]"; NULL for
# none): JSON text, as a key's scopes (CREDENTIAL_KEY_COLUMNS)
MANAGED_TEAMS = (
    select(sql_cast(func.json_agg(aggregate_order_by(teams.c.id, teams.c.id)), Text))
    .where(teams.c.business_id == members.c.business_id, teams.c.manager_id == members.c.id)
    .scalar_subquery()
    .label("managed_teams")
)

# the columns of a member a credential reads: what its principal is made of (app/auth.py)
CREDENTIAL_MEMBER_COLUMNS = (
    members.c.business_id,
    members.c.id,
    members.c.team_id,
    members.c.role,
)


class CredentialMemberColumnsRow(Protocol):
    """The columns of :data:`CREDENTIAL_MEMBER_COLUMNS`."""

    business_id: int
    id: int
    team_id: int | None
    role: str


# every request runs it: built once, with its two values as parameters (db/fastread.py)
_MEMBER_WITH_TEAMS = keep(
    select(*CREDENTIAL_MEMBER_COLUMNS, businesses.c.home_currency, MANAGED_TEAMS)
    .join(businesses, businesses.c.id == members.c.business_id)
    .where(
        members.c.business_id == bindparam("business_id"),
        members.c.id == bindparam("member_id"),
        # a deactivated member's tokens stop at once: every request looks the member up
        members.c.deactivated_at.is_(None),
    ),
    one_row=True,  # by its primary key
)


class CredentialMemberRow(CredentialMemberColumnsRow, Protocol):
    """A member as a credential reads it: the business's currency, the teams it manages."""

    home_currency: str
    managed_teams: str | None  # MANAGED_TEAMS: a JSON array of ids


async def member_with_teams(
    *, db: RequestDb, business_id: int, member_id: int
) -> CredentialMemberRow | None:
    """Return the active member, its business's home currency and ``managed_teams`` (or None)."""
    params = {"business_id": business_id, "member_id": member_id}
    rows = await db.rows(_MEMBER_WITH_TEAMS, params)
    return cast(CredentialMemberRow, rows[0]) if rows else None
