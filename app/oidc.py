"""Sign-in with the company's identity provider: its access tokens, checked against its keys.

Only RS256 and ES256 are accepted, each only with a key of its own type from the
provider's JWKS, chosen by ``kid``. ``alg: none``, HS256 (the classic confusion attack
signs with the provider's public key as an HMAC secret) and everything else are refused
before any key is looked at. Keys are fetched on first use and again when a token names
a ``kid`` not seen yet, at most once per ``refresh_interval_s``, so a flood of made-up
kids costs the provider one request. A provider that cannot be reached leaves the keys
we already have in use.
"""

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

log = logging.getLogger("expensegraph.oidc")

# the allow-list; each algorithm verifies only with a key of its type (and curve)
KEY_TYPES = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}
ALGORITHMS = tuple(KEY_TYPES)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# a discovery document or a JWKS is a few KiB: more is not one
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_KID_CHARS = 256
MAX_CLAIM_CHARS = 320  # longer than any email
# verified tokens kept per process, as for development tokens (app/auth.py)
VERIFIED_TOKENS = 10_000

INVALID = "The user token is not valid."
EXPIRED = "The user token has expired; sign in again."
UNKNOWN_KEY = "The user token is signed with a key the identity provider does not publish."


class OidcError(Exception):
    """A token that claims to be the identity provider's is not valid; the message is safe to show."""


@dataclass(frozen=True)
class OidcSettings:
    """Where the identity provider is and what its tokens must say (EXPENSEGRAPH_OIDC_*)."""

    issuer: str
    audience: str
    # None: the jwks_uri of the issuer's discovery document
    jwks_url: str | None = None
    # the claim whose value is the member's email
    member_claim: str = "email"
    # clock difference tolerated on exp, nbf and iat
    leeway_s: int = 60
    # one refresh (discovery and JWKS together) gives up after this long
    fetch_timeout_s: float = 3.0
    # at most one refresh this often, however many unknown kids arrive
    refresh_interval_s: float = 30.0

    @property
    def discovery_url(self) -> str:
        """Return the issuer's OpenID Connect discovery document URL."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def url_problem(url: str) -> str | None:
    """Return why keys may not be fetched from ``url``, or None: https, or http on loopback."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        return "is not a URL"
    if not host:
        return "is not an absolute URL (https://HOST/...)"
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return None
    return "must use https (http is allowed only for 127.0.0.1 and localhost)"


