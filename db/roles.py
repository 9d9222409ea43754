"""Members' roles: the one definition the database check, the GraphQL enum and the rules share."""

from enum import StrEnum


class Role(StrEnum):
    """What a member may see and do (stored as its name in ``members.role``)."""

    ADMIN = "ADMIN"
    FINANCE = "FINANCE"
    MANAGER = "MANAGER"
    EMPLOYEE = "EMPLOYEE"


# the roles that see the whole business; they also decide, export and reimburse any
# expense, record expenses for others and manage every card
WHOLE_BUSINESS_ROLES = frozenset({Role.ADMIN, Role.FINANCE})
