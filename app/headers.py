"""The request headers as the app reads them: the first value of each, decoded as latin-1."""

from dataclasses import dataclass, fields

from starlette.types import Scope


@dataclass(slots=True)
class RequestHeaders:
    """The request headers the endpoint reads: the first value of each, decoded as latin-1."""

    accept: str | None = None
    authorization: str | None = None
    content_length: str | None = None
    content_type: str | None = None
    idempotency_key: str | None = None


# RequestHeaders' fields by the names of their headers (in lower case, as ASGI gives them)
_FIELDS = {f.name.replace("_", "-").encode(): f.name for f in fields(RequestHeaders)}


def request_headers(scope: Scope) -> RequestHeaders:
    """Return the headers the endpoint reads, in one pass (not a :func:`header` scan each)."""
    found: dict[str, str] = {}
    for name, value in reversed(scope.get("headers", [])):  # the first of a repeated one wins
        if name in _FIELDS:
            found[_FIELDS[name]] = value.decode("latin-1")
    return RequestHeaders(**found)


def header(scope: Scope, name: bytes) -> str | None:
    """Return the first value of header ``name`` (lower case), decoded as latin-1."""
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None
