"""Reading a request's GraphQL operation: from the query string (GET), a JSON body or a
multipart upload (POST), each body within its size and time limits."""

from starlette.types import Receive, Scope

from app.transport import (
    MAX_JSON_BODY,
    GraphQLParams,
    TransportError,
    declared_length,
    header,
    parse_get,
    parse_json,
    read_body,
)
from app.uploads import MAX_MULTIPART_BYTES, check_preflight, parse_multipart


async def read_operation(
    scope: Scope, receive: Receive, *, body_timeout_s: float
) -> tuple[GraphQLParams, str, bytes]:
    """Return the request's operation, its content type and its raw body."""
    method = scope["method"]
    if method == "GET":
        return parse_get(scope.get("query_string", b"")), "", b""
    if method != "POST":
        message = "GraphQL is served over GET (queries) and POST."
        raise TransportError(405, message, headers={"allow": "GET, POST"})
    content_type = header(scope, b"content-type") or ""
    media = content_type.partition(";")[0].strip().lower()
    if media == "application/json":
        limit = MAX_JSON_BODY
    elif media == "multipart/form-data":
        check_preflight(scope)
        limit = MAX_MULTIPART_BYTES
    else:
        message = "Send the operation as application/json (multipart/form-data for uploads)."
        raise TransportError(415, message)
    declared = declared_length(scope)
    if declared is not None and declared > limit:
        raise TransportError(413, f"The request body is larger than {limit} bytes.")
    body = await read_body(receive, limit=limit, timeout_s=body_timeout_s)
    if media == "application/json":
        return parse_json(body), content_type, body
    return await parse_multipart(scope, body), content_type, body
