"""Sign-in with an identity provider (app/oidc.py): a real provider on 127.0.0.1, real requests.

The provider is an ``http.server`` in a thread serving a discovery document and a JWKS of
keys made here; it counts the requests it gets. The verifier's clock is a fake one the
tests move, so the refresh rate limit is tested without waiting.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import delete, func, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app import oidc
from app.auth import MAX_CREDENTIAL_CHARS, issue_token
from app.oidc import OidcError, OidcSettings
from app.settings import ConfigError, Settings
from db.tables.org import businesses, members
from tests.conftest import SETTINGS, app_client, codes, token
from tests.idp import FakeIdp, SigningKey

AUDIENCE = "expensegraph-api-test"
VIEWER = "{ viewer { credential member { email role } } members { totalCount } }"


@dataclass(frozen=True)
class Keys:
    rsa: SigningKey
    ec: SigningKey
    rotated: SigningKey  # published only when the provider rotates


@pytest.fixture(scope="module")
def keys() -> Keys:
    def rsa_key() -> Any:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(
        rsa=SigningKey("rsa-1", "RS256", rsa_key()),
        ec=SigningKey("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1())),
        rotated=SigningKey("rsa-2", "RS256", rsa_key()),
    )


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


@pytest.fixture
def idp(keys: Keys) -> Iterator[FakeIdp]:
    provider = FakeIdp()
    provider.keys = [keys.rsa.jwk(), keys.ec.jwk()]
    provider.thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def oidc_settings(idp: FakeIdp, **kwargs: Any) -> Settings:
    return replace(SETTINGS, oidc=OidcSettings(issuer=idp.issuer, audience=AUDIENCE, **kwargs))


@pytest.fixture
async def signin(
    world: Any, idp: FakeIdp, keys: Keys, engine: AsyncEngine, database_url: str
) -> AsyncIterator[Signin]:
    async with _signin(idp, keys, oidc_settings(idp), engine, database_url) as running:
        yield running


@asynccontextmanager
async def _signin(
    idp: FakeIdp, keys: Keys, settings: Settings, engine: AsyncEngine, database_url: str
) -> AsyncIterator[Signin]:
    assert settings.oidc is not None
    clock = Clock()
    oidc.verifier(settings.oidc).keys.clock = clock
    try:
        async with app_client(settings, engine, database_url) as client:
            yield Signin(idp, keys, settings, client, clock)
    finally:
        oidc.verifier.cache_clear()


@dataclass(frozen=True)
class OwnBusiness:
    """A business of this module's own, for members the tests deactivate or duplicate."""

    id: int
    other_id: int


@pytest.fixture(scope="module")
async def own(engine: AsyncEngine) -> AsyncIterator[OwnBusiness]:
    async with engine.begin() as conn:
        ids = [
            (
                await conn.execute(
                    insert(businesses)
                    .values(name=f"OIDC test {n}", home_currency="GBP")
                    .returning(businesses.c.id)
                )
            ).scalar_one()
            for n in (1, 2)
        ]
    yield OwnBusiness(*ids)
    async with engine.begin() as conn:  # members go with their business (ON DELETE CASCADE)
        await conn.execute(delete(businesses).where(businesses.c.id.in_(ids)))


async def add_member(engine: AsyncEngine, business_id: int, email: str, role: str) -> int:
    async with engine.begin() as conn:
        return int(
            (
                await conn.execute(
                    insert(members)
                    .values(business_id=business_id, name=email, email=email, role=role)
                    .returning(members.c.id)
                )
            ).scalar_one()
        )


def fresh_email() -> str:
    return f"oidc-{uuid.uuid4().hex[:12]}@oidc.test"


# --- signing in ---


