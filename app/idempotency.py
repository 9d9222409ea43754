"""Safe retries of mutations: the Idempotency-Key header (Stripe semantics, IETF draft).

Same key, same request: the stored response is replayed and nothing runs again. Same
key, different request: 422 CONFLICT. Same key while the first is still running: 409
CONFLICT. Keys are scoped per business and credential and kept 24 hours. The response is
stored in the same transaction as the mutation's writes, so both happen or neither.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.bodies import read_capped, replay
from app.uploads import MAX_MULTIPART_BYTES
from db import idempotency
from db.engine import RequestDb
from resolvers.context import Principal
from resolvers.errors import ErrorCode

MAX_KEY_LENGTH = 255
log = logging.getLogger("expensegraph.idempotency")


@dataclass(frozen=True)
class Retry:
    """A mutation request carrying an Idempotency-Key."""

    key: str
    request_hash: str


def _error(message: str, code: ErrorCode, status: int) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code.value}}]}
    return JSONResponse(body, status_code=status)


def _is_mutation(query: Any, operation_name: Any) -> bool:
    if not isinstance(query, str):
        return False
    try:
        operation = get_operation_ast(
            parse(query), operation_name if isinstance(operation_name, str) else None
        )
    except GraphQLError:
        return False  # strawberry reports the syntax error itself
    return operation is not None and operation.operation is OperationType.MUTATION


def request_hash(content_type: str, body: bytes) -> tuple[str, bool] | None:
    """Return (hash of the request, is it a mutation), or None if the body is not GraphQL."""
    if content_type.startswith("multipart/form-data"):
        # uploads are mutations; a retry uses a new random boundary, so hash without it
        boundary = content_type.partition("boundary=")[2].strip('"').encode()
        normalised = body.replace(boundary, b"BOUNDARY") if boundary else body
        return hashlib.sha256(normalised).hexdigest(), True
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    parts = [payload.get("query"), payload.get("variables") or {}, payload.get("operationName")]
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest(), _is_mutation(parts[0], parts[2])


async def run(
    view: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    db: RequestDb,
    principal: Principal,
    key: str,
) -> None:
    """Serve one request that carries an Idempotency-Key."""
    request = Request(scope, receive)
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        await _error(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            ErrorCode.BAD_USER_INPUT,
            400,
        )(scope, receive, send)
        return
    body = await read_capped(receive, MAX_MULTIPART_BYTES)
    if body is None:
        await _error(
            f"The request body is larger than {MAX_MULTIPART_BYTES} bytes.",
            ErrorCode.BAD_USER_INPUT,
            413,
        )(scope, receive, send)
        return
    hashed = request_hash(request.headers.get("content-type", ""), body)
    replayable = replay(body, receive)
    if hashed is None or not hashed[1]:
        await view(scope, replayable, send)  # queries are idempotent anyway: the key is ignored
        return
    response = await _serve(
        view, scope, replayable, db=db, principal=principal, retry=Retry(key, hashed[0])
    )
    await response(scope, receive, send)


async def _serve(
    view: ASGIApp,
    scope: Scope,
    receive: Receive,
    *,
    db: RequestDb,
    principal: Principal,
    retry: Retry,
) -> Response:
    key = idempotency.KeyScope(principal.business_id, principal.label, retry.key)
    await db.begin_write()
    db.hold_commit = True
    if not await idempotency.try_lock(db=db, scope=key):
        return _error(
            "A request with this Idempotency-Key is still in progress; retry later.",
            ErrorCode.CONFLICT,
            409,
        )
    previous = await idempotency.stored(db=db, scope=key)
    if previous is not None:
        if previous.request_hash != retry.request_hash:
            return _error(
                "This Idempotency-Key was used for a different request.", ErrorCode.CONFLICT, 422
            )
        stored = previous.response
        return JSONResponse(
            stored["body"], status_code=stored["status"], headers={"Idempotent-Replayed": "true"}
        )
    status, headers, raw = await _capture(view, scope, receive)
    body = json.loads(raw) if raw else None
    if status == 200 and isinstance(body, dict) and body.get("data") is not None:
        await idempotency.store(
            db=db,
            scope=key,
            request_hash=retry.request_hash,
            response={"status": status, "body": body},
        )
    try:
        await db.commit()
    except Exception:
        log.exception("commit failed for an idempotent request")
        return _error(
            "The change could not be saved; retry with the same key.", ErrorCode.UNAVAILABLE, 503
        )
    return Response(raw, status_code=status, headers=headers)


async def _capture(
    view: ASGIApp, scope: Scope, receive: Receive
) -> tuple[int, dict[str, str], bytes]:
    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    await view(scope, receive, keep)
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = {
        k.decode("latin-1"): v.decode("latin-1")
        for k, v in start.get("headers", [])
        if k.lower() != b"content-length"
    }
    raw = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return int(start["status"]), headers, raw
