"""Credentials: API keys (hashed at rest, scoped) and user tokens: the identity provider's
(app/oidc.py) and development tokens signed here (HS256)."""

import hmac
import json
import math
import re
import time
from functools import lru_cache
from typing import NamedTuple

import jwt

from app import oidc
from app.settings import Settings

# re-exported: the CLI and the tests make keys through this module
from db.api_key_secrets import API_KEY_PREFIX as API_KEY_PREFIX
from db.api_key_secrets import hash_secret as hash_secret
from db.api_key_secrets import new_api_key as new_api_key
from db.engine import RequestDb
from db.permissions import ALL_PERMISSIONS, READ_PERMISSIONS, WRITE_PERMISSIONS
from db.queries.auth import CredentialMemberRow, api_key_by_prefix, member_with_teams
from db.queries.oidc_members import active_members_by_email
from db.roles import Role
from resolvers.context import Principal


class AuthError(Exception):
    """The request carried a credential that is not valid (HTTP 401)."""


# far more than any API key or access token; a longer one is not parsed at all
MAX_CREDENTIAL_CHARS = 8 * 1024


def issue_token(
    settings: Settings, *, business_id: int, member_id: int, ttl_s: int | None = None
) -> str:
    """Return a signed user token naming a member (the role is read from the database)."""
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(member_id),
        "bid": business_id,
        "iat": now,
        "exp": now + (settings.token_ttl_s if ttl_s is None else ttl_s),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


async def authenticate(
    header: str | None, *, db: RequestDb, settings: Settings
) -> Principal | None:
    """Return the principal of an ``Authorization`` header, None without one, AuthError if bad."""
    if header is None:
        return None
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise AuthError("Use 'Authorization: Bearer <API key or user token>'.")
    if len(credential) > MAX_CREDENTIAL_CHARS:
        raise AuthError(f"The credential is longer than {MAX_CREDENTIAL_CHARS} characters.")
    if credential.startswith(API_KEY_PREFIX + "_"):
        return await _api_key_principal(credential, db)
    if settings.oidc is not None:
        verifier = oidc.verifier(settings.oidc)
        if verifier.recognises(credential):
            return await _oidc_principal(credential, verifier, db)
    if not settings.hs256_tokens:  # production without EXPENSEGRAPH_JWT_SECRET
        hint = " Sign in with your identity provider." if settings.oidc is not None else ""
        raise AuthError(oidc.INVALID + hint)
    return await _token_principal(credential, db, settings)


async def _api_key_principal(key: str, db: RequestDb) -> Principal:
    _, prefix, secret = ([*key.split("_", 2), "", ""])[:3]
    row = await api_key_by_prefix(db=db, prefix=prefix) if prefix and secret else None
    if row is None or not hmac.compare_digest(row.secret_hash, hash_secret(key)):
        raise AuthError("Unknown API key.")
    if row.revoked_at is not None:
        raise AuthError("This API key was revoked.")
    return Principal(
        kind="api_key",
        id=row.id,
        business_id=row.business_id,
        home_currency=row.home_currency,
        permissions=frozenset(json.loads(row.scope_list)),
    )


# verified tokens kept per process: a dashboard sends the same token for hours, and
# verifying it again costs more than the rest of a small request's own code
VERIFIED_TOKENS = 10_000
# at most 19 digits: the rest are refused by the bigint bound, without converting them
_DECIMAL_ID = re.compile("[1-9][0-9]{0,18}")


@lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(token: str, secret: str, audience: str, issuer: str) -> tuple[int, int, int]:
    """Return (member id, business id, expiry) of a token whose signature and claims hold.

    Only successes are cached (an exception is not); the expiry is checked again on
    every use by the caller, so a cached token still expires on time.
    """
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iss", "aud", "sub", "bid"]},
    )
    return _row_id(claims["sub"], digits=True), _row_id(claims["bid"]), int(claims["exp"])


def _row_id(claim: object, *, digits: bool = False) -> int:
    """Return a claim naming a row: a JSON integer, or (``digits``) its ASCII decimal string.

    Anything else, or an id no bigint column holds, is a token we did not issue: a float,
    a boolean, " 1" or "1_0" (int() takes them), or 2**63 (asyncpg refuses it: HTTP 500).
    """
    if digits:
        claim = int(claim) if isinstance(claim, str) and _DECIMAL_ID.fullmatch(claim) else None
    if type(claim) is not int or not 0 < claim < 2**63:
        raise ValueError("the token's member or business id is not an id")
    return claim


