"""Options several commands share, declared once so they read and behave the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def policy_option(default_from: str | None) -> Callable[[F], F]:
    """`--policy FILE|NAME` into `policy_file`. `default_from` names where the policy is looked
    for when the option is absent (`PATH`: its gates.yaml, else the shipped default); None makes
    the option required."""
    help_text = "Policy file or shipped policy name" + (
        f" [default: {default_from}/gates.yaml, else 'default']." if default_from else "."
    )
    return click.option(
        "--policy",
        "policy_file",
        type=click.Path(path_type=Path),
        required=default_from is None,
        help=help_text,
    )
