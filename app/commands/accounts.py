"""Who may call: the business, token and apikey commands."""

import argparse
import sys
from datetime import datetime

from app import business_setup
from app.auth import hash_secret, issue_token, new_api_key
from app.commands.database import request_db
from app.commands.errors import CommandError
from app.settings import Settings
from db.connect import create_engine
from db.queries import api_keys as api_key_reads
from db.writes import admin
from db.writes import api_keys as api_key_writes
from resolvers.mutations.api_keys import api_key_global_id


async def create_business(url: str, args: argparse.Namespace) -> str:
    """Create a business and its first admin (or find them); return their ids to print."""
    try:
        async with request_db(url) as db:
            done = await business_setup.create_business(
                db, name=args.name, home_currency=args.home_currency, timezone=args.timezone,
                admin_email=args.admin_email, admin_name=args.admin_name,
            )  # fmt: skip
    except business_setup.SetupError as error:
        raise CommandError(str(error)) from None
    if done.created:
        print(f"Created business {args.name.strip()!r} and its admin.", file=sys.stderr)
    else:
        print("The business and its admin exist already; nothing changed.", file=sys.stderr)
    return done.lines()


async def create_api_key(url: str, *, business_id: int, name: str, scopes: list[str]) -> str:
    """Create an API key and return its full secret (stored only as a hash)."""
    prefix, key = new_api_key()
    engine = create_engine(url)
    try:
        created = await admin.insert_api_key(
            engine=engine, business_id=business_id, name=name, prefix=prefix,
            secret_hash=hash_secret(key), scopes=scopes,
        )  # fmt: skip
    finally:
        await engine.dispose()
    if not created:
        raise CommandError(f"no business with id {business_id}.")
    return key


async def token(
    settings: Settings, url: str, email: str, business_id: int | None, ttl: int | None
) -> str:
    """Return a user token for the member with ``email``."""
    engine = create_engine(url)
    try:
        found = await admin.members_by_email(engine=engine, email=email, business_id=business_id)
    finally:
        await engine.dispose()
    if not found:
        raise CommandError(f"no member with email {email!r}.")
    if len(found) > 1:
        ids = ", ".join(str(row.business_id) for row in found)
        raise CommandError(f"{email!r} is a member of several businesses ({ids}); pass --business.")
    return issue_token(settings, business_id=found[0].business_id, member_id=found[0].id, ttl_s=ttl)


async def list_api_keys(url: str, *, business_id: int) -> str:
    """Return the business's API keys as a table (never a secret)."""
    async with request_db(url) as db:
        rows = await api_key_reads.api_keys_of(db=db, business_id=business_id)
    if not rows:
        return f"No API keys in business {business_id}."
    table = [("ID", "NAME", "PREFIX", "SCOPES", "CREATED", "LAST USED", "REVOKED")]
    table += [
        (
            api_key_global_id(row.id), row.name, row.prefix, ",".join(row.scopes),
            _when(row.created_at), _when(row.last_used_at), _when(row.revoked_at),
        )
        for row in rows
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(line, widths, strict=False)), line[-1]])
        for line in table
    )


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S%z")


async def revoke_api_key(url: str, *, business_id: int, key: str) -> str:
    """Revoke the business's key with prefix or id ``key``; return what was revoked."""
    async with request_db(url) as db:
        rows = await api_key_reads.api_keys_of(db=db, business_id=business_id)
        found = [row for row in rows if key in (row.prefix, api_key_global_id(row.id))]
        if not found:
            raise CommandError(f"business {business_id} has no API key with prefix or id {key!r}.")
        async with db.savepoint():
            row = await api_key_writes.locked_api_key(
                db=db, business_id=business_id, key_id=found[0].id
            )
            if row is None:  # deleted since it was listed
                raise CommandError(f"business {business_id} has no API key {key!r}.")
            if row.revoked_at is not None:
                raise CommandError(f"API key {key!r} is already revoked.")
            await api_key_writes.revoke_api_key(db=db, business_id=business_id, key_id=row.id)
    return f"Revoked API key {row.prefix} ({row.name})."


async def apikey(args: argparse.Namespace, url: str) -> str:
    """Run ``apikey list``, ``revoke`` or ``create``; return what to print."""
    if args.action == "list":
        return await list_api_keys(url, business_id=args.business)
    if args.action == "revoke":
        return await revoke_api_key(url, business_id=args.business, key=args.key)
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    return await create_api_key(url, business_id=args.business, name=args.name, scopes=scopes)
