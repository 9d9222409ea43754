"""Verifying a provider's token: its keys (rotation, unknown kids, the provider down) and the
tokens refused (claims, algorithms, malformed)."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import replace
from typing import Any

import jwt
import pytest

from app import oidc
from app.auth import MAX_CREDENTIAL_CHARS
from app.oidc import OidcError
from tests.app.helpers_oidc import Keys, Signin, oidc_settings, signed_in
from tests.idp import SigningKey

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
    async with signed_in(idp, keys, settings, engine, database_url) as signin:
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
    async with signed_in(idp, keys, settings, engine, database_url) as signin:
        admin = signin.claims("admin@alpha.test")
        message = await signin.refused(hs256_with_public_key(keys.rsa, admin))
        assert "identity provider" in message
