"""The errors the CLI turns into exit codes; nothing below the CLI calls sys.exit."""

from __future__ import annotations


class GatesError(Exception):
    """Base of the errors gates reports to the user in one line."""


class GateError(Exception):
    """A gate could not collect; the message says why in one line and what would fix it. The engine
    turns it into the gate's `error` status, never a pass (so it is no GatesError: exit 3, not 2)."""


class ToolMissing(GateError):
    """The tool the gate runs is not installed."""


class InputError(GatesError):
    """Bad input: usage, a malformed policy, a corrupt findings or verdict file (exit 2).
    The message starts with the file (and line, where known) it is about."""
