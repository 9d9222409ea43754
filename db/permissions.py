"""What an API key may do: the permissions stored in ``api_keys.scopes``.

The API and the CLI call them scopes (``ApiKeyScope``, ``--scopes``); a key with ``admin``
may do everything. Members have no permissions of their own: their role decides.
"""

from enum import StrEnum


class Permission(StrEnum):
    """One thing an API key may do."""

    EXPENSES_READ = "expenses:read"
    EXPENSES_WRITE = "expenses:write"
    RECEIPTS_READ = "receipts:read"
    RECEIPTS_WRITE = "receipts:write"
    CARDS_READ = "cards:read"
    CARDS_WRITE = "cards:write"
    TEAMS_READ = "teams:read"
    ADMIN = "admin"


READ_PERMISSIONS = (
    Permission.EXPENSES_READ,
    Permission.RECEIPTS_READ,
    Permission.CARDS_READ,
    Permission.TEAMS_READ,
)
WRITE_PERMISSIONS = (Permission.EXPENSES_WRITE, Permission.RECEIPTS_WRITE, Permission.CARDS_WRITE)
# in the order a key's permissions are stored and listed
ALL_PERMISSIONS = (*READ_PERMISSIONS, *WRITE_PERMISSIONS, Permission.ADMIN)
