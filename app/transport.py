"""GraphQL over HTTP: read the request within limits, parse its parameters, shape the answer.

Everything here runs before a request is admitted or authenticated, so it holds no pooled
connection and no admission slot: a client sending its body one byte a second costs a
socket and a timer, nothing the other clients need (issue 11, slowloris). Every refusal is
a JSON body with ``errors[].extensions.code``, never plain text.
"""

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import UploadFile
from starlette.types import Receive, Scope

from app.admission import ClientGone
from resolvers.errors import ErrorCode
from resolvers.receipt_files import MAX_RECEIPT_BYTES

# the media types of the GraphQL-over-HTTP spec: the new one, and the legacy one that
# older clients expect (200 for every well-formed request)
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
LEGACY_JSON = "application/json"
MAX_JSON_BODY = 1024 * 1024
# one receipt plus room for `operations`, `map` and the multipart framing
MAX_MULTIPART_BYTES = MAX_RECEIPT_BYTES + 1024 * 1024
# A browser sends a cross-site multipart form without preflight; it cannot add a custom
# header without one. Requiring one of these stops cross-site request forgery (the
# headers Apollo's CSRF prevention accepts).
PREFLIGHT_HEADERS = (b"apollo-require-preflight", b"x-apollo-operation-name", b"graphql-preflight")
NO_PREFLIGHT = (
    "Multipart requests need a 'GraphQL-Preflight: 1' (or 'Apollo-Require-Preflight') header, "
    "which browsers cannot send cross-site without a CORS preflight."
)
# PostgreSQL text cannot hold NUL; refusing it up front keeps it from reaching a query
NUL_MESSAGE = "Text may not contain NUL (\\u0000) characters."