class SigningKeys:
    """The identity provider's signing keys by ``kid``."""

    def __init__(self, settings: OidcSettings, *, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.clock = clock
        self.keys: dict[str, jwt.PyJWK] = {}
        self._jwks_url = settings.jwks_url
        self._refreshed_at: float | None = None
        # one refresh at a time: the requests waiting for it find its keys afterwards
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK:
        """Return the key named ``kid``, refreshing the keys once if it is not known."""
        key = self.keys.get(kid)
        if key is None:
            async with self._lock:
                key = self.keys.get(kid)
                if key is None and self._may_refresh():
                    await self._refresh()
                    key = self.keys.get(kid)
        if key is None:
            raise OidcError(UNKNOWN_KEY)
        return key

    def _may_refresh(self) -> bool:
        last = self._refreshed_at
        return last is None or self.clock() - last >= self.settings.refresh_interval_s

    async def _refresh(self) -> None:
        self._refreshed_at = self.clock()  # failures count too: a down provider is not hammered
        try:
            async with (
                asyncio.timeout(self.settings.fetch_timeout_s),
                httpx.AsyncClient(timeout=self.settings.fetch_timeout_s) as client,
            ):
                url = self._jwks_url or await self._discover(client)
                keys = parse_jwks(await _json(client, url))
        except (OSError, TimeoutError, httpx.HTTPError, ValueError, RecursionError) as error:
            log.warning("identity provider keys not refreshed: %s", str(error) or repr(error))
            return
        self._jwks_url = url
        self.keys = keys  # a key the provider no longer publishes stops working

    async def _discover(self, client: httpx.AsyncClient) -> str:
        document = await _json(client, self.settings.discovery_url)
        if not isinstance(document, dict) or document.get("issuer") != self.settings.issuer:
            raise ValueError("the discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        problem = url_problem(jwks_uri) if isinstance(jwks_uri, str) else "is missing"
        if problem:
            raise ValueError(f"the discovery document's jwks_uri {problem}")
        return str(jwks_uri)


async def _json(client: httpx.AsyncClient, url: str) -> Any:
    """Return the JSON document at ``url`` (redirects are not followed; size is capped)."""
    async with client.stream("GET", url, headers={"accept": "application/json"}) as response:
        if response.status_code != 200:
            raise ValueError(f"{url} answered HTTP {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise ValueError(f"{url} sent more than {MAX_DOCUMENT_BYTES} bytes")
    return json.loads(body)


def parse_jwks(document: Any) -> dict[str, jwt.PyJWK]:
    """Return the RS256 and ES256 signing keys of a JWKS by kid; other entries are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("the JWKS has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        kid = entry.get("kid") if isinstance(entry, dict) else None
        if isinstance(kid, str) and 0 < len(kid) <= MAX_KID_CHARS and kid not in keys:
            key = _signing_key(entry)
            if key is not None:
                keys[kid] = key
    return keys


def _signing_key(entry: dict[str, Any]) -> jwt.PyJWK | None:
    if entry.get("use", "sig") != "sig":
        return None
    for algorithm, (key_type, curve) in KEY_TYPES.items():
        if entry.get("kty") != key_type or entry.get("alg", algorithm) != algorithm:
            continue
        if curve is not None and entry.get("crv") != curve:
            continue
        try:
            # bound to one algorithm: PyJWT refuses a token whose header names another
            return jwt.PyJWK(entry, algorithm)
        except Exception as error:  # one malformed entry must not take the others down
            log.warning("identity provider key %r skipped: %s", entry.get("kid"), error)
    return None


@dataclass(frozen=True)
class _Verified:
    email: str
    expiry: int
    kid: str


class OidcVerifier:
    """Checks the identity provider's tokens and keeps the ones that passed."""

    def __init__(self, settings: OidcSettings, *, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.keys = SigningKeys(settings, clock=clock)
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    def recognises(self, token: str) -> bool:
        """Return True when ``token`` says it is the provider's: RS256 or ES256, its issuer."""
        if token in self._verified:
            return True
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError):
            return False
        return header.get("alg") in ALGORITHMS and claims.get("iss") == self.settings.issuer

    async def email(self, token: str) -> str:
        """Return the member's email (lower case) named by a valid token; OidcError if not."""
        found = self._verified.get(token)
        if found is not None and found.kid in self.keys.keys:
            self._verified.move_to_end(token)
        else:  # not seen, or its key has been withdrawn since
            found = await self._verify(token)
            self._verified[token] = found
            if len(self._verified) > VERIFIED_TOKENS:
                self._verified.popitem(last=False)
        # PyJWT's rule with the leeway, again for tokens verified earlier
        if found.expiry <= time.time() - self.settings.leeway_s:
            raise OidcError(EXPIRED)
        return found.email

    async def _verify(self, token: str) -> _Verified:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise OidcError(INVALID) from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise OidcError(INVALID)
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_CHARS:
            raise OidcError("The user token does not name its signing key (kid).")
        key = await self.keys.get(kid)
        settings = self.settings
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=settings.audience,
                issuer=settings.issuer,
                leeway=settings.leeway_s,
                options={
                    "require": ["exp", "iat", "iss", "aud"],
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise OidcError(EXPIRED) from None
        except jwt.ImmatureSignatureError:
            raise OidcError("The user token is not valid yet.") from None
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
            raise OidcError(INVALID) from None
        return _Verified(email=self._member_email(claims), expiry=int(claims["exp"]), kid=kid)

    def _member_email(self, claims: dict[str, Any]) -> str:
        name = self.settings.member_claim
        value = claims.get(name)
        if not isinstance(value, str) or not 0 < len(value) <= MAX_CLAIM_CHARS:
            raise OidcError(f"The user token has no usable '{name}' claim.")
        if name == "email" and claims.get("email_verified") is False:
            raise OidcError("The identity provider has not verified this email.")
        return value.lower()


@lru_cache(maxsize=16)
def verifier(settings: OidcSettings) -> OidcVerifier:
    """Return this process's verifier for ``settings``: its keys and verified tokens are kept."""
    return OidcVerifier(settings)
