"""The schema command: print the SDL, or check it against the committed one."""

from pathlib import Path

from app import schema_check
from app.commands.errors import CommandError
from schema.build import build_schema


def print_schema() -> None:
    """Print the SDL."""
    print(build_schema().as_str())


def check_schema(against: Path) -> bool:
    """Print how the running schema changes the one in ``against``; return whether it may ship."""
    try:
        report = schema_check.check(build_schema().as_str(), against)
    except schema_check.UnreadableSchema as error:
        raise CommandError(str(error)) from None
    print("\n".join(report.lines(against)))
    return report.ok