async def _token_principal(token: str, db: RequestDb, settings: Settings) -> Principal:
    try:
        member_id, business_id, expiry = _verified(
            token, settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("The user token has expired; sign in again.") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise AuthError("The user token is not valid.") from None
    if expiry <= time.time():  # PyJWT's rule (no leeway), for tokens verified earlier
        raise AuthError("The user token has expired; sign in again.")
    row = await member_with_teams(db=db, business_id=business_id, member_id=member_id)
    if row is None:
        raise AuthError("The member of this token no longer exists or was deactivated.")
    return _member_principal(row)


async def _oidc_principal(token: str, verifier: oidc.OidcVerifier, db: RequestDb) -> Principal:
    try:
        email = await verifier.email(token)
    except oidc.OidcError as error:
        raise AuthError(str(error)) from None
    rows = await active_members_by_email(db=db, email=email)
    if not rows:
        raise AuthError("No active member has the email of this user token.")
    if len(rows) > 1:
        raise AuthError(
            "The email of this user token belongs to members of several businesses, so "
            "the business cannot be told; ask an administrator to keep one."
        )
    return _member_principal(rows[0])


_ADMIN_PERMISSIONS = frozenset(ALL_PERMISSIONS)
_MEMBER_PERMISSIONS = frozenset((*READ_PERMISSIONS, *WRITE_PERMISSIONS))


def _member_principal(row: CredentialMemberRow) -> Principal:
    """Return the principal of a member row (the role is the database's, never a token's)."""
    return Principal(
        kind="member",
        id=row.id,
        business_id=row.business_id,
        home_currency=row.home_currency,
        permissions=_ADMIN_PERMISSIONS if row.role == Role.ADMIN else _MEMBER_PERMISSIONS,
        role=row.role,
        team_id=row.team_id,
        managed_team_ids=tuple(json.loads(row.managed_teams)) if row.managed_teams else (),
    )


# credentials remembered per process (oldest forgotten first), and the longest remembered:
# API keys and tokens are a few hundred characters; a longer header is read each time
LAST_PRINCIPALS = 10_000
MAX_REMEMBERED_CHARS = 1024


class Reading(NamedTuple):
    """When a credential read started: monotonic and wall clock, and the writes seen so far."""

    monotonic: float
    wall: float
    generation: int


class LastPrincipals:
    """The principal each recent ``Authorization`` header was last read as, and until when
    that reading stands for a known query without reading the credential again.

    A reading stands for ``fresh_for_s`` (EXPENSEGRAPH_CREDENTIAL_CACHE_MS) from the moment
    its read started, never past its token's expiry, and only until this process writes
    anything (:meth:`written`: a role, a team or a key may have changed). A change made
    elsewhere (another worker, the CLI, SQL) is seen by reads within ``fresh_for_s``; a
    request that writes always reads its credential.
    """

    def __init__(self, limit: int = LAST_PRINCIPALS, fresh_for_s: float = 0.0) -> None:
        self._limit = limit
        self._fresh_for_s = fresh_for_s
        # header -> (principal, monotonic time its reading stands until, its generation)
        self._by_header: dict[str, tuple[Principal, float, int]] = {}
        self._generation = 0  # moved on by every write of this process

    def guess(self, authorization: str | None) -> Principal | None:
        """Return the principal ``authorization`` was last read as, None if not known."""
        entry = None if authorization is None else self._by_header.get(authorization)
        return None if entry is None else entry[0]

    def fresh(self, authorization: str | None) -> Principal | None:
        """Return the principal ``authorization`` was read as if that reading still stands."""
        entry = None if authorization is None else self._by_header.get(authorization)
        if entry is None or entry[2] != self._generation or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def reading(self) -> Reading:
        """Return the start of a credential read, taken before it is sent."""
        return Reading(time.monotonic(), time.time(), self._generation)

    def remember(
        self,
        authorization: str | None,
        principal: Principal | None,
        reading: Reading | None = None,
        expires_at: float = -math.inf,
    ) -> None:
        """Keep the principal ``authorization`` was read as (None: no credential), read from
        ``reading`` on; it stands until ``expires_at`` (Unix time) at the latest."""
        if authorization is None or principal is None or len(authorization) > MAX_REMEMBERED_CHARS:
            return
        until = -math.inf
        if reading is not None and reading.generation == self._generation:
            lasts = min(self._fresh_for_s, expires_at - reading.wall)
            until = reading.monotonic + lasts
        by_header = self._by_header
        if by_header.pop(authorization, None) is None and len(by_header) >= self._limit:
            del by_header[next(iter(by_header))]  # the one read longest ago
        by_header[authorization] = (principal, until, self._generation)  # newest: stays

    def forget(self, authorization: str | None) -> None:
        """Forget ``authorization`` (it is no longer valid)."""
        if authorization is not None:
            self._by_header.pop(authorization, None)

    def written(self) -> None:
        """Let no reading stand any longer: this process wrote (a credential may have changed)."""
        self._generation += 1


def stands_until(header: str | None, settings: Settings) -> float:
    """Return the Unix time the reading of a credential just read may stand until: no end
    for an API key (revoking it is a write), a development token's expiry, and none for an
    identity provider's token (read every time)."""
    credential = (header or "").partition(" ")[2].strip()
    if credential.startswith(API_KEY_PREFIX + "_"):
        return math.inf
    if settings.oidc is not None and oidc.verifier(settings.oidc).recognises(credential):
        return -math.inf
    try:  # verified as it was read: remembered by _verified
        _, _, expiry = _verified(
            credential, settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer
        )
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return -math.inf
    return float(expiry)
