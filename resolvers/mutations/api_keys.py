"""API keys for integrations: created and revoked by admins; the key is shown once.

Only the SHA-256 of a key is stored. A revoked key fails authentication from the next
request on (every request looks its key up).
"""

from dataclasses import dataclass

from db.api_key_secrets import hash_secret, new_api_key
from db.permissions import ALL_PERMISSIONS
from db.rows import ApiKeyRow
from db.writes import api_keys as api_key_writes
from resolvers.context import Context, Principal
from resolvers.ids import encode_id
from resolvers.mutations.business import require_admin
from resolvers.mutations.changes import record_change
from resolvers.mutations.common import opaque_row_id
from resolvers.mutations.rules import RuleCode, atomic, clean_text, fail, found

# ApiKey is not a Node (``node(id:)`` does not serve it); its ids are opaque all the same.
API_KEY_TYPE = "ApiKey"
MAX_NAME = 200


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key's row and its full secret, which is never available again."""

    row: ApiKeyRow
    secret: str


def api_key_global_id(id_: int) -> str:
    """Return the opaque id of an API key."""
    return encode_id(API_KEY_TYPE, id_)


def api_key_id(global_id: str, *, field: str = "id") -> int:
    """Return the row id of an ApiKey id; anything else is NOT_FOUND."""
    return opaque_row_id(global_id, API_KEY_TYPE, what="API key", field=field)


def _require_admin(ctx: Context) -> Principal:
    # a key without the `admin` permission gets a top-level FORBIDDEN, as for every permission; a
    # member who is not an admin gets a FORBIDDEN userError
    return require_admin(ctx, "manage API keys")


def _name(name: str) -> str:
    name = clean_text(name, "name", max_length=MAX_NAME)
    if not name:
        raise fail(RuleCode.INVALID_VALUE, "Name the key after who will use it.", "name")
    return name


def _scopes(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in ALL_PERMISSIONS]
    if unknown:
        raise fail(RuleCode.INVALID_VALUE, f"Unknown scope {unknown[0][:40]!r}.", "scopes")
    if not scopes:
        raise fail(RuleCode.INVALID_VALUE, "Give the key at least one scope.", "scopes")
    return [s for s in ALL_PERMISSIONS if s in scopes]  # deduplicated, in a stable order


async def create_api_key(ctx: Context, name: str, scopes: list[str]) -> CreatedApiKey:
    """Create an API key of the caller's business; return it with its secret."""
    principal = _require_admin(ctx)
    async with atomic(ctx):
        name, scopes = _name(name), _scopes(scopes)
        prefix, secret = new_api_key()
        row = await api_key_writes.insert_api_key(
            db=ctx.db, business_id=principal.business_id, name=name, prefix=prefix,
            secret_hash=hash_secret(secret), scopes=scopes,
            created_by=principal.id if principal.kind == "member" else None,
        )  # fmt: skip
        await record_change(ctx, object_type="ApiKey", object_id=row.id, action="CREATED")
        return CreatedApiKey(row=row, secret=secret)


async def revoke_api_key(ctx: Context, global_id: str) -> ApiKeyRow:
    """Revoke an API key of the caller's business for good; return it."""
    principal = _require_admin(ctx)
    async with atomic(ctx):
        key = found(
            await api_key_writes.locked_api_key(
                db=ctx.db, business_id=principal.business_id, key_id=api_key_id(global_id)
            ),
            "API key",
        )
        if key.revoked_at is not None:
            raise fail(RuleCode.INVALID_TRANSITION, "The API key is already revoked.", "id")
        row = await api_key_writes.revoke_api_key(
            db=ctx.db, business_id=principal.business_id, key_id=key.id
        )
        await record_change(ctx, object_type="ApiKey", object_id=row.id, action="REVOKED")
        return row
