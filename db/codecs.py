"""How timestamps and numerics cross the wire: as text, decoded by C parsers.

asyncpg decodes a binary ``timestamptz`` by adding a ``timedelta`` to an epoch, about
1.8 µs a value, and a binary ``numeric`` by building a ``Decimal`` from its digits; a
50-row expense page has seven timestamps and a numeric a row, and decoding them was a
third of the page's client CPU. As text, ``datetime.fromisoformat`` and ``Decimal``
parse them in C (0.4 µs): the same values, the whole row about twice as fast
(bench/RESULTS.md, "Text codecs"). Every connection of the engine gets these codecs and
the UTC session time zone, so a timestamp reads back as an aware datetime in UTC
(``tzinfo`` is ``timezone.utc``), as the binary codec gave it, whatever the server's
default zone. Anonymous records still carry their fields in binary, so reads are not
merged as records (db/merged_reads.py :func:`~db.merged_reads.merged`).
"""

from datetime import datetime
from decimal import Decimal
from operator import methodcaller
from typing import Any

SERVER_SETTINGS = {"timezone": "UTC"}


async def use_text_codecs(connection: Any) -> None:
    """Set the text codecs on an asyncpg connection."""
    await connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=methodcaller("isoformat"),
        decoder=datetime.fromisoformat,
        format="text",
    )
    await connection.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=Decimal, format="text"
    )


def on_connect(dbapi_connection: Any, record: Any) -> None:
    """SQLAlchemy ``connect`` listener: set the codecs on the new pooled connection."""
    dbapi_connection.run_async(use_text_codecs)
