"""Persisted queries: Apollo's automatic persisted queries, and an optional allow-list.

A client first sends only ``extensions.persistedQuery.sha256Hash``; on
PERSISTED_QUERY_NOT_FOUND it sends the hash with the query, which is checked and, for an
authenticated caller, remembered (app/persisted_store.py: per process, or in Redis).

With ``EXPENSEGRAPH_PERSISTED_ONLY`` only the documents of the manifest
(``EXPENSEGRAPH_PERSISTED_QUERIES_FILE``, Apollo's persisted query manifest, written by
client tooling such as ``@apollo/generate-persisted-query-manifest``) run, by hash or by
full text; anything else is FORBIDDEN and nothing is registered. Introspection-only
documents stay governed by the introspection setting.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from graphql import (
    GraphQLError,
    parse,
)

from app.gate import introspection_only
from app.persisted_store import MAX_QUERY_BYTES, MemoryStore, Store, make_store
from app.settings import ConfigError, Settings
from resolvers.errors import DomainError, ErrorCode

MANIFEST_FORMAT = "apollo-persisted-query-manifest"
_FILE_VARIABLE = "EXPENSEGRAPH_PERSISTED_QUERIES_FILE"
_HOW_TO_MAKE = (
    "Point it at the persisted query manifest your client build writes (for example with "
    "@apollo/generate-persisted-query-manifest)."
)
_NOT_ALLOWED = (
    "Only registered operations run on this server (persisted-only mode): send the "
    "sha256Hash or the exact text of an operation in its persisted query manifest."
)
_NOT_REGISTERED = (
    "Persisted-only mode: this server runs only the operations of its manifest and does "
    "not register new ones."
)
# the standard introspection query has about 200 tokens
_INTROSPECTION_MAX_TOKENS = 2_000


@dataclass(frozen=True)
class Manifest:
    """The registered operations: sha256 hex of the body -> the body."""

    operations: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __contains__(self, sha: object) -> bool:
        return sha in self.operations

    def get(self, sha: str) -> str | None:
        """Return the registered document with this hash."""
        return self.operations.get(sha)


@dataclass(frozen=True)
class Persisted:
    """The persisted-query setup of one app: store, manifest and mode.

    ``introspection`` (the introspection setting) lets introspection-only documents past
    the allow-list; the introspection setting itself still decides whether they run.
    """

    store: Store = field(default_factory=MemoryStore)
    allowed: Manifest = field(default_factory=Manifest)
    persisted_only: bool = False
    introspection: bool = False

    async def apply(self, params: dict[str, Any], *, authenticated: bool) -> None:
        """Run :func:`apply` with this setup."""
        await apply(
            params,
            self.store,
            authenticated=authenticated,
            persisted_only=self.persisted_only,
            allowed=self.allowed,
            introspection=self.introspection,
        )


def from_settings(settings: Settings) -> Persisted:
    """Return the setup ``settings`` ask for; ConfigError when the manifest is missing or bad."""
    path = settings.persisted_queries_file
    if settings.persisted_only and path is None:
        raise ConfigError(
            f"EXPENSEGRAPH_PERSISTED_ONLY=true needs {_FILE_VARIABLE}, the manifest of the "
            f"operations that may run. {_HOW_TO_MAKE}"
        )
    allowed = load_manifest(path) if path is not None else Manifest()
    if settings.persisted_only and not allowed.operations:
        raise ConfigError(
            f"{_FILE_VARIABLE} ({path}) lists no operations, so persisted-only mode would "
            f"refuse every request. {_HOW_TO_MAKE}"
        )
    return Persisted(make_store(settings), allowed, settings.persisted_only, settings.introspection)


def load_manifest(path: Path) -> Manifest:
    """Return the operations of an Apollo persisted query manifest, each id checked."""
    what = f"{_FILE_VARIABLE} ({path})"
    try:
        data = json.loads(path.read_bytes())
    except OSError as error:
        raise ConfigError(f"{what} cannot be read: {error.strerror}. {_HOW_TO_MAKE}") from None
    except ValueError as error:
        raise ConfigError(f"{what} is not JSON: {error}. {_HOW_TO_MAKE}") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != MANIFEST_FORMAT
        or data.get("version") != 1
        or not isinstance(data.get("operations"), list)
    ):
        raise ConfigError(
            f'{what} must be {{"format": "{MANIFEST_FORMAT}", "version": 1, "operations": '
            '[{"id": SHA256_OF_BODY, "name": ..., "type": "query", "body": ...}, ...]}. '
            + _HOW_TO_MAKE
        )
    operations = [
        _operation(op, f"{what}: operations[{i}]") for i, op in enumerate(data["operations"])
    ]
    return Manifest(MappingProxyType(dict(operations)))


def _operation(op: object, where: str) -> tuple[str, str]:
    if not isinstance(op, dict) or not isinstance(op.get("body"), str):
        raise ConfigError(f'{where} needs a "body": the GraphQL document, as text.')
    if isinstance(op.get("name"), str):
        where += f" ({op['name']})"
    if op.get("type", "query") not in ("query", "mutation", "subscription"):
        raise ConfigError(
            f'{where}: "type" is {op["type"]!r}; use "query", "mutation" or "subscription".'
        )
    body: str = op["body"]
    sha = hashlib.sha256(body.encode()).hexdigest()
    if not isinstance(op.get("id"), str) or op["id"].lower() != sha:
        raise ConfigError(
            f'{where}: "id" is {op.get("id")!r}, but the sha256 of its body is {sha}. The id '
            "must be the sha256 hex of the exact body text: regenerate the manifest."
        )
    try:
        parse(body, no_location=True)
    except GraphQLError as error:
        raise ConfigError(f"{where}: the body is not a GraphQL document: {error.message}") from None
    return sha, body


def _sha(extensions: Any) -> str | None:
    if isinstance(extensions, str):
        try:
            extensions = json.loads(extensions)
        except ValueError:
            raise DomainError(ErrorCode.BAD_USER_INPUT, "extensions is not JSON.") from None
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if not isinstance(persisted, dict):
        return None
    sha = persisted.get("sha256Hash")
    if persisted.get("version", 1) != 1 or not isinstance(sha, str) or len(sha) != 64:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT, "Unsupported persistedQuery: version 1 with a sha256Hash."
        )
    return sha.lower()


async def apply(
    params: dict[str, Any],
    store: Store,
    *,
    authenticated: bool,
    persisted_only: bool,
    allowed: Manifest,
    introspection: bool = False,
) -> None:
    """Fill in ``params["query"]`` for a hash, register a hash with its query, or refuse.

    Raises DomainError: PERSISTED_QUERY_NOT_FOUND for an unknown hash without a query,
    BAD_USER_INPUT when the query does not match its hash, FORBIDDEN in persisted-only
    mode for anything but a manifest document (or, with ``introspection``, a document
    of introspection fields only). Registers only when ``authenticated``.
    """
    sha = _sha(params.get("extensions"))
    query = params.get("query")
    if sha is not None and not query:
        params["query"] = await _by_hash(sha, store, persisted_only=persisted_only, allowed=allowed)
        return
    if sha is None:
        if persisted_only:
            _check_allowed(query, None, allowed, introspection=introspection)
        return
    text = _matching(query, sha)
    if persisted_only:
        _check_allowed(text, sha, allowed, introspection=introspection)
    elif authenticated and sha not in allowed:
        await store.put(sha, text)


async def _by_hash(sha: str, store: Store, *, persisted_only: bool, allowed: Manifest) -> str:
    # the manifest first; in persisted-only mode nothing else
    known = allowed.get(sha) or (None if persisted_only else await store.get(sha))
    if known is not None:
        return known
    if persisted_only:
        raise DomainError(ErrorCode.FORBIDDEN, _NOT_ALLOWED)
    raise DomainError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")


def _matching(query: Any, sha: str) -> str:
    if not isinstance(query, str) or len(query.encode()) > MAX_QUERY_BYTES:
        raise DomainError(ErrorCode.BAD_USER_INPUT, "The query is not a string or too long.")
    if hashlib.sha256(query.encode()).hexdigest() != sha:
        raise DomainError(ErrorCode.BAD_USER_INPUT, "provided sha does not match query")
    return query


def _check_allowed(query: Any, sha: str | None, allowed: Manifest, *, introspection: bool) -> None:
    if isinstance(query, str):
        if (sha or hashlib.sha256(query.encode()).hexdigest()) in allowed:
            return
        if introspection and is_introspection(query):
            return
    raise DomainError(ErrorCode.FORBIDDEN, _NOT_REGISTERED if sha else _NOT_ALLOWED)


def is_introspection(query: str) -> bool:
    """Return True if every operation of ``query`` is a query of meta fields only."""
    try:
        document = parse(query, no_location=True, max_tokens=_INTROSPECTION_MAX_TOKENS)
    except GraphQLError:
        return False
    return introspection_only(document)
