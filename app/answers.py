"""The HTTP answer to a GraphQL request: its status for the media type, headers, sending it.

With application/graphql-response+json a request that fails before execution is a 4xx or
5xx without ``data``; legacy application/json clients get 200 for every well-formed
request, except 401 (credential) and 503 (database).
"""

import math
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.types import Send
from strawberry.types import ExecutionResult

from app.errors import ensure_codes, unavailable_body
from app.transport import GRAPHQL_RESPONSE_JSON, LEGACY_JSON, TransportError, error_body
from db.engine import ConnectionLost
from resolvers.errors import ErrorCode

# application/graphql-response+json: a request that fails before execution gets a 4xx/5xx
REQUEST_ERROR_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
}
# application/json (legacy clients): 200 for every well-formed request, except these
LEGACY_REQUEST_ERROR_STATUS = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.UNAVAILABLE: 503}
WWW_AUTHENTICATE = 'Bearer realm="expensegraph"'
# raw response headers (name, value), as ASGI sends them
Headers = tuple[tuple[bytes, bytes], ...]


@dataclass
class Answer:
    """An HTTP answer to a GraphQL request, before it is sent."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    """Return an answer with ``body`` encoded as JSON."""
    return Answer(status, orjson.dumps(body), headers or {})


def not_saved(error: Exception, result: ExecutionResult, context: Any, media: str) -> Answer:
    """Return the answer to a request whose writes could not be committed."""
    unavailable = ErrorCode.UNAVAILABLE.value
    if any((e.extensions or {}).get("code") == unavailable for e in result.errors or []):
        # the connection broke during execution; the commit only found out
        error = ConnectionLost("the connection was lost before the commit")
    failed = GraphQLError("commit failed", path=["commit"], original_error=error)
    errors = ensure_codes([failed], context.request_id)  # UNAVAILABLE, or INTERNAL and logged
    code = code_of((errors[0].extensions or {}).get("code"))
    context.report["codes"] = [code.value]
    message = "Nothing was saved. " + errors[0].message
    status = 503 if code is ErrorCode.UNAVAILABLE else 500
    headers = {"content-type": media, "retry-after": "1"} if status == 503 else {}
    return answer(status, error_body(message, code, requestId=context.request_id), headers)


def result_answer(result: ExecutionResult, context: Any, media: str) -> Answer:
    """Return the answer to an executed operation, its status as the media type wants."""
    errors: list[GraphQLError] = []
    codes: list[Any] = []
    if result.errors:  # most answers have none: nothing to code, mask, log or report
        errors = ensure_codes(result.errors, context.request_id)
        codes = context.report["codes"] = [(e.extensions or {}).get("code") for e in errors]
    # no data and no error at a path: the request failed before execution
    request_error = bool(errors) and result.data is None and all(e.path is None for e in errors)
    body: dict[str, Any] = {}
    if not (request_error and media == GRAPHQL_RESPONSE_JSON):
        body["data"] = result.data
    if errors:
        body["errors"] = [e.formatted for e in errors]
    if result.extensions:
        body["extensions"] = result.extensions
    status = status_of(code_of(codes[0]), media) if request_error else 200
    return answer(status, body, headers_of(media, status, errors))


def code_of(value: object) -> ErrorCode:
    try:
        return ErrorCode(str(value))
    except ValueError:
        return ErrorCode.BAD_USER_INPUT


def status_of(code: ErrorCode, media: str) -> int:
    if media == GRAPHQL_RESPONSE_JSON:
        return REQUEST_ERROR_STATUS.get(code, 400)
    return LEGACY_REQUEST_ERROR_STATUS.get(code, 200)


def headers_of(media: str, status: int, errors: list[GraphQLError]) -> dict[str, str]:
    headers = {"content-type": media, "cache-control": "no-store"}
    if status == 401:
        headers["www-authenticate"] = WWW_AUTHENTICATE
    retry_after = _retry_after(errors) if errors else None
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return headers


def _retry_after(errors: list[GraphQLError]) -> str | None:
    """Return the seconds to wait before retrying (a rate limit's wait, 1 when unavailable)."""
    waits = [
        (e.extensions or {}).get("retryAfterSeconds")
        for e in errors
        if (e.extensions or {}).get("code") == ErrorCode.RATE_LIMITED.value
    ]
    if waits:
        return str(max(1, math.ceil(max(w or 1 for w in waits))))
    if any((e.extensions or {}).get("code") == ErrorCode.UNAVAILABLE.value for e in errors):
        return "1"
    return None


def request_error(message: str, code: ErrorCode, media: str) -> Answer:
    """Return the answer to a request refused before execution with a GraphQL error."""
    body = error_body(message, code)
    if media != GRAPHQL_RESPONSE_JSON:
        body = {"data": None, **body}
    status = status_of(code, media)
    return answer(status, body, headers_of(media, status, []))


def transport_answer(error: TransportError, media: str) -> Answer:
    body = error_body(error.message, error.code)
    headers = {"content-type": media, "cache-control": "no-store", **error.headers}
    if error.status == 401:
        headers.setdefault("www-authenticate", WWW_AUTHENTICATE)
    return answer(error.status, body, headers)


def unavailable(request_id: str) -> Answer:
    """Return the 503 UNAVAILABLE answer of a request the service cannot serve now."""
    return answer(503, unavailable_body(request_id), {"retry-after": "1"})


async def send_answer(send: Send, result: Answer, edge: Headers = ()) -> None:
    """Send ``result``, its headers followed by the ``edge`` ones (app/http.py same_origin)."""
    result.headers.setdefault("content-type", LEGACY_JSON)
    result.headers.setdefault("cache-control", "no-store")
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in result.headers.items()]
    headers += ((b"content-length", b"%d" % len(result.body)), *edge)
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": result.body})
