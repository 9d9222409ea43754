"""Safe retries of mutations: the Idempotency-Key header (Stripe semantics, IETF draft).

Same key, same request: the stored response is replayed byte for byte and nothing runs
again. Same key, different request: 422 CONFLICT. Same key while the first is still
running: 409 CONFLICT. Keys belong to one business and one credential and are kept 24 hours.

Only final outcomes are stored: a success, or business-rule failures in ``userErrors``.
The response is stored in the same transaction as the mutation's writes, so both happen or
neither; an attempt that ends in a top-level error (UNAVAILABLE, INTERNAL, bad input) rolls
its writes back and stores nothing, so the retry the error asks for really runs.
"""

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from graphql import GraphQLError, OperationType, get_operation_ast, parse

from app.answers import Answer, answer
from app.errors import UNAVAILABLE_MESSAGE
from app.transport import GraphQLParams, error_body
from db.engine import RequestDb
from db.writes import idempotency
from resolvers.context import Principal
from resolvers.errors import ErrorCode
from schema.error_log import EXCEPTION_LIMIT, bounded

MAX_KEY_LENGTH = 255
log = logging.getLogger("expensegraph.idempotency")


def check_key(key: str) -> Answer | None:
    """Return the 400 answer for a malformed Idempotency-Key, None for a usable one."""
    if 1 <= len(key) <= MAX_KEY_LENGTH and key.isprintable():
        return None
    message = f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters."
    return answer(400, error_body(message, ErrorCode.BAD_USER_INPUT))


def is_mutation(params: GraphQLParams) -> bool:
    """Return True when the operation the request runs is a mutation."""
    if params.query is None:
        return False
    try:
        operation = get_operation_ast(parse(params.query), params.operation_name)
    except GraphQLError:
        return False  # the executor reports the syntax error itself
    return operation is not None and operation.operation is OperationType.MUTATION


def request_hash(params: GraphQLParams, content_type: str, body: bytes) -> str:
    """Return the hash that tells a retry of the same request from a different one."""
    if content_type.startswith("multipart/form-data"):
        # a retry uses a new random boundary, so hash without it
        boundary = content_type.partition("boundary=")[2].strip('"').encode()
        return hashlib.sha256(body.replace(boundary, b"BOUNDARY") if boundary else body).hexdigest()
    parts = [params.query, params.variables or {}, params.operation_name]
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def run(
    execute: Callable[[], Awaitable[Answer]],
    *,
    key: str,
    request_hash: str,
    db: RequestDb,
    principal: Principal,
) -> Answer:
    """Return the answer to a mutation sent with ``key``: replayed, refused or run once."""
    key_id = idempotency.KeyId(principal.business_id, principal.label, key)
    await db.begin_write()
    db.hold_commit = True
    if not await idempotency.try_lock(db=db, key_id=key_id):
        message = "A request with this Idempotency-Key is still in progress; retry later."
        return answer(409, error_body(message, ErrorCode.CONFLICT))
    previous = await idempotency.stored(db=db, key_id=key_id)
    if previous is not None and previous.response is not None:  # store() always sets it
        if previous.request_hash != request_hash:
            message = "This Idempotency-Key was used for a different request."
            return answer(422, error_body(message, ErrorCode.CONFLICT))
        return _replayed(previous.response)
    result = await execute()
    body = orjson.loads(result.body) if result.body else {}
    data = body.get("data") if isinstance(body, dict) else None
    if result.status != 200 or data is None or body.get("errors"):
        # not a final outcome: nothing of this attempt is kept (close() rolls back), the key
        # stays free; an answer that reports a mutation done would now be untrue
        claims_writes = isinstance(data, dict) and any(v is not None for v in data.values())
        return _not_saved() if claims_writes else result
    stored = {
        "status": result.status,
        "raw": result.body.decode(),
        "contentType": result.headers.get("content-type"),
    }
    await idempotency.store(db=db, key_id=key_id, request_hash=request_hash, response=stored)
    try:
        await db.commit()
    except Exception as error:
        detail = bounded(repr(error), EXCEPTION_LIMIT)  # it may quote the stored response
        log.warning("commit failed for an idempotent request: %s", detail)
        return _not_saved()
    return result


def _not_saved() -> Answer:
    message = f"Nothing was saved. {UNAVAILABLE_MESSAGE} Retry with the same Idempotency-Key."
    body = error_body(message, ErrorCode.UNAVAILABLE)
    return answer(503, body, {"retry-after": "1"})


def _replayed(stored: dict[str, Any]) -> Answer:
    headers = {"idempotent-replayed": "true"}
    if stored.get("contentType"):
        headers["content-type"] = stored["contentType"]
    if "raw" in stored:
        return Answer(int(stored["status"]), stored["raw"].encode(), headers)
    # stored before responses were kept as bytes: the JSON document, keys reordered
    return Answer(int(stored["status"]), orjson.dumps(stored["body"]), headers)
