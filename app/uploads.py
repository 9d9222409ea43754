"""The GraphQL multipart request spec, hardened: every malformed part is a 400, never a 500.

A file may only stand in for a variable (or an item or field inside one), named by a
checked ``map``; the body was already read within its size and time limits.
"""

import re
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message, Receive, Scope
from strawberry.file_uploads.utils import replace_placeholders_with_files

from app.transport import GraphQLParams, TransportError, params_of

# batching is off: a file can only stand in for a variable, or an item or field inside one
_PATH = re.compile(r"variables(\.[A-Za-z_][A-Za-z0-9_]*|\.[0-9]{1,4})+")
MAX_PARTS = 20


async def parse_multipart(scope: Scope, body: bytes) -> GraphQLParams:
    """Return the operation of a multipart request, its files put in place of their variables."""
    request = Request(scope, replayed(body))
    try:
        form = await request.form(max_files=MAX_PARTS, max_fields=MAX_PARTS)
    except (MultiPartException, HTTPException, ValueError, KeyError) as error:
        # Starlette raises HTTPException instead of MultiPartException inside an app
        raise TransportError(400, "Unable to parse the multipart body.") from error
    uploads = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
    try:
        files = {k: v for k, v in form.multi_items() if isinstance(v, UploadFile)}
        operations = _json(_text_field(form, "operations"), "operations")
        files_map = _json(_text_field(form, "map"), "map")
        if not isinstance(operations, dict):
            raise TransportError(400, "The multipart 'operations' must be one JSON object.")
        checked = check_map(files_map, files)
        try:
            filled = replace_placeholders_with_files(operations, checked, files)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise TransportError(
                400, "The multipart 'map' names a path not in 'operations'."
            ) from e
        params = params_of(filled)
    except BaseException:
        for upload in uploads:
            await upload.close()
        raise
    params.files = uploads
    return params


def check_map(files_map: object, files: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return the map if it is an object of uploaded file names to lists of variable paths."""
    if not isinstance(files_map, dict):
        raise TransportError(400, "The multipart 'map' must be a JSON object.")
    for name, paths in files_map.items():
        if (
            not isinstance(paths, list)
            or not paths
            or not all(isinstance(p, str) and _PATH.fullmatch(p) for p in paths)
        ):
            raise TransportError(
                400, "Each multipart 'map' entry must be a list of 'variables.…' paths."
            )
        if name not in files:
            raise TransportError(400, "File(s) missing in form data")
    return files_map


def _json(text: str, name: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise TransportError(400, f"The multipart '{name}' is not valid JSON.") from None


def _text_field(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        raise TransportError(400, f"The multipart request needs a '{name}' text field.")
    return value


def replayed(body: bytes) -> Receive:
    """Return a receive channel that yields ``body`` as one message, then a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