async def test_rs256_and_es256_tokens_sign_in_with_the_database_role(signin, world, keys):
    employee = signin.claims("employee@alpha.test", role="ADMIN")  # a role claim is ignored
    data = await signin.viewer(keys.rsa.sign(employee))
    assert data["viewer"] == {
        "credential": "MEMBER",
        "member": {"email": "employee@alpha.test", "role": "EMPLOYEE"},
    }
    assert data["members"]["totalCount"] == 1  # an employee sees only themself
    data = await signin.viewer(keys.ec.sign(signin.claims("admin@alpha.test")))
    assert data["viewer"]["member"] == {"email": "admin@alpha.test", "role": "ADMIN"}
    assert data["members"]["totalCount"] == len(world.a.members)
    # the provider was asked once: discovery, then its keys
    assert signin.idp.requests == {"/.well-known/openid-configuration": 1, "/jwks": 1}


async def test_email_claim_is_matched_without_case(signin, keys):
    data = await signin.viewer(keys.rsa.sign(signin.claims("Finance@Alpha.TEST")))
    assert data["viewer"]["member"]["email"] == "finance@alpha.test"


async def test_a_verified_token_is_kept_but_still_expires(signin, keys):
    now = int(time.time())
    short = keys.rsa.sign(signin.claims("admin@alpha.test", exp=now + 2))
    await signin.viewer(short)
    await signin.viewer(short)  # from the cache
    verifier = oidc.verifier(signin.settings.oidc)
    found = verifier._verified[short]
    verifier._verified[short] = replace(found, expiry=now - 61)  # beyond the 60 s leeway
    assert "expired" in (await signin.refused(short)).lower()


async def test_development_tokens_keep_working_next_to_the_provider(signin, world):
    data = await signin.viewer(token(world.a, "manager"))
    assert data["viewer"]["member"]["role"] == "MANAGER"


async def test_another_member_claim(world, idp, keys, engine, database_url):
    settings = oidc_settings(idp, member_claim="upn")
    async with _signin(idp, keys, settings, engine, database_url) as signin:
        claims = signin.claims("someone@else.test", upn="engineer@alpha.test")
        data = await signin.viewer(keys.ec.sign(claims))
        assert data["viewer"]["member"]["email"] == "engineer@alpha.test"
        assert "'upn'" in await signin.refused(keys.ec.sign(signin.claims("admin@alpha.test")))


async def test_explicit_jwks_url_skips_discovery(world, idp, keys, engine, database_url):
    settings = oidc_settings(idp, jwks_url=idp.issuer + "/jwks")
    async with _signin(idp, keys, settings, engine, database_url) as signin:
        await signin.viewer(keys.rsa.sign(signin.claims("admin@alpha.test")))
        assert idp.requests == {"/jwks": 1}


# --- keys: rotation, unknown kids, the provider down ---


async def test_key_rotation_refreshes_once_and_withdrawn_keys_stop(signin, keys):
    idp = signin.idp
    old = keys.rsa.sign(signin.claims("admin@alpha.test"))
    await signin.viewer(old)
    assert idp.jwks_fetches == 1
    idp.keys = [keys.rotated.jwk(), keys.ec.jwk()]  # rsa-1 withdrawn, rsa-2 published
    signin.clock.advance(31)
    new = keys.rotated.sign(signin.claims("admin@alpha.test"))
    await signin.viewer(new)
    assert idp.jwks_fetches == 2
    await signin.viewer(keys.rotated.sign(signin.claims("finance@alpha.test")))
    assert idp.jwks_fetches == 2  # a known kid needs no fetch
    # the token verified with the withdrawn key is refused now, even from the cache
    assert "key" in (await signin.refused(old)).lower()
    assert idp.jwks_fetches == 2  # and asking again within the window fetched nothing


async def test_a_kid_the_provider_does_not_have(signin, keys):
    unknown = replace(keys.rsa, kid="not-published")
    await signin.refused(unknown.sign(signin.claims("admin@alpha.test")))
    assert signin.idp.jwks_fetches == 1  # the first use fetches


