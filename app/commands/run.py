"""Which function runs a parsed command, after the checks it needs (port, database)."""

import argparse
import sys

from app.commands.accounts import apikey, create_business, token
from app.commands.database import check_database, database_url, migrate
from app.commands.demo import demo
from app.commands.serve import check_port, run_worker, serve
from app.settings import Settings


async def run(args: argparse.Namespace, settings: Settings) -> None:
    """Run one parsed command."""
    if args.command in ("demo", "serve"):
        # before the embedded database starts or any credential is printed
        check_port(args.host, args.port)
    url = await database_url(settings)
    if args.command == "migrate":
        await migrate(url)
    elif args.command == "demo":
        await demo(settings, url, args.host, args.port, args.workers)
    elif args.command == "serve":
        if not settings.database_url:
            await migrate(url)
        await check_database(url, require_head=True)
        await serve(settings, url, args.host, args.port, args.workers)
    elif args.command == "worker":
        await check_database(url, require_head=True)
        await run_worker(url, settings, args.concurrency)
    elif args.command == "seed":
        from devdata.seed import seed

        await migrate(url)
        report = await seed(
            url=url, businesses=args.businesses, expenses=args.expenses, seed=args.seed
        )
        print(report.summary(), file=sys.stderr)
    elif args.command == "token":
        await check_database(url, require_head=True)
        print(await token(settings, url, args.member, args.business, args.ttl))
    elif args.command == "business":
        await check_database(url, require_head=True)
        print(await create_business(url, args))
    elif args.command == "apikey":
        await check_database(url, require_head=True)
        print(await apikey(args, url))
