"""Automatic persisted queries (the ``extensions.persistedQuery.sha256Hash`` protocol).

A client first sends only the hash; on PERSISTED_QUERY_NOT_FOUND it sends the hash with
the query, which is checked and remembered. The store is in-process (an LRU per worker).
"""

import hashlib
import json
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope

from app.bodies import read_capped, replay
from resolvers.errors import DomainError, ErrorCode

MAX_QUERY_BYTES = 100_000


class PersistedQueries:
    """sha256 hex -> query text, least recently used evicted first."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._maxsize = maxsize

    def get(self, sha: str) -> str | None:
        """Return the query stored under ``sha``."""
        query = self._queries.get(sha)
        if query is not None:
            self._queries.move_to_end(sha)
        return query

    def put(self, sha: str, query: str) -> None:
        """Remember ``query`` under its hash."""
        self._queries[sha] = query
        self._queries.move_to_end(sha)
        while len(self._queries) > self._maxsize:
            self._queries.popitem(last=False)


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


def apply(params: dict[str, Any], store: PersistedQueries) -> bool:
    """Fill in ``params["query"]`` from the store, or remember it; return True if changed.

    Raises DomainError PERSISTED_QUERY_NOT_FOUND for an unknown hash without a query, and
    BAD_USER_INPUT when the query does not match its hash.
    """
    sha = _sha(params.get("extensions"))
    if sha is None:
        return False
    query = params.get("query")
    if not query:
        known = store.get(sha)
        if known is None:
            raise DomainError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound")
        params["query"] = known
        return True
    if not isinstance(query, str) or len(query) > MAX_QUERY_BYTES:
        raise DomainError(ErrorCode.BAD_USER_INPUT, "The query is not a string or too long.")
    if hashlib.sha256(query.encode()).hexdigest() != sha:
        raise DomainError(ErrorCode.BAD_USER_INPUT, "provided sha does not match query")
    store.put(sha, query)
    return False


def apply_to_query_string(query_string: bytes, store: PersistedQueries) -> bytes:
    """Return a GET request's query string with the persisted query filled in."""
    params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    if not apply(params, store):
        return query_string
    return urlencode(params).encode("latin-1")


MAX_JSON_BODY = 1024 * 1024
# PostgreSQL text cannot hold NUL; refusing it up front keeps it from reaching a query
NUL_MESSAGE = "Text may not contain NUL (\\u0000) characters."


def _error(message: str, code: ErrorCode, status: int = 200) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code.value}}]}
    return JSONResponse(body, status_code=status)


async def rewrite(
    scope: Scope, receive: Receive, store: PersistedQueries
) -> tuple[Scope, Receive] | Response:
    """Return the request with its persisted query filled in, or the error response.

    JSON bodies are read here (at most 1 MiB) and replayed to the GraphQL view.
    """
    try:
        if scope["method"] == "GET":
            query_string = scope.get("query_string", b"")
            if b"%00" in query_string:
                return _error(NUL_MESSAGE, ErrorCode.BAD_USER_INPUT, 400)
            if b"persistedQuery" in query_string:
                scope = {**scope, "query_string": apply_to_query_string(query_string, store)}
            return scope, receive
        headers = dict(scope.get("headers", []))
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            return scope, receive
        body = await read_capped(receive, MAX_JSON_BODY)
        if body is None:
            return _error(
                f"JSON bodies are at most {MAX_JSON_BODY} bytes.", ErrorCode.BAD_USER_INPUT, 413
            )
        if b"\\u0000" in body or b"\x00" in body:
            return _error(NUL_MESSAGE, ErrorCode.BAD_USER_INPUT, 400)
        if b"persistedQuery" in body:
            params = json.loads(body)
            if isinstance(params, dict) and apply(params, store):
                body = json.dumps(params).encode()
                headers[b"content-length"] = str(len(body)).encode()
                scope = {**scope, "headers": list(headers.items())}
        return scope, replay(body, receive)
    except DomainError as error:
        return _error(error.message, error.code)
    except ValueError:
        return _error("The body is not valid JSON.", ErrorCode.BAD_USER_INPUT, 400)
