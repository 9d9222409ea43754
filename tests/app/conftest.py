"""Fixtures of the sign-in tests (test_oidc_*.py): signing keys, a real identity provider on
127.0.0.1 (tests/idp.py), and a client of an app that trusts it."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.app.helpers_oidc import Keys, Signin, oidc_settings, signed_in
from tests.idp import FakeIdp, SigningKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    def rsa_key() -> Any:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(
        rsa=SigningKey("rsa-1", "RS256", rsa_key()),
        ec=SigningKey("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1())),
        rotated=SigningKey("rsa-2", "RS256", rsa_key()),
    )


@pytest.fixture
def idp(keys: Keys) -> Iterator[FakeIdp]:
    provider = FakeIdp()
    provider.keys = [keys.rsa.jwk(), keys.ec.jwk()]
    provider.thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


@pytest.fixture
async def signin(
    world: Any, idp: FakeIdp, keys: Keys, engine: AsyncEngine, database_url: str
) -> AsyncIterator[Signin]:
    async with signed_in(idp, keys, oidc_settings(idp), engine, database_url) as running:
        yield running