async def test_a_flood_of_unknown_kids_fetches_at_most_once(signin, keys):
    await signin.viewer(keys.rsa.sign(signin.claims("admin@alpha.test")))
    assert signin.idp.jwks_fetches == 1
    flood = [
        replace(keys.rsa, kid=uuid.uuid4().hex).sign(signin.claims("admin@alpha.test"))
        for _ in range(50)
    ]
    # within the window: nothing fetched at all
    messages = await asyncio.gather(*(signin.refused(t) for t in flood[:25]))
    assert signin.idp.jwks_fetches == 1 and len(set(messages)) == 1
    signin.clock.advance(31)
    await asyncio.gather(*(signin.refused(t) for t in flood[25:]))
    assert signin.idp.jwks_fetches == 2  # one refresh for all 25
    await signin.viewer(keys.ec.sign(signin.claims("admin@alpha.test")))  # known keys still work


async def test_provider_down_keeps_cached_keys(signin, keys):
    await signin.viewer(keys.rsa.sign(signin.claims("admin@alpha.test")))
    signin.idp.mode = "down"
    signin.clock.advance(31)
    await signin.refused(keys.rotated.sign(signin.claims("admin@alpha.test")))
    assert signin.idp.jwks_fetches == 2  # it was asked, and answered 503
    # a new token signed with a key fetched before: verified without the provider
    await signin.viewer(keys.ec.sign(signin.claims("finance@alpha.test")))
    signin.idp.mode = "up"
    signin.idp.keys.append(keys.rotated.jwk())
    signin.clock.advance(31)
    await signin.viewer(keys.rotated.sign(signin.claims("admin@alpha.test")))


async def test_provider_that_hangs_times_out(world, idp, keys, engine, database_url):
    settings = oidc_settings(idp, fetch_timeout_s=0.3)
    async with _signin(idp, keys, settings, engine, database_url) as signin:
        idp.mode = "hang"
        started = time.monotonic()
        await signin.refused(keys.rsa.sign(signin.claims("admin@alpha.test")))
        assert time.monotonic() - started < 1.5


async def test_provider_down_from_the_start(signin, keys):
    signin.idp.mode = "down"
    await signin.refused(keys.rsa.sign(signin.claims("admin@alpha.test")))


async def test_discovery_naming_another_issuer_is_not_trusted(signin, keys):
    signin.idp.discovery_issuer = "http://127.0.0.1:1"
    await signin.refused(keys.rsa.sign(signin.claims("admin@alpha.test")))
    assert signin.idp.jwks_fetches == 0


