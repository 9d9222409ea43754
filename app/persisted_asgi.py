"""The adapter from a raw ASGI request to :func:`app.persisted.apply` (until app/http.py parses).

It reads the request the way strawberry's view will (the first Content-Type header,
``"application/json" in`` its media type, the last of repeated parameters), so what is
checked here is what runs. In persisted-only mode every request is checked and the
checked parameters are what the view receives.
"""

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope
from strawberry.http.parse_content_type import parse_content_type

from app.bodies import read_capped, replay
from app.uploads import MAX_MULTIPART_BYTES
from resolvers.errors import DomainError, ErrorCode

if TYPE_CHECKING:
    from app.persisted import Persisted

MAX_JSON_BODY = 1024 * 1024
# PostgreSQL text cannot hold NUL; refusing it up front keeps it from reaching a query
NUL_MESSAGE = "Text may not contain NUL (\\u0000) characters."


def _error(message: str, code: ErrorCode, status: int = 200) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code.value}}]}
    return JSONResponse(body, status_code=status)


async def rewrite(
    scope: Scope, receive: Receive, persisted: "Persisted", *, authenticated: bool
) -> tuple[Scope, Receive] | Response:
    """Return the request with its persisted query filled in, or the error response.

    JSON bodies are read here (at most 1 MiB) and replayed to the GraphQL view.
    """
    try:
        if scope["method"] == "GET":
            return await _get(scope, persisted, authenticated=authenticated), receive
        media_type, _ = parse_content_type(Headers(scope=scope).get("content-type") or "")
        if "application/json" in media_type:
            return await _json(scope, receive, persisted, authenticated=authenticated)
        if not persisted.persisted_only:
            return scope, receive
        if media_type == "multipart/form-data":
            return await _multipart(scope, receive, persisted, authenticated=authenticated)
        return _error("Unsupported content type.", ErrorCode.BAD_USER_INPUT, 400)
    except DomainError as error:
        return _error(error.message, error.code)
    except ValueError:
        return _error("The body is not valid JSON.", ErrorCode.BAD_USER_INPUT, 400)


async def _get(scope: Scope, persisted: "Persisted", *, authenticated: bool) -> Scope:
    query_string: bytes = scope.get("query_string", b"")
    if b"%00" in query_string:
        raise DomainError(ErrorCode.BAD_USER_INPUT, NUL_MESSAGE)
    if not persisted.persisted_only and b"persistedQuery" not in query_string:
        return scope
    params: dict[str, Any] = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    before = params.get("query")
    await persisted.apply(params, authenticated=authenticated)
    if params.get("query") is before and not persisted.persisted_only:
        return scope
    return {**scope, "query_string": urlencode(params).encode("latin-1")}


async def _json(
    scope: Scope, receive: Receive, persisted: "Persisted", *, authenticated: bool
) -> tuple[Scope, Receive] | Response:
    body = await read_capped(receive, MAX_JSON_BODY)
    if body is None:
        return _error(
            f"JSON bodies are at most {MAX_JSON_BODY} bytes.", ErrorCode.BAD_USER_INPUT, 413
        )
    if b"\\u0000" in body or b"\x00" in body:
        return _error(NUL_MESSAGE, ErrorCode.BAD_USER_INPUT, 400)
    if not persisted.persisted_only and b"persistedQuery" not in body:
        return scope, replay(body, receive)
    params = json.loads(body)
    if not isinstance(params, dict):
        if persisted.persisted_only:
            raise DomainError(ErrorCode.BAD_USER_INPUT, "Send one operation, as a JSON object.")
        return scope, replay(body, receive)
    before = params.get("query")
    await persisted.apply(params, authenticated=authenticated)
    if params.get("query") is not before or persisted.persisted_only:
        body = json.dumps(params).encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
    return scope, replay(body, receive)


async def _multipart(
    scope: Scope, receive: Receive, persisted: "Persisted", *, authenticated: bool
) -> tuple[Scope, Receive] | Response:
    # persisted-only mode: the upload's operation must be a registered one too
    body = await read_capped(receive, MAX_MULTIPART_BYTES)
    if body is None:
        return _error(
            f"The request body is larger than {MAX_MULTIPART_BYTES} bytes.",
            ErrorCode.BAD_USER_INPUT,
            413,
        )
    try:
        form = await Request(scope, replay(body, receive)).form()
    except (MultiPartException, HTTPException):
        return _error("Unable to parse the multipart body.", ErrorCode.BAD_USER_INPUT, 400)
    try:
        operations = form.get("operations")
    finally:
        await form.close()
    params = json.loads(operations) if isinstance(operations, str) else None
    if not isinstance(params, dict):
        raise DomainError(
            ErrorCode.BAD_USER_INPUT, "The multipart 'operations' must be one JSON object."
        )
    before = params.get("query")
    await persisted.apply(params, authenticated=authenticated)
    if params.get("query") is not before:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT, "Send the query text with an upload, not only its hash."
        )
    return scope, replay(body, receive)
