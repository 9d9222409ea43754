"""The GraphQL multipart request spec, hardened: bad input is a 400, oversized bodies a 413.

Strawberry applies the multipart ``map`` without checking it, so a map that is not an
object of file names to lists of ``variables.*`` paths raised inside the view and gave
HTTP 500 (SECURITY-NOTES 4). Bodies are also capped while they stream in, so a huge
upload is refused before it is spooled to disk in full.
"""

import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.datastructures import UploadFile
from starlette.responses import PlainTextResponse
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.file_uploads.utils import replace_placeholders_with_files

from resolvers.context import Context
from resolvers.receipt_files import MAX_RECEIPT_BYTES

# one receipt plus room for `operations`, `map` and the multipart framing
MAX_MULTIPART_BYTES = MAX_RECEIPT_BYTES + 1024 * 1024
# batching is off: a file can only stand in for a variable, or an item or field inside one
_PATH = re.compile(r"variables(\.[A-Za-z_][A-Za-z0-9_]*|\.[0-9]{1,4})+")
_TOO_LARGE = f"The request body is larger than {MAX_MULTIPART_BYTES} bytes."
# the parts of the current request, closed when it ends (strawberry leaves them open)
_parts: ContextVar[list[UploadFile] | None] = ContextVar("multipart_parts", default=None)


class BodyTooLarge(Exception):
    """The request body grew past the multipart limit while it was read."""


# A browser sends a cross-site multipart form without preflight; it cannot add a custom
# header without one. Requiring one of these stops cross-site request forgery (the
# headers Apollo's CSRF prevention accepts).
PREFLIGHT_HEADERS = (b"apollo-require-preflight", b"x-apollo-operation-name", b"graphql-preflight")
_NO_PREFLIGHT = (
    "Multipart requests need a 'GraphQL-Preflight: 1' (or 'Apollo-Require-Preflight') header, "
    "which browsers cannot send cross-site without a CORS preflight."
)


def _has_preflight_header(scope: Scope) -> bool:
    return any(name.lower() in PREFLIGHT_HEADERS for name, _ in scope.get("headers", []))


class MultipartView(GraphQL[Context, None]):
    """Strawberry's ASGI view with a checked multipart ``map`` and a capped body."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_multipart(scope):
            if not _has_preflight_header(scope):
                await PlainTextResponse(_NO_PREFLIGHT, status_code=400)(scope, receive, send)
                return
            declared = _content_length(scope)
            if declared is not None and declared > MAX_MULTIPART_BYTES:
                await PlainTextResponse(_TOO_LARGE, status_code=413)(scope, receive, send)
                return
            receive = _capped(receive, MAX_MULTIPART_BYTES)
        parts: list[UploadFile] = []
        token = _parts.set(parts)
        try:
            await super().__call__(scope, receive, send)
        finally:
            _parts.reset(token)
            for part in parts:
                await part.close()  # spooled temp files: release the descriptor now

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        try:
            form_data = await request.get_form_data()
        except BodyTooLarge:
            raise HTTPException(413, _TOO_LARGE) from None
        except ValueError as e:
            raise HTTPException(400, "Unable to parse the multipart body") from e
        # Starlette's form holds text fields and files alike; only files may fill the map
        files = {k: v for k, v in _items(form_data.files) if isinstance(v, UploadFile)}
        parts = _parts.get()
        if parts is not None:
            parts.extend(v for _, v in _items(form_data.files) if isinstance(v, UploadFile))
        operations = self.parse_json(_text_field(form_data.form, "operations"))
        files_map = self.parse_json(_text_field(form_data.form, "map"))
        if not isinstance(operations, dict):
            raise HTTPException(400, "The multipart 'operations' must be one JSON object.")
        checked = check_map(files_map, files)
        try:
            return replace_placeholders_with_files(operations, checked, files)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise HTTPException(400, "The multipart 'map' names a path not in 'operations'.") from e


def check_map(files_map: object, files: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return the map if it is an object of uploaded file names to lists of variable paths."""
    if not isinstance(files_map, dict):
        raise HTTPException(400, "The multipart 'map' must be a JSON object.")
    for name, paths in files_map.items():
        if (
            not isinstance(paths, list)
            or not paths
            or not all(isinstance(p, str) and _PATH.fullmatch(p) for p in paths)
        ):
            raise HTTPException(
                400, "Each multipart 'map' entry must be a list of 'variables.…' paths."
            )
        if name not in files:
            raise HTTPException(400, "File(s) missing in form data")
    return files_map


def _items(form: Mapping[str, Any]) -> list[tuple[str, Any]]:
    multi_items = getattr(form, "multi_items", None)  # every value of a repeated name
    return list(multi_items()) if multi_items else list(form.items())


def _text_field(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        raise HTTPException(400, f"The multipart request needs a '{name}' text field.")
    return value


def _is_multipart(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-type":
            return bool(value.lower().startswith(b"multipart/"))
    return False


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _capped(receive: Receive, limit: int) -> Receive:
    received = 0

    async def capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
        return message

    return capped
