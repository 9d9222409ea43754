"""A bare server doing peerbench's three requests as expensegraph does, and nothing more.

The fast-lane issue asks, before a speed target is called out of reach, for "a bare
server doing the same work on the same data, side by side with PostGraphile". This is
it, as a peerbench contestant (``bench/peerbench/bare``, ``bare-2w``): a plain ASGI callable on the
uvicorn, uvloop and httptools that ``expensegraph serve`` runs, answering peerbench's
q1, q2 and q3 documents with the same JSON expensegraph gives, doing per request:

- read the body, parse it with orjson, find the document's handler by its text (the
  plan, made once per process);
- check the HS256 token (signature checks cached by token text, expiry checked each
  time), then read the member from the database, as expensegraph does on every request;
- one asyncpg statement for the root level and one for the level below it (its four
  reference lookups and its receipts, or its member counts and expenses, merged):
  three statements, as the lane sends;
- build dicts per row (global ids, money as decimal strings), write them with orjson.

What it leaves out, on purpose: every other document, role and error (a MANAGER or
EMPLOYEE token gets 403), logs, metrics, rate limits and cost. It is a floor for the
Python stack, not a server: ``python -m bench.peer_bare --port 8103 [--workers 2]``.
"""

import argparse
import os
import time
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import orjson
import uvicorn

from app.settings import Settings
from db.money import format_major
from resolvers.ids import decode_id, encode_id

DOCS = Path(__file__).resolve().parent / "peerbench" / "bare"  # peerbench's q1-q3, verbatim
WHOLE_BUSINESS = {"ADMIN", "FINANCE"}

MEMBER = """
SELECT m.role, b.home_currency,
       (SELECT array_agg(t.id) FROM teams t
        WHERE t.business_id = m.business_id AND t.manager_id = m.id) AS managed
FROM members m JOIN businesses b ON b.id = m.business_id
WHERE m.business_id = $1 AND m.id = $2 AND m.deactivated_at IS NULL"""

Q1_ROOT = """
SELECT id, merchant_name, amount_minor, currency, spent_at, member_id, card_id, team_id,
       category_id
FROM expenses WHERE business_id = $1 AND deleted_at IS NULL
ORDER BY spent_at DESC, id DESC LIMIT 50"""
Q1_BELOW = """
SELECT ARRAY(SELECT ROW(id, name) FROM members WHERE business_id = $1 AND id = ANY($2)),
       ARRAY(SELECT ROW(id, last4) FROM cards WHERE business_id = $1 AND id = ANY($3)),
       ARRAY(SELECT ROW(id, name) FROM teams WHERE business_id = $1 AND id = ANY($4)),
       ARRAY(SELECT ROW(id, name) FROM categories WHERE business_id = $1 AND id = ANY($5)),
       ARRAY(SELECT ROW(expense_id, id, file_name) FROM receipts
             WHERE business_id = $1 AND expense_id = ANY($6) ORDER BY uploaded_at, id)"""
Q2_ROOT = """
SELECT id, name FROM teams WHERE business_id = $1 ORDER BY created_at, id LIMIT 20"""
Q2_BELOW = """
SELECT ARRAY(SELECT ROW(team_id, count(*)) FROM members
             WHERE business_id = $1 AND team_id = ANY($2) GROUP BY team_id),
       ARRAY(SELECT ROW(t.id, x.id, x.amount_minor, x.currency, x.merchant_name)
             FROM unnest($2::bigint[]) AS t(id), LATERAL (
               SELECT e.id, e.amount_minor, e.currency, e.merchant_name FROM expenses e
               WHERE e.business_id = $1 AND e.team_id = t.id AND e.deleted_at IS NULL
               ORDER BY e.spent_at DESC, e.id DESC LIMIT 5) x)"""
Q3_ROOT = """
SELECT id, merchant_name, amount_minor, currency, home_amount_minor, spent_at, status,
       created_at, member_id, card_id
FROM expenses WHERE business_id = $1 AND id = $2"""
Q3_BELOW = """
SELECT ARRAY(SELECT ROW(id, name, email) FROM members WHERE business_id = $1 AND id = $2),
       ARRAY(SELECT ROW(id, last4, status) FROM cards WHERE business_id = $1 AND id = $3),
       ARRAY(SELECT ROW(id, file_name, content_type, size_bytes) FROM receipts
             WHERE business_id = $1 AND expense_id = $4 ORDER BY uploaded_at, id)"""


def money(amount_minor: int, currency: str) -> dict[str, str]:
    """Return a Money object as expensegraph writes it."""
    return {"amount": format_major(amount_minor, currency), "currency": currency}


def when(value: Any) -> str:
    """Return a timestamp as expensegraph's DateTime writes it."""
    return str(value.isoformat())


def by_id(rows: list[Any], make: Any) -> dict[int, Any]:
    """Return the objects ``make`` builds from ``rows``, by their first column."""
    return {row[0]: make(row) for row in rows}


async def q1(conn: asyncpg.Connection, business: int, home: str, variables: Any) -> Any:
    """Return q1's data: the 50 newest expenses with their references and receipts."""
    rows = await conn.fetch(Q1_ROOT, business)
    ids = [[row[k] for row in rows if row[k] is not None] for k in (5, 6, 7, 8)]
    keys = [row[0] for row in rows]
    below = await conn.fetchrow(Q1_BELOW, business, *ids, keys)
    member = by_id(below[0], lambda r: {"name": r[1]})
    card = by_id(below[1], lambda r: {"last4": r[1]})
    team = by_id(below[2], lambda r: {"name": r[1]})
    category = by_id(below[3], lambda r: {"name": r[1]})
    receipts: dict[int, list[dict[str, Any]]] = {key: [] for key in keys}
    for r in below[4]:
        receipts[r[0]].append({"id": encode_id("Receipt", r[1]), "fileName": r[2]})
    nodes = [
        {
            "id": encode_id("Expense", row[0]),
            "merchantName": row[1],
            "amount": money(row[2], row[3]),
            "spentAt": when(row[4]),
            "member": member.get(row[5]),
            "card": card.get(row[6]),
            "team": team.get(row[7]),
            "category": category.get(row[8]),
            "receipts": receipts[row[0]],
        }
        for row in rows
    ]
    return {"expenses": {"nodes": nodes}}


