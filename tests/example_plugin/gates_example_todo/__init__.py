"""A third-party gate: TODO and FIXME markers left in the code.

Policy keys: `markers` (default ["TODO", "FIXME"]) besides the shared ones::

    gates:
      todo: {markers: [FIXME], fail_on: low}
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from gates.model import Finding, Location, Severity, fingerprint
from gates.plugins.interface import CollectContext, Collected
from gates.util.files import SkippedFile, digest_files, read_text, select_files

_MARKER = re.compile(r"\b(TODO|FIXME)\b[:\s]*(.*)")


class TodoGate:
    name = "todo"
    version = "0.1.0"
    description = "TODO and FIXME markers left in code"
    settings_schema: Mapping[str, Any] = {
        "markers": {"type": "array", "items": {"enum": ["TODO", "FIXME"]}},
    }

    def tool_versions(self) -> Mapping[str, str]:
        return {}

    def cache_key(self, ctx: CollectContext) -> str | None:
        files = select_files(ctx.root, ctx.settings["include"], ctx.settings["exclude"], ctx.only_paths)
        return digest_files(files.files)

    def collect(self, ctx: CollectContext) -> Collected:
        selection = select_files(ctx.root, ctx.settings["include"], ctx.settings["exclude"], ctx.only_paths)
        findings = []
        for file in selection.files:
            try:
                text = read_text(file)
            except SkippedFile as skipped:
                selection.skipped[skipped.reason] += 1
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                match = _MARKER.search(line)
                if match:
                    findings.append(
                        Finding(
                            gate=self.name,
                            rule=match.group(1),
                            severity=Severity.LOW if match.group(1) == "TODO" else Severity.MEDIUM,
                            message=match.group(2).strip() or match.group(1),
                            location=Location(path=file.path, line=number),
                            fingerprint=fingerprint(self.name, file.path, line.strip()),
                        )
                    )
        return Collected(findings=findings, stats=selection.stats())

    def evaluate(self, findings: Sequence[Finding], settings: Mapping[str, Any]) -> list[Finding]:
        markers = settings.get("markers", ["TODO", "FIXME"])
        return [f for f in findings if f.rule in markers]
