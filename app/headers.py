"""The request headers as the app reads them: the first value of each, decoded as latin-1."""

from starlette.types import Scope

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
