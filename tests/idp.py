"""A real OpenID Connect identity provider on 127.0.0.1 for tests, and keys that sign for it.

An ``http.server`` in a thread serves a discovery document and a JWKS of keys made in the
test; it counts the requests it gets.
"""

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization


class FakeIdp:
    """An identity provider on 127.0.0.1: discovery at the usual path, the JWKS at /jwks."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.requests: Counter[str] = Counter()
        self.mode = "up"  # "down": HTTP 503; "hang": answers after 2 s
        self.discovery_issuer: str | None = None  # another issuer in its discovery document
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        # a short poll: shutdown() waits for it, once per test
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with idp._lock:
                    idp.requests[self.path] += 1
                if idp.mode == "down":
                    return self._send(503, {"error": "down"})
                if idp.mode == "hang":
                    time.sleep(2)
                if self.path == "/.well-known/openid-configuration":
                    issuer = idp.discovery_issuer or idp.issuer
                    return self._send(200, {"issuer": issuer, "jwks_uri": idp.issuer + "/jwks"})
                if self.path == "/jwks":
                    return self._send(200, {"keys": idp.keys})
                return self._send(404, {})

            def _send(self, status: int, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the client gave up (the hang test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    @property
    def jwks_fetches(self) -> int:
        return self.requests["/jwks"]


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        jwk = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid, **header}
        )