async def q2(conn: asyncpg.Connection, business: int, home: str, variables: Any) -> Any:
    """Return q2's data: 20 teams, each with its member count and 5 newest expenses."""
    teams = await conn.fetch(Q2_ROOT, business)
    keys = [row[0] for row in teams]
    counts, expenses = await conn.fetchrow(Q2_BELOW, business, keys)
    count = dict(counts)
    newest: dict[int, list[dict[str, Any]]] = {key: [] for key in keys}
    for r in expenses:
        item = {"id": encode_id("Expense", r[1]), "amount": money(r[2], r[3]), "merchantName": r[4]}
        newest[r[0]].append(item)
    nodes = [
        {
            "id": encode_id("Team", key),
            "name": name,
            "memberCount": count.get(key, 0),
            "expenses": {"nodes": newest[key]},
        }
        for key, name in teams
    ]
    return {"teams": {"nodes": nodes}}


async def q3(conn: asyncpg.Connection, business: int, home: str, variables: Any) -> Any:
    """Return q3's data: one expense by global id with member, card and receipts."""
    type_name, key = decode_id(variables["id"])
    row = await conn.fetchrow(Q3_ROOT, business, key) if type_name == "Expense" else None
    if row is None:
        return {"node": None}
    members, cards, receipts = await conn.fetchrow(Q3_BELOW, business, row[8], row[9], key)
    return {
        "node": {
            "id": encode_id("Expense", row[0]),
            "merchantName": row[1],
            "amount": money(row[2], row[3]),
            "homeAmount": money(row[4], home),
            "spentAt": when(row[5]),
            "status": row[6],
            "createdAt": when(row[7]),
            "member": next(
                ({"id": encode_id("Member", m[0]), "name": m[1], "email": m[2]} for m in members),
                None,
            ),
            "card": next(
                ({"id": encode_id("Card", c[0]), "last4": c[1], "status": c[2]} for c in cards),
                None,
            ),
            "receipts": [
                {
                    "id": encode_id("Receipt", r[0]),
                    "fileName": r[1],
                    "contentType": r[2],
                    "sizeBytes": r[3],
                }
                for r in receipts
            ],
        }
    }


# a document's plan is found by its text, as the lane finds it
PLANS = {(DOCS / f"{run.__name__}.graphql").read_text(): run for run in (q1, q2, q3)}


class Bare:
    """The ASGI app: POST /graphql for the three documents, GET /readyz."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool | None = None) -> None:
        self.settings = settings
        self.pool = pool  # None: opened by the lifespan
        self.tokens: dict[str, tuple[int, int, float]] = {}  # verified: (member, business, exp)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one request (or the lifespan)."""
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["method"] == "GET":
            await answer(send, 200 if self.pool is not None else 503, {"ready": True})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = orjson.loads(body)
        plan = PLANS.get(request.get("query"))
        credential = self.credential(scope)
        if plan is None or credential is None:
            await answer(send, 400 if plan is None else 401, {"errors": [{"message": "no"}]})
            return
        member_id, business = credential
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            member = await conn.fetchrow(MEMBER, business, member_id)
            if member is None or member[0] not in WHOLE_BUSINESS:
                await answer(send, 403, {"errors": [{"message": "not in this floor"}]})
                return
            data = await plan(conn, business, member[1], request.get("variables") or {})
        await answer(send, 200, {"data": data})

    def credential(self, scope: Any) -> tuple[int, int] | None:
        """Return (member id, business id) of the request's bearer token, or None."""
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        token = header.decode().removeprefix("Bearer ")
        known = self.tokens.get(token)
        if known is None:
            settings = self.settings
            try:
                claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"],
                                    audience=settings.jwt_audience, issuer=settings.jwt_issuer)  # fmt: skip
            except jwt.InvalidTokenError:
                return None
            known = int(claims["sub"]), int(claims["bid"]), float(claims["exp"])
            self.tokens[token] = known
        return (known[0], known[1]) if known[2] > time.time() else None

    async def lifespan(self, receive: Any, send: Any) -> None:
        """Open the pool at start-up, close it at shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                size = int(os.environ.get("BARE_POOL_SIZE", "16"))
                url = os.environ["DATABASE_URL"]
                self.pool = await asyncpg.create_pool(
                    url, min_size=size, max_size=size, reset=_no_reset
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Give a connection back as it is: nothing here changes session state, and asyncpg's
    default (RESET ALL, CLOSE ALL, UNLISTEN *, an advisory unlock) is four statements a
    request that expensegraph does not send either."""


async def answer(send: Any, status: int, payload: Any) -> None:
    """Write ``payload`` as the JSON response."""
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def app() -> Bare:
    """Return the ASGI app (uvicorn's factory), configured as ``expensegraph serve`` is."""
    return Bare(Settings.from_env(local_secret=False))


def main() -> None:
    """Serve the bare app as ``expensegraph serve`` serves, on 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="python -m bench.peer_bare", description=__doc__)
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bench.peer_bare:app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
