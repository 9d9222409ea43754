"""The request context every resolver receives: who is asking, what they see, db and loaders."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from db.engine import RequestDb
from db.permissions import Permission
from db.receipt_storage import ReceiptStorage
from db.roles import WHOLE_BUSINESS_ROLES, Role
from db.visibility import Visibility
from loaders.registry import Loaders, make_loaders
from resolvers.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a member (user token) or an API key, of one business."""

    kind: Literal["member", "api_key"]
    id: int
    business_id: int
    home_currency: str
    # as stored (api_keys.scopes, or what a role implies); a value Permission lacks grants nothing
    permissions: frozenset[str]
    role: str | None = None
    team_id: int | None = None
    managed_team_ids: tuple[int, ...] = ()

    @cached_property
    def visibility(self) -> Visibility:
        """Return the rows this principal may see (made once: app/lane.py keeps principals)."""
        if self.kind == "api_key" or self.role in WHOLE_BUSINESS_ROLES:
            return Visibility(business_id=self.business_id)
        return Visibility(
            business_id=self.business_id,
            member_id=self.id,
            team_ids=self.managed_team_ids if self.role == Role.MANAGER else (),
            own_team_id=self.team_id,
        )

    @property
    def label(self) -> str:
        """Return a loggable name of the credential (never a secret)."""
        return f"{self.kind}:{self.id}"

    def allows(self, permission: Permission) -> bool:
        """Return True when the credential carries ``permission`` (or ``admin``)."""
        return permission in self.permissions or Permission.ADMIN in self.permissions


@dataclass(frozen=True)
class ReceiptFiles:
    """Where receipt files are stored and how to link to one; the app sets it per request."""

    storage: ReceiptStorage
    # (business id, receipt id) -> a fresh signed, expiring download URL
    download_url: Callable[[int, int], str]


@dataclass(frozen=True)
class Context:
    """What a resolver needs for one request. ``loaders`` is None when nobody is signed in."""

    request_id: str
    db: RequestDb
    principal: Principal | None
    loaders: Loaders | None
    files: ReceiptFiles | None = None
    # filled in while the request runs (operation, cost, error codes) and logged at its end
    report: dict[str, Any] = field(default_factory=dict)
    # what the fast lane loaded before it handed the request to the reference path, which
    # reuses it rather than running the SQL again: (load, id(source), arguments) -> value
    loaded: dict[tuple[Any, int, str], Any] = field(default_factory=dict)
    # webhook endpoints may be http:// and private addresses (development and tests only)
    webhooks_allow_private: bool = False

    def require(self, permission: Permission | None = None) -> tuple[Principal, Loaders]:
        """Return the principal and loaders, or raise UNAUTHENTICATED / FORBIDDEN."""
        if self.principal is None or self.loaders is None:
            raise DomainError(
                ErrorCode.UNAUTHENTICATED,
                "Sign in: send 'Authorization: Bearer <API key or user token>'.",
            )
        if permission is not None and not self.principal.allows(permission):
            raise DomainError(ErrorCode.FORBIDDEN, f"This API key lacks the '{permission}' scope.")
        return self.principal, self.loaders


def build_context(
    request_id: str,
    db: RequestDb,
    principal: Principal | None,
    *,
    batching: bool = True,
    files: ReceiptFiles | None = None,
    webhooks_allow_private: bool = False,
) -> Context:
    """Return the context of one request, with a fresh loader set when signed in."""
    loaders = (
        make_loaders(db, principal.visibility, batch=batching) if principal is not None else None
    )
    return Context(
        request_id=request_id,
        db=db,
        principal=principal,
        loaders=loaders,
        files=files,
        webhooks_allow_private=webhooks_allow_private,
    )
