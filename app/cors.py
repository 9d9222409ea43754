"""CORS for dashboards on other origins: Starlette's middleware, configured for this API."""

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Send

from resolvers.errors import ErrorCode

# the request headers the API reads, and the response headers a browser script may see
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "GraphQL-Preflight",
                   "X-Request-Id", "Apollo-Require-Preflight")  # fmt: skip
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After", "Idempotent-Replayed")
# how long a browser may reuse a preflight answer
PREFLIGHT_MAX_AGE_S = 600


class JSONCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware whose refused preflights are JSON error bodies."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = bytes(response.body).decode()
        body = {"errors": [{"message": reason, "extensions": {"code": ErrorCode.FORBIDDEN.value}}]}
        return JSONResponse(body, status_code=response.status_code, headers=_vary(response))


def _vary(response: Response) -> dict[str, str]:
    return {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-type", "content-length")
    }


def cors_middleware(origins: tuple[str, ...]) -> list[Middleware]:
    """Return the CORS middleware for ``origins`` (none: every cross-origin preflight refused)."""
    return [
        Middleware(
            JSONCORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=list(EXPOSED_HEADERS),
            max_age=PREFLIGHT_MAX_AGE_S,
        )
    ]


def vary_origin(send: Send) -> Send:
    """Return ``send`` adding ``Vary: Origin``, what the CORS middleware adds without one."""

    async def varying(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            vary = [v for k, v in headers if k.lower() == b"vary"]
            headers = [(k, v) for k, v in headers if k.lower() != b"vary"]
            headers.append((b"vary", b", ".join([*vary, b"Origin"])))
            message = {**message, "headers": headers}
        await send(message)

    return varying
