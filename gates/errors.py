"""The errors the CLI turns into exit codes; nothing below the CLI calls sys.exit."""

from __future__ import annotations


class GatesError(Exception):
    """Base of the errors gates reports to the user in one line."""


class InputError(GatesError):
    """Bad input: usage, a malformed policy, a corrupt findings or verdict file (exit 2).
    The message starts with the file (and line, where known) it is about."""
