"""What a command fails with: app/cli.py prints the message and exits 2."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message says what to check."""


class CommandError(Exception):
    """A command cannot do what was asked; the message says why."""
