"""Webhook delivery: the change feed sent to endpoints, signed, retried, never to inside.

The worker calls :func:`tick` every second (app/worker.py). A tick turns the events each
enabled endpoint has not seen into deliveries (db/writes/webhooks.py ``dispatch``, which reads the
feed the way ``Query.events`` does, so no committed event is skipped), then attempts the
deliveries that are due:

- **Signed** per the Standard Webhooks specification (the ``standardwebhooks`` package):
  ``webhook-id`` (the event's id: the same on every retry, so a receiver de-duplicates by
  it), ``webhook-timestamp``, ``webhook-signature`` (HMAC-SHA256; after a rotation, with
  the previous secret too for :data:`SECRET_OVERLAP`). The JSON body is the event as
  ``Query.events`` shows it, its feed ``cursor`` included, so a receiver can switch to
  pulling from where the pushes left it.
- **At least once**: 2xx is delivered; anything else (another status, a redirect, which is
  never followed, a timeout after ``timeout_s``, a refused address) is retried with
  exponential backoff and jitter until ``retry_for_s`` (a day) after the first attempt,
  then the delivery is FAILED. An endpoint failing for ``disable_after_s`` is disabled, with
  a ``webhook_endpoint.disabled`` event saying so.
- **Not inside**: in production only ``https`` URLs, and every address the host resolves to
  at delivery time must be public (not loopback, private, link-local (the metadata range
  169.254.0.0/16 included), reserved, multicast or unspecified). ``allow_private``
  (development and tests only) lets ``http://127.0.0.1`` through.

HTTP runs outside any transaction: a delivery is claimed (its next attempt moved past the
timeout, a lease), committed, attempted, and its outcome written in a new transaction.
"""

import asyncio
import ipaddress
import logging
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from db.engine import RequestDb, in_transaction
from db.writes import events
from db.writes import webhooks as q
from resolvers.events import actor_kind, event_global_id, object_global_id, transition_of
from resolvers.ids import encode_id
from resolvers.mutations.webhooks import SECRET_OVERLAP as SECRET_OVERLAP
from resolvers.mutations.webhooks import new_secret as new_secret
from resolvers.mutations.webhooks import public, url_refusal
from resolvers.paging import encode_cursor

log = logging.getLogger("expensegraph.webhooks")

DUE_BATCH = 50


@dataclass(frozen=True)
class WebhookSettings:
    """How deliveries are made; ``from_env`` reads EXPENSEGRAPH_WEBHOOK_*."""

    allow_private: bool = False
    timeout_s: float = 10.0
    retry_for_s: float = 24 * 3600.0
    first_retry_s: float = 5.0
    max_retry_s: float = 3600.0
    disable_after_s: float = 3 * 24 * 3600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "WebhookSettings":
        def number(name: str, default: float) -> float:
            return float(env.get(f"EXPENSEGRAPH_WEBHOOK_{name}", default))

        return cls(
            allow_private=env.get("EXPENSEGRAPH_WEBHOOK_ALLOW_PRIVATE", "") in ("1", "true"),
            timeout_s=number("TIMEOUT_SECONDS", cls.timeout_s),
            retry_for_s=number("RETRY_FOR_SECONDS", cls.retry_for_s),
            disable_after_s=number("DISABLE_AFTER_SECONDS", cls.disable_after_s),
        )

    def retry_delay(self, attempts: int, rng: random.Random = random.SystemRandom()) -> timedelta:
        """Return the wait after ``attempts`` failed attempts: doubling, capped, jittered."""
        base = min(self.first_retry_s * 2 ** (attempts - 1), self.max_retry_s)
        return timedelta(seconds=base * rng.uniform(0.5, 1.5))


async def destination_refusal(url: str, *, allow_private: bool) -> str | None:
    """Return why a delivery to ``url`` may not be made now (checked at each delivery)."""
    refusal = url_refusal(url, allow_private=allow_private)
    if refusal is not None or allow_private:
        return refusal
    parts = urlsplit(url)
    port = parts.port or 443
    try:
        found = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port)
    except OSError:
        return "The host does not resolve."
    addresses = {ipaddress.ip_address(info[4][0]) for info in found}
    if not addresses or not all(public(a) for a in addresses):
        return "The host resolves to a private address."
    return None


def event_body(row: Any) -> dict[str, Any]:
    """Return an event as a delivery carries it: as ``Query.events`` shows it."""
    move = transition_of(row)
    return {
        "id": event_global_id(row.id),
        "cursor": encode_cursor("tx", row),
        "type": row.type,
        "occurredAt": row.occurred_at.isoformat(),
        "actor": {
            "kind": actor_kind(row),
            "memberId": None
            if row.actor_member_id is None
            else encode_id("Member", row.actor_member_id),
        },
        "objectType": row.object_type,
        "objectId": object_global_id(row),
        "transition": None if move is None else {"from": move[0], "to": move[1]},
        "changedFields": list((row.data or {}).get("fields", [])),
    }


def signed_headers(endpoint: Any, msg_id: str, now: datetime, body: bytes) -> dict[str, str]:
    """Return the Standard Webhooks headers of one delivery attempt."""
    text = body.decode()
    signatures = [Webhook(endpoint.secret).sign(msg_id, now, text)]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and now < endpoint.previous_secret_until
    ):
        signatures.append(Webhook(endpoint.previous_secret).sign(msg_id, now, text))
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        "user-agent": "expensegraph-webhooks",
    }


@dataclass
class TickResult:
    """What one tick did (for the worker's log and the tests)."""

    dispatched: int = 0
    delivered: int = 0
    failed_attempts: int = 0


