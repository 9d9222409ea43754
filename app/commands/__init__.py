"""What each CLI command does, separate from argument parsing (app/cli.py): a module per group."""
