"""Composition root: settings, the Starlette app, auth, errors, CLI."""
