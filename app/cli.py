"""The ``expensegraph`` command: serve, demo, migrate, seed, token, apikey, schema."""

import argparse
import sys
from collections.abc import Callable, Sequence

import uvloop

from app import commands
from app.settings import ConfigError, Settings


def _at_least(low: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {raw!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="expensegraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("serve", "run the API"),
        ("demo", "migrate, seed demo data, print credentials, serve"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--workers", type=_at_least(1), default=1, help="worker processes")
    sub.add_parser("migrate", help="migrate the database to the newest schema")
    seed = sub.add_parser("seed", help="load a large deterministic data set (COPY)")
    seed.add_argument("--businesses", type=_at_least(1), default=50)
    seed.add_argument("--expenses", type=_at_least(0), default=100_000)
    seed.add_argument("--seed", type=int, default=1)
    token = sub.add_parser("token", help="print a signed user token for a member (development)")
    token.add_argument("--member", required=True, metavar="EMAIL")
    token.add_argument("--business", type=int, help="business id, when the email exists in several")
    token.add_argument("--ttl", type=int, help="lifetime in seconds")
    apikey = sub.add_parser("apikey", help="manage API keys")
    apikey_sub = apikey.add_subparsers(dest="action", required=True)
    create = apikey_sub.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--business", type=int, required=True)
    create.add_argument("--name", default="integration")
    create.add_argument("--scopes", default="expenses:read,receipts:read,cards:read,teams:read")
    sub.add_parser("schema", help="print the GraphQL SDL")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; configuration and connection problems exit with a message."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(development=args.command == "demo")
        if args.command == "schema":
            commands.print_schema()
        else:
            uvloop.run(commands.run(args, settings))
    except (ConfigError, commands.DatabaseUnavailable, commands.CommandError) as error:
        print(f"expensegraph: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
