"""API key secrets: how a key is made and the hash it is stored as (never the key itself).

Lives in ``db`` because both ends need it: ``app.auth`` checks a presented key and the
``createApiKey`` mutation (a resolver, which may not import ``app``) makes one.
"""

import hashlib
import secrets

API_KEY_PREFIX = "egk"


def hash_secret(key: str) -> bytes:
    """Return the SHA-256 of a whole API key (keys are random, so no slow hash is needed)."""
    return hashlib.sha256(key.encode()).digest()


def new_api_key() -> tuple[str, str]:
    """Return (prefix, full key) for a new API key. The full key is shown once, never stored."""
    prefix = secrets.token_hex(6)
    return prefix, f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