async def test_jwks_entries_we_cannot_use_are_skipped(signin, keys):
    secret = b"a shared secret the provider should never publish"
    signin.idp.keys = [
        {"kty": "oct", "kid": "oct-1", "k": b64(secret)},  # a symmetric key: never used
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        {"kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "x": b64(bytes(32))},
        {**keys.rsa.jwk(), "use": "enc"},  # an encryption key does not verify signatures
        {**keys.ec.jwk(), "alg": "ES384"},  # contradicts its curve
        "not an object",
        keys.rotated.jwk(),
    ]
    admin = signin.claims("admin@alpha.test")
    await signin.viewer(keys.rotated.sign(admin))
    hs256 = jwt.encode(admin, secret, algorithm="HS256", headers={"kid": "oct-1"})
    await signin.refused(hs256)
    await signin.refused(keys.rsa.sign(admin))
    await signin.refused(keys.ec.sign(admin))
    with pytest.raises(OidcError):
        await oidc.verifier(signin.settings.oidc).email(hs256)


# --- tokens refused ---


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def raw_signed(key: SigningKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """Return ``claims`` signed with ``key`` under any ``header`` (PyJWT checks what it encodes)."""
    signing_input = unsigned(header, claims).rsplit(".", 1)[0]
    algorithm = jwt.get_algorithm_by_name(key.algorithm)
    return f"{signing_input}.{b64(algorithm.sign(signing_input.encode(), key.private))}"


def hs256_with_public_key(key: SigningKey, claims: dict[str, Any]) -> str:
    """Return the alg-confusion token: HS256 whose HMAC secret is the provider's public key."""
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = unsigned(header, claims).rsplit(".", 1)[0]
    mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def bad_tokens(signin: Signin, keys: Keys) -> dict[str, str]:
    now = int(time.time())
    admin = signin.claims("admin@alpha.test")
    good = keys.rsa.sign(admin)
    head, body, signature = good.split(".")
    return {
        "wrong issuer": keys.rsa.sign({**admin, "iss": "http://127.0.0.1:1"}),
        "wrong audience": keys.rsa.sign({**admin, "aud": "someone-else"}),
        "expired": keys.rsa.sign({**admin, "iat": now - 7200, "exp": now - 3600}),
        "not yet valid": keys.rsa.sign({**admin, "nbf": now + 3600}),
        "issued in the future": keys.ec.sign({**admin, "iat": now + 3600}),
        "no exp": keys.rsa.sign(signin.claims("admin@alpha.test", exp=None)),
        "no iat": keys.rsa.sign(signin.claims("admin@alpha.test", iat=None)),
        "no aud": keys.rsa.sign(signin.claims("admin@alpha.test", aud=None)),
        "no email": keys.rsa.sign(signin.claims("admin@alpha.test", email=None)),
        "email not a string": keys.rsa.sign({**admin, "email": ["admin@alpha.test"]}),
        "email not verified": keys.rsa.sign({**admin, "email_verified": False}),
        "alg none": unsigned({"alg": "none", "kid": keys.rsa.kid}, admin),
        "alg None": unsigned({"alg": "None", "kid": keys.rsa.kid}, admin),
        "HS256 with the public key": hs256_with_public_key(keys.rsa, admin),
        "HS256 with the EC public key": hs256_with_public_key(keys.ec, admin),
        "RS384": jwt.encode(admin, keys.rsa.private, algorithm="RS384", headers={"kid": "rsa-1"}),
        "PS256": jwt.encode(admin, keys.rsa.private, algorithm="PS256", headers={"kid": "rsa-1"}),
        "RS256 naming the EC key": replace(keys.rsa, kid=keys.ec.kid).sign(admin),
        "ES256 naming the RSA key": replace(keys.ec, kid=keys.rsa.kid).sign(admin),
        "no kid": jwt.encode(admin, keys.rsa.private, algorithm="RS256"),
        "kid not a string": raw_signed(keys.rsa, {"alg": "RS256", "kid": ["rsa-1"]}, admin),
        "huge kid": keys.rsa.sign(admin, kid="k" * 5000),
        "signed by another key": replace(keys.rotated, kid=keys.rsa.kid).sign(admin),
        "tampered payload": f"{head}.{b64(json.dumps({**admin, 'email': 'finance@alpha.test'}).encode())}.{signature}",
        "bad base64 signature": f"{head}.{body}.!!!not-base64!!!",
        "truncated signature": f"{head}.{body}.{signature[:20]}",
        "bad base64 payload": f"{head}.@@@.{signature}",
        "payload not JSON": f"{head}.{b64(b'not json')}.{signature}",
        "payload a list": f"{head}.{b64(b'[1, 2]')}.{signature}",
        "header not JSON": f"{b64(b'{oops')}.{body}.{signature}",
        "two parts": f"{head}.{body}",
        "huge token": keys.rsa.sign({**admin, "pad": "x" * MAX_CREDENTIAL_CHARS}),
    }


BAD = [
    "wrong issuer", "wrong audience", "expired", "not yet valid", "issued in the future",
    "no exp", "no iat", "no aud", "no email", "email not a string", "email not verified",
    "alg none", "alg None", "HS256 with the public key", "HS256 with the EC public key",
    "RS384", "PS256", "RS256 naming the EC key", "ES256 naming the RSA key", "no kid",
    "kid not a string", "huge kid", "signed by another key", "tampered payload",
    "bad base64 signature", "truncated signature", "bad base64 payload", "payload not JSON",
    "payload a list", "header not JSON", "two parts", "huge token",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD)
async def test_invalid_provider_token(signin, keys, case):
    await signin.refused(bad_tokens(signin, keys)[case])


async def test_expired_and_not_yet_valid_say_so(signin, keys):
    tokens = bad_tokens(signin, keys)
    assert "expired" in (await signin.refused(tokens["expired"])).lower()
    assert "not valid yet" in (await signin.refused(tokens["not yet valid"])).lower()


async def test_leeway_lets_small_clock_differences_pass(signin, keys):
    now = int(time.time())
    claims = signin.claims("admin@alpha.test", exp=now - 30, nbf=now + 30, iat=now + 30)
    await signin.viewer(keys.rsa.sign(claims))


@pytest.mark.parametrize("case", ["alg none", "HS256 with the public key", "no kid"])
async def test_the_verifier_itself_refuses_confusion(signin, keys, case):
    """Not only the dispatch: the provider's verifier refuses these tokens on its own."""
    with pytest.raises(OidcError):
        await oidc.verifier(signin.settings.oidc).email(bad_tokens(signin, keys)[case])


async def test_confusion_token_is_refused_without_development_tokens(
    world, idp, keys, engine, database_url
):
    settings = replace(oidc_settings(idp), hs256_tokens=False)
    async with _signin(idp, keys, settings, engine, database_url) as signin:
        admin = signin.claims("admin@alpha.test")
        message = await signin.refused(hs256_with_public_key(keys.rsa, admin))
        assert "identity provider" in message


# --- members ---


async def test_deactivated_member_is_refused(signin, keys, engine, own):
    email = fresh_email()
    member_id = await add_member(engine, own.id, email, "MANAGER")
    credential = keys.rsa.sign(signin.claims(email))
    data = await signin.viewer(credential)
    assert data["viewer"]["member"] == {"email": email, "role": "MANAGER"}
    async with engine.begin() as conn:
        await conn.execute(
            update(members)
            .where(members.c.business_id == own.id, members.c.id == member_id)
            .values(deactivated_at=func.now())
        )
    assert "no active member" in (await signin.refused(credential)).lower()


async def test_role_is_read_again_on_every_request(signin, keys, engine, own):
    email = fresh_email()
    member_id = await add_member(engine, own.id, email, "EMPLOYEE")
    credential = keys.ec.sign(signin.claims(email))
    assert (await signin.viewer(credential))["viewer"]["member"]["role"] == "EMPLOYEE"
    async with engine.begin() as conn:
        await conn.execute(
            update(members)
            .where(members.c.business_id == own.id, members.c.id == member_id)
            .values(role="FINANCE")
        )
    assert (await signin.viewer(credential))["viewer"]["member"]["role"] == "FINANCE"


async def test_unknown_email_is_refused(signin, keys):
    assert (
        "no active member"
        in (await signin.refused(keys.rsa.sign(signin.claims(fresh_email())))).lower()
    )


async def test_email_active_in_two_businesses_is_ambiguous(signin, keys, engine, own):
    email = fresh_email()
    await add_member(engine, own.id, email, "ADMIN")
    other = await add_member(engine, own.other_id, email, "EMPLOYEE")
    credential = keys.rsa.sign(signin.claims(email))
    assert "several businesses" in await signin.refused(credential)
    # once one of them is deactivated, the other is who the email names
    async with engine.begin() as conn:
        await conn.execute(
            update(members)
            .where(members.c.business_id == own.other_id, members.c.id == other)
            .values(deactivated_at=func.now())
        )
    assert (await signin.viewer(credential))["viewer"]["member"]["role"] == "ADMIN"


# --- settings ---


def test_production_without_a_secret_turns_development_tokens_off(tmp_path: Path) -> None:
    env = {"EXPENSEGRAPH_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).hs256_tokens is False
    assert Settings.from_env(env, development=True).hs256_tokens is True
    assert Settings.from_env({**env, "EXPENSEGRAPH_JWT_SECRET": "s" * 40}).hs256_tokens is True


async def test_production_without_a_secret_refuses_hs256_tokens(
    world, engine, database_url, tmp_path: Path
) -> None:
    env = {"EXPENSEGRAPH_DATA_DIR": str(tmp_path)}
    for development, status in ((False, 401), (True, 200)):
        settings = replace(Settings.from_env(env, development=development), limits=SETTINGS.limits)
        # production has no secret at all: sign with one it could have been given
        signer = settings if development else replace(settings, jwt_secret="s" * 40)
        credential = issue_token(signer, business_id=world.a.id, member_id=world.a.members["admin"])
        async with app_client(settings, engine, database_url) as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ viewer { credential } }"},
                headers={"Authorization": f"Bearer {credential}"},
            )
        assert response.status_code == status, response.text
        if status == 401:
            assert codes(response.json()) == ["UNAUTHENTICATED"]


OIDC_ENV = {"EXPENSEGRAPH_JWT_SECRET": "s" * 40, "EXPENSEGRAPH_OIDC_AUDIENCE": "api"}


@pytest.mark.parametrize(
    "issuer", ["https://login.example.com/tenant/v2.0", "http://127.0.0.1:8080", "http://localhost"]
)
def test_oidc_settings_accept_https_and_local_http(issuer: str) -> None:
    settings = Settings.from_env({**OIDC_ENV, "EXPENSEGRAPH_OIDC_ISSUER": issuer})
    assert settings.oidc == OidcSettings(issuer=issuer, audience="api")
    assert settings.oidc.member_claim == "email" and settings.oidc.leeway_s == 60


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"EXPENSEGRAPH_OIDC_ISSUER": "http://login.example.com"}, "EXPENSEGRAPH_OIDC_ISSUER"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "http://10.0.0.5"}, "EXPENSEGRAPH_OIDC_ISSUER"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "login.example.com"}, "EXPENSEGRAPH_OIDC_ISSUER"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test",
          "EXPENSEGRAPH_OIDC_JWKS_URL": "http://idp.test/keys"}, "EXPENSEGRAPH_OIDC_JWKS_URL"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test",
          "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS": "-1"}, "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test",
          "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS": "3600"}, "EXPENSEGRAPH_OIDC_LEEWAY_SECONDS"),
        ({"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test",
          "EXPENSEGRAPH_OIDC_MEMBER_CLAIM": "e mail"}, "EXPENSEGRAPH_OIDC_MEMBER_CLAIM"),
    ],
)  # fmt: skip
def test_oidc_settings_refused_say_what_to_fix(extra: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env({**OIDC_ENV, **extra})


def test_oidc_issuer_and_audience_go_together() -> None:
    secret = {"EXPENSEGRAPH_JWT_SECRET": "s" * 40}
    assert Settings.from_env(secret).oidc is None
    for env in (
        {"EXPENSEGRAPH_OIDC_ISSUER": "https://idp.test"},
        {"EXPENSEGRAPH_OIDC_AUDIENCE": "api"},
    ):
        with pytest.raises(
            ConfigError, match=r"EXPENSEGRAPH_OIDC_ISSUER.*EXPENSEGRAPH_OIDC_AUDIENCE"
        ):
            Settings.from_env({**secret, **env})
    with pytest.raises(ConfigError, match="EXPENSEGRAPH_OIDC_JWKS_URL is set"):
        Settings.from_env({**secret, "EXPENSEGRAPH_OIDC_JWKS_URL": "https://idp.test/keys"})