async def tick(
    engine: AsyncEngine, settings: WebhookSettings, *, client: httpx.AsyncClient | None = None
) -> TickResult:
    """Turn new events into deliveries, then attempt every delivery that is due."""
    result = TickResult()
    result.dispatched = await in_transaction(engine, _dispatch_all)
    claimed = await in_transaction(engine, lambda db: _claim(db, settings))
    if not claimed:
        return result
    own = client is None
    http = client or httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False)
    try:
        for delivery, endpoint, event in claimed:
            ok = await _attempt(engine, settings, http, delivery, endpoint, event)
            if ok:
                result.delivered += 1
            else:
                result.failed_attempts += 1
    finally:
        if own:
            await http.aclose()
    return result


async def _dispatch_all(db: RequestDb) -> int:
    total = 0
    for endpoint in await q.enabled_endpoints(db=db):
        locked = await q.lock_endpoint(
            db=db, business_id=endpoint.business_id, endpoint_id=endpoint.id
        )
        if locked is not None and locked.enabled:
            total += await q.dispatch(db=db, endpoint=locked)
    return total


async def _claim(db: RequestDb, settings: WebhookSettings) -> list[tuple[Any, Any, Any]]:
    """Return due deliveries with their endpoint and event, leased past the timeout (four
    statements however many are due)."""
    now = datetime.now(UTC)
    due = await q.due(db=db, now=now, limit=DUE_BATCH)
    if not due:
        return []
    endpoints = await q.lock_endpoints(
        db=db, keys=sorted({(d.business_id, d.endpoint_id) for d in due})
    )
    found = await q.event_rows(db=db, keys=[(d.business_id, d.event_id) for d in due])
    claimed = []
    for delivery in due:
        endpoint = endpoints.get((delivery.business_id, delivery.endpoint_id))
        event = found.get((delivery.business_id, delivery.event_id))
        # disabled since `due` looked: its deliveries wait, enabling it again sends them
        if endpoint is not None and event is not None and endpoint.enabled:
            claimed.append((delivery, endpoint, event))
    if claimed:
        until = now + timedelta(seconds=settings.timeout_s + 30)
        await q.lease(db=db, deliveries=[d for d, _, _ in claimed], until=until)
    return claimed


async def _attempt(
    engine: AsyncEngine, settings: WebhookSettings, http: httpx.AsyncClient,
    delivery: Any, endpoint: Any, event: Any,
) -> bool:  # fmt: skip
    """Make one attempt and store its outcome; return True when delivered."""
    now = datetime.now(UTC)
    code: int | None = None
    error = await destination_refusal(endpoint.url, allow_private=settings.allow_private)
    if error is None:
        body = orjson.dumps({"type": event.type, "timestamp": event.occurred_at.isoformat(),
                             "data": event_body(event)})  # fmt: skip
        try:
            answer = await http.post(
                endpoint.url, content=body, headers=signed_headers(endpoint, event_global_id(event.id), now, body),
                timeout=settings.timeout_s,
            )  # fmt: skip
            code = answer.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}" + (
                    " (redirects are not followed)" if 300 <= code < 400 else ""
                )
        except httpx.TimeoutException:
            error = f"no answer within {settings.timeout_s:g} s"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {str(failure)[:200]}"
    first = delivery.first_attempt_at or now

    async def store(db: RequestDb) -> None:
        # the claim counted one attempt already; this one is counted by replacing its values
        values: dict[str, Any] = {
            "last_http_code": code,
            "first_attempt_at": first,
            "last_error": error,
        }
        if error is None:
            values.update(status="DELIVERED", delivered_at=now)
        elif now - first >= timedelta(seconds=settings.retry_for_s):
            values.update(status="FAILED")
        else:
            values["next_attempt_at"] = now + settings.retry_delay(delivery.attempts + 1)
        await q.store_outcome(db=db, delivery=delivery, values=values)
        await _endpoint_health(db, settings, endpoint, failed=error is not None, now=now)

    await in_transaction(engine, store)
    if error is not None:
        log.info(orjson.dumps({"event": "webhook_attempt_failed", "endpoint_id": endpoint.id,
                               "delivery_id": delivery.id, "error": error[:300]}).decode())  # fmt: skip
    return error is None


async def _endpoint_health(
    db: RequestDb, settings: WebhookSettings, endpoint: Any, *, failed: bool, now: datetime
) -> None:
    """Remember when an endpoint started failing; disable it after ``disable_after_s``."""
    current = await q.lock_endpoint(
        db=db, business_id=endpoint.business_id, endpoint_id=endpoint.id
    )
    if current is None:
        return
    if not failed:
        if current.failing_since is not None:
            await q.update_endpoint(db=db, business_id=current.business_id, endpoint_id=current.id,
                                    values={"failing_since": None})  # fmt: skip
        return
    since = current.failing_since or now
    values: dict[str, Any] = {"failing_since": since}
    if current.enabled and now - since >= timedelta(seconds=settings.disable_after_s):
        values.update(enabled=False, disabled_reason=f"failing since {since.isoformat()}")
        await events.emit(
            db=db, business_id=current.business_id, type="webhook_endpoint.disabled",
            object_type="WebhookEndpoint", object_id=current.id, actor=events.SYSTEM,
            data={"from": "ENABLED", "to": "DISABLED"},
        )  # fmt: skip
    await q.update_endpoint(
        db=db, business_id=current.business_id, endpoint_id=current.id, values=values
    )
