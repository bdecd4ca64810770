"""Finding the report formats through the `gates.reports` entry-point group.

Built-in formats are registered exactly like a third party's. A format that fails to load, or
whose file name is not a plain name or is another format's, is kept aside with the reason; asking
for it (`--format NAME`) is then exit 2 with that reason, never a silent fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath
from typing import TypeGuard

from gates.errors import InputError
from gates.report import ReportFormat
from gates.util.entrypoints import load_group

ENTRY_POINT_GROUP = "gates.reports"


@dataclass(frozen=True)
class Formats:
    formats: Mapping[str, ReportFormat]
    broken: Mapping[str, str]
    """Entry-point name -> why it could not be loaded."""

    def names(self) -> list[str]:
        return sorted({*self.formats, *self.broken})

    def get(self, name: str) -> ReportFormat:
        if name in self.formats:
            return self.formats[name]
        if name in self.broken:
            raise InputError(f"--format {name}: the format cannot be loaded: {self.broken[name]}")
        raise InputError(
            f"--format {name}: no such report format (installed: {', '.join(self.names())}; the "
            f"built-in ones are registered as {ENTRY_POINT_GROUP} entry points: reinstall gates "
            "if they are missing)"
        )


def _is_format(item: object) -> TypeGuard[ReportFormat]:
    return isinstance(item, ReportFormat) and isinstance(item.filename, str)


@cache
def load_formats() -> Formats:
    group = load_group(ENTRY_POINT_GROUP, _is_format, "gates ReportFormat protocol")
    formats: dict[str, ReportFormat] = {}
    broken = dict(group.broken)
    for name, fmt in group.loaded.items():
        taken = next((other for other in formats.values() if other.filename == fmt.filename), None)
        plain = PurePosixPath(fmt.filename).name == fmt.filename and "\\" not in fmt.filename
        if not plain or fmt.filename.startswith("."):
            broken[name] = f"file name {fmt.filename!r} is not a plain file name"
        elif taken is not None:
            broken[name] = f"writes {fmt.filename}, as the format {taken.name!r} does"
        else:
            formats[name] = fmt
    return Formats(formats, broken)
