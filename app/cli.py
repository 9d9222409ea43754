"""The expensegraph command: serve, demo, worker, migrate, seed, token, apikey, schema."""

import argparse
import importlib.metadata
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import uvloop

from app import business_setup
from app.commands.errors import CommandError, DatabaseUnavailable
from app.commands.run import run
from app.commands.sdl import check_schema, print_schema
from app.settings import ConfigError, Settings
from db.permissions import READ_PERMISSIONS
from resolvers.errors import DomainError
from resolvers.ids import decode_id

DEFAULT_SCOPES = ",".join(READ_PERMISSIONS)


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


def business_id(raw: str) -> int:
    """Return the row id of a business given as a number or as its global id (as the API shows)."""
    if raw.isdecimal():
        return _at_least(1)(raw)
    try:
        type_name, id_ = decode_id(raw)
    except DomainError:
        raise argparse.ArgumentTypeError(
            f"not a business id: {raw!r} (give the number or the Business id the API shows)"
        ) from None
    if type_name != "Business":
        raise argparse.ArgumentTypeError(f"{raw!r} is not a Business id (it names a {type_name})")
    return id_


def _version() -> str:
    try:
        return importlib.metadata.version("expensegraph")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown (not installed)"


BUSINESS_HELP = "the business: its number or its global id as the API shows it"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="expensegraph", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("serve", "run the API"),
        ("demo", "migrate, seed demo data, print credentials, serve"),
    ):
        p = _command(sub, name, help_)
        p.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
        )
        p.add_argument(
            "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
        )
        p.add_argument(
            "--workers",
            type=_at_least(1),
            default=1,
            help="worker processes (default: %(default)s)",
        )
    worker = _command(sub, "worker", "run background jobs (receipt extraction, matching)")
    worker.add_argument(
        "--concurrency",
        type=_at_least(1),
        default=4,
        metavar="N",
        help="jobs run at once in this process (default: %(default)s)",
    )
    _command(sub, "migrate", "migrate the database to the newest schema")
    _seed_parser(_command(sub, "seed", "load a large deterministic data set (COPY)"))
    _token_parser(_command(sub, "token", "print a signed user token for a member (development)"))
    _apikey_parser(_command(sub, "apikey", "create, list and revoke API keys"))
    _business_parser(_command(sub, "business", "set up a business and its first admin"))
    _schema_parser(_command(sub, "schema", "print the GraphQL SDL, or check it for safe changes"))
    return parser


def _command(
    sub: "argparse._SubParsersAction[argparse.ArgumentParser]", name: str, help_: str
) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_, description=help_)


def _seed_parser(seed: argparse.ArgumentParser) -> None:
    seed.add_argument(
        "--businesses",
        type=_at_least(1),
        default=50,
        help="businesses to add (default: %(default)s)",
    )
    seed.add_argument(
        "--expenses",
        type=_at_least(0),
        default=100_000,
        help="expenses to add across them (default: %(default)s)",
    )
    seed.add_argument(
        "--seed",
        type=int,
        default=1,
        help="random seed; the same seed and counts give the same rows (default: %(default)s)",
    )


def _schema_parser(schema: argparse.ArgumentParser) -> None:
    schema.add_argument(
        "--check",
        action="store_true",
        help="compare the running schema with a committed one instead of printing it; exit 1 "
        "on a breaking change or when schema.graphql is out of date (default: print)",
    )
    schema.add_argument(
        "--against",
        type=Path,
        default=Path("schema.graphql"),
        metavar="PATH",
        help="the committed schema --check compares with (default: %(default)s)",
    )


def _token_parser(token: argparse.ArgumentParser) -> None:
    _required(token, "--member", "the member's email", metavar="EMAIL")
    token.add_argument(
        "--business",
        type=business_id,
        metavar="ID",
        help=f"{BUSINESS_HELP}; needed when the email is in several (default: the only one)",
    )
    token.add_argument(
        "--ttl",
        type=_at_least(1),
        metavar="SECONDS",
        help="lifetime in seconds (default: EXPENSEGRAPH_TOKEN_TTL_SECONDS, else 43200)",
    )


def _apikey_parser(apikey: argparse.ArgumentParser) -> None:
    actions = apikey.add_subparsers(dest="action", required=True)
    create = _command(actions, "create", "create a key and print its secret once")
    list_ = _command(actions, "list", "list a business's keys (never their secrets)")
    revoke = _command(actions, "revoke", "revoke a key for good")
    for action in (create, list_, revoke):
        _required(action, "--business", BUSINESS_HELP, metavar="ID", type=business_id)
    create.add_argument(
        "--name", default="integration", help="who will use the key (default: %(default)s)"
    )
    create.add_argument(
        "--scopes", default=DEFAULT_SCOPES, help="comma-separated scopes (default: %(default)s)"
    )
    revoke.add_argument(
        "key", metavar="PREFIX_OR_ID", help="the key's prefix or id, as apikey list shows them"
    )


def _required(parser: argparse.ArgumentParser, flag: str, help_: str, **options: Any) -> None:
    """Add an option every run must give; its help says so."""
    parser.add_argument(flag, required=True, help=f"{help_} (required)", **options)


def _checked(check: Callable[[str], str]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        try:
            return check(raw)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _business_parser(business: argparse.ArgumentParser) -> None:
    actions = business.add_subparsers(dest="action", required=True)
    create = _command(
        actions,
        "create",
        "create a business and its first admin in one transaction and print their ids; "
        "running it again with the same admin email prints the same ids and changes nothing",
    )
    _required(create, "--name", "the business name")
    _required(
        create,
        "--home-currency",
        "ISO 4217 code totals are kept in, such as GBP; it never changes",
        metavar="CODE",
        type=_checked(business_setup.checked_currency),
    )
    _required(
        create,
        "--timezone",
        "IANA time zone of its days and months, such as Europe/London",
        metavar="ZONE",
        type=_checked(business_setup.checked_timezone),
    )
    _required(create, "--admin-email", "the first admin's email", metavar="EMAIL")
    create.add_argument(
        "--admin-name",
        metavar="NAME",
        help="the first admin's full name (default: the part of the email before the @)",
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; configuration and connection problems exit with a message."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":  # needs no settings (nor the local secret they create)
            if not args.check:
                print_schema()
            elif not check_schema(args.against):
                sys.exit(1)
            return
        settings = Settings.from_env(
            development=args.command == "demo", local_secret=args.command in ("demo", "token")
        )
        uvloop.run(run(args, settings))
    except (ConfigError, DatabaseUnavailable, CommandError) as error:
        print(f"expensegraph: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