class TransportError(Exception):
    """The request cannot be run as sent: an HTTP status, a code and what to fix."""

    def __init__(
        self,
        status: int,
        message: str,
        code: ErrorCode = ErrorCode.BAD_USER_INPUT,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers = headers or {}


@dataclass
class GraphQLParams:
    """One operation as the client sent it, before any GraphQL parsing."""

    query: str | None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = None
    # uploaded files of a multipart request, closed when the request ends
    files: list[UploadFile] = field(default_factory=list)


# the headers of a request by their names, in lower case as ASGI gives them
RequestHeaders = dict[bytes, str]


def request_headers(scope: Scope) -> RequestHeaders:
    """Return every header of the request, in one pass (not a :func:`header` scan each)."""
    # reversed: the first of a repeated header is written last, and stays
    return {name: value.decode("latin-1") for name, value in reversed(scope.get("headers", []))}


def header(scope: Scope, name: bytes) -> str | None:
    """Return the first value of header ``name`` (lower case), decoded as latin-1."""
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def negotiate(accept: str | None) -> str:
    """Return the response media type for an ``Accept`` header; 406 when none is acceptable.

    No header means a legacy client: application/json. Of the two GraphQL media types the
    one with the higher quality wins, the new one on a tie.
    """
    if accept is None or not accept.strip():
        return LEGACY_JSON
    best, best_q = None, 0.0
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        q = _quality(params)
        for candidate, matches in (
            (GRAPHQL_RESPONSE_JSON, (GRAPHQL_RESPONSE_JSON,)),
            (LEGACY_JSON, (LEGACY_JSON, "application/*", "*/*")),
        ):
            if media in matches and q > 0 and (q > best_q or (q == best_q and best is None)):
                best, best_q = candidate, q
                break
    if best is None:
        raise TransportError(
            406,
            f"Accept {GRAPHQL_RESPONSE_JSON} or {LEGACY_JSON}; got {accept[:100]!r}.",
        )
    return best


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                return 0.0
            return q if math.isfinite(q) else 0.0
    return 1.0


async def read_body(receive: Receive, *, limit: int, timeout_s: float) -> bytes:
    """Return the whole request body, read within ``limit`` bytes and ``timeout_s`` seconds.

    Raises TransportError 413 (too long), 408 (too slow), ClientGone (hung up).
    """
    chunks: list[bytes] = []
    size, more = 0, True
    # one deadline for the whole body: a timer cancelling this task, as asyncio.timeout
    # does, without its context manager (12 against 4 us a request, most of a small one's
    # reading; bench/RESULTS.md)
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = asyncio.get_running_loop().call_later(timeout_s, expire)
    try:
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise TransportError(413, f"The request body is larger than {limit} bytes.")
            chunks.append(chunk)
            more = message.get("more_body", False)
    except asyncio.CancelledError:
        if expired and task.uncancel() == 0:  # our timer's, not a cancellation from outside
            raise TransportError(
                408, f"The request body did not arrive within {timeout_s:g} s."
            ) from None
        raise
    finally:
        timer.cancel()
    return b"".join(chunks)


def parse_get(query_string: bytes) -> GraphQLParams:
    """Return the operation of a GET request's query string."""
    if b"%00" in query_string or b"\x00" in query_string:
        raise TransportError(400, NUL_MESSAGE)
    try:
        params = dict(parse_qsl(query_string.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise TransportError(400, "The query string is not valid UTF-8.") from None
    return params_of(
        {
            "query": params.get("query"),
            "operationName": params.get("operationName") or None,
            "variables": _json_field(params, "variables"),
            "extensions": _json_field(params, "extensions"),
        }
    )


def _json_field(params: dict[str, str], name: str) -> Any:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise TransportError(400, f"'{name}' is not valid JSON: {error}") from None


def parse_json(body: bytes) -> GraphQLParams:
    """Return the operation of a JSON request body."""
    if b"\\u0000" in body or b"\x00" in body:
        raise TransportError(400, NUL_MESSAGE)
    try:
        payload = orjson.loads(body)  # refuses invalid UTF-8, lone surrogates, depth > 1024
    except orjson.JSONDecodeError as error:
        raise TransportError(400, f"The body is not valid JSON: {error}") from None
    return params_of(payload)


def params_of(payload: Any) -> GraphQLParams:
    """Return the operation of a decoded request body (a JSON object)."""
    if isinstance(payload, list):
        raise TransportError(400, "Batching is not enabled: send one operation per request.")
    if not isinstance(payload, dict):
        raise TransportError(400, "The body must be a JSON object with a 'query'.")
    query, variables = payload.get("query"), payload.get("variables")
    operation_name, extensions = payload.get("operationName"), payload.get("extensions")
    for name, value, kind in (
        ("query", query, str),
        ("variables", variables, dict),
        ("operationName", operation_name, str),
        ("extensions", extensions, dict),
    ):
        if value is not None and not isinstance(value, kind):
            what = "a string" if kind is str else "an object"
            raise TransportError(400, f"'{name}' must be {what} or null.")
    return GraphQLParams(query, variables, operation_name, extensions)


def error_body(message: str, code: ErrorCode, **extensions: Any) -> dict[str, Any]:
    """Return a GraphQL response body holding one request error."""
    return {"errors": [{"message": message, "extensions": {"code": code.value, **extensions}}]}


def check_preflight(scope: Scope) -> None:
    """Refuse a multipart request without a header that only a preflighted request can carry."""
    if not any(name.lower() in PREFLIGHT_HEADERS for name, _ in scope.get("headers", [])):
        raise TransportError(400, NO_PREFLIGHT)


async def read_operation(
    scope: Scope,
    receive: Receive,
    headers: RequestHeaders,
    *,
    body_timeout_s: float,
    multipart: Callable[[Scope, bytes], Awaitable[GraphQLParams]],
) -> tuple[GraphQLParams, bytes]:
    """Return the request's operation and its raw body: from the query string (GET), a JSON
    body or a multipart upload (POST), each body within its size and time limits.
    ``multipart`` parses an upload (app/uploads.py, which builds on this module).
    """
    method = scope["method"]
    if method == "GET":
        return parse_get(scope.get("query_string", b"")), b""
    if method != "POST":
        message = "GraphQL is served over GET (queries) and POST."
        raise TransportError(405, message, headers={"allow": "GET, POST"})
    media = headers.get(b"content-type", "").partition(";")[0].strip().lower()
    if media == "application/json":
        limit = MAX_JSON_BODY
    elif media == "multipart/form-data":
        check_preflight(scope)
        limit = MAX_MULTIPART_BYTES
    else:
        message = "Send the operation as application/json (multipart/form-data for uploads)."
        raise TransportError(415, message)
    try:  # the Content-Length the client declared, if it is a number
        declared = int(headers.get(b"content-length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise TransportError(413, f"The request body is larger than {limit} bytes.")
    body = await read_body(receive, limit=limit, timeout_s=body_timeout_s)
    if media == "application/json":
        return parse_json(body), body
    return await multipart(scope, body), body
