"""Shared helpers of the sign-in tests (test_oidc_*.py): keys, a fake clock, and a client.

The provider is tests/idp.py's: an ``http.server`` in a thread serving a discovery document
and a JWKS of keys made here; it counts the requests it gets. The verifier's clock is a fake
one the tests move, so the refresh rate limit is tested without waiting.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app import oidc
from app.oidc import OidcSettings
from app.settings import Settings
from tests.conftest import SETTINGS, app_client, codes
from tests.idp import FakeIdp, SigningKey

AUDIENCE = "expensegraph-api-test"
VIEWER = "{ viewer { credential member { email role } } members { totalCount } }"


@dataclass(frozen=True)
class Keys:
    rsa: SigningKey
    ec: SigningKey
    rotated: SigningKey  # published only when the provider rotates


class Clock:
    """The verifier's monotonic clock, moved by the tests."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Signin:
    idp: FakeIdp
    keys: Keys
    settings: Settings
    client: httpx.AsyncClient
    clock: Clock

    def claims(self, email: str, /, **overrides: Any) -> dict[str, Any]:
        """Return valid claims naming ``email``, with ``overrides`` (None removes a claim)."""
        now = int(time.time())
        base = {"iss": self.idp.issuer, "aud": AUDIENCE, "sub": "idp|" + email, "email": email,
                "iat": now, "exp": now + 600}  # fmt: skip
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    async def ask(self, credential: str, query: str = VIEWER) -> httpx.Response:
        headers = {"Authorization": f"Bearer {credential}"}
        return await self.client.post("/graphql", json={"query": query}, headers=headers)

    async def viewer(self, credential: str) -> dict[str, Any]:
        response = await self.ask(credential)
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body["data"]

    async def refused(self, credential: str) -> str:
        """Assert a 401 UNAUTHENTICATED with no data; return its message."""
        response = await self.ask(credential)
        body = response.json()
        assert response.status_code == 401, body
        assert body.get("data") is None and codes(body) == ["UNAUTHENTICATED"], body
        message: str = body["errors"][0]["message"]
        assert credential[:40] not in message and "Error" not in message, message
        assert "http" not in message and "Traceback" not in message, message
        return message


def oidc_settings(idp: FakeIdp, **kwargs: Any) -> Settings:
    return replace(SETTINGS, oidc=OidcSettings(issuer=idp.issuer, audience=AUDIENCE, **kwargs))


@asynccontextmanager
async def signed_in(
    idp: FakeIdp, keys: Keys, settings: Settings, engine: AsyncEngine, database_url: str
) -> AsyncIterator[Signin]:
    """Yield a Signin on an app built with ``settings``, its verifier on a fake clock."""
    assert settings.oidc is not None
    clock = Clock()
    oidc.verifier(settings.oidc).keys.clock = clock
    try:
        async with app_client(settings, engine, database_url) as client:
            yield Signin(idp, keys, settings, client, clock)
    finally:
        oidc.verifier.cache_clear()
