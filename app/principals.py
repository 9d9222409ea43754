"""The principal each credential had when it was last read: a known query starts under it.

Every request reads its credential from the database (a member's role is the database's,
never a token's), and a query's first reads depend on that principal (who sees what). A
known query (app/lane.py) need not wait for the credential read: it starts under the
principal the same ``Authorization`` header had last time, so that the credential read and
the query's first level reach PostgreSQL in the same turn and go as one statement
(db/read_queue.py). Nothing the query read is used unless that credential read gives the
same principal; otherwise the request starts again under the principal it gave.
"""

import asyncio
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from app.answers import Answer
from app.lane import FastLane
from resolvers.context import Principal

# credentials remembered per process (oldest forgotten first), and the longest remembered:
# API keys and tokens are a few hundred characters; a longer header is read before its query
LAST_PRINCIPALS = 10_000
MAX_REMEMBERED_CHARS = 1024


class LastPrincipals:
    """The principal each recent ``Authorization`` header was last read as."""

    def __init__(self, limit: int = LAST_PRINCIPALS) -> None:
        self._limit = limit
        self._by_header: dict[str, Principal] = {}

    def guess(self, authorization: str | None) -> Principal | None:
        """Return the principal ``authorization`` was last read as, None if not known."""
        return None if authorization is None else self._by_header.get(authorization)

    def remember(self, authorization: str | None, principal: Principal | None) -> None:
        """Keep the principal ``authorization`` was just read as (None: no credential)."""
        if authorization is None or principal is None or len(authorization) > MAX_REMEMBERED_CHARS:
            return
        by_header = self._by_header
        if by_header.pop(authorization, None) is None and len(by_header) >= self._limit:
            del by_header[next(iter(by_header))]  # the one read longest ago
        by_header[authorization] = principal  # newest: a credential in use stays

    def forget(self, authorization: str | None) -> None:
        """Forget ``authorization`` (it is no longer valid)."""
        if authorization is not None:
            self._by_header.pop(authorization, None)


async def speculated(
    lane: FastLane,
    params: Any,
    media: str,
    authenticating: Coroutine[Any, Any, Principal | None],
    guess: Principal,
    context_of: Callable[[Principal], Any],
) -> tuple[Principal | None, Any, Answer | None]:
    """Run a known query under ``guess`` while ``authenticating`` reads the credential again.

    Return the principal read, and when it is ``guess``: the query's context and the lane's
    answer (None: the lane fell back, the reference path answers under that context). When
    it is not, the context and answer are None: the caller starts again under the one read.
    """
    # the credential read joins the query's first reads in the read queue (db/read_queue.py)
    reading = asyncio.ensure_future(authenticating)
    try:
        context = context_of(guess)
        answer = await lane.answer(params, context, media, confirm=partial(_same, reading, guess))
        principal = await reading  # read already, unless the lane stopped before its run
    finally:
        if not reading.done():
            reading.cancel()  # the lane raised: nobody will look at the credential
        elif not reading.cancelled():
            reading.exception()  # looked at: asyncio would log it as never retrieved
    if principal != guess:
        return principal, None, None
    return principal, context, answer


async def _same(reading: "asyncio.Future[Principal | None]", guess: Principal) -> bool:
    return await reading == guess
