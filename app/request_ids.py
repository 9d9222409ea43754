"""Request ids: the client's X-Request-Id when it is plain, else a new one; echoed always."""

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.transport import header

# the request id a client may choose: short and plain, as it goes into logs and headers
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
REQUEST_ID_KEY = "expensegraph.request_id"


class RequestIds:
    """Give every request an id (the client's X-Request-Id if plain, else a new one); echo it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope[REQUEST_ID_KEY] = request_id

        async def echoing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, echoing)
