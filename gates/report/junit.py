"""JUnit XML: one testcase per gate, so any CI shows gates as tests (fail -> failure, error -> error);
one testsuite per monorepo project. With `--since`, every suite says what changed since the release
(property `gates.delta`, and its system-out); each finding's line carries its change and decision."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from gates.model import Status
from gates.report.delta import DeltaView
from gates.verdict import GateResult, Verdict


def _details(gate: GateResult) -> str:
    lines = [gate.reason]
    for j in gate.findings:
        if j.counted:
            f = j.finding
            marks = [f.delta_mark.value] if f.delta_mark else []
            marks += [f"decides: {f.decides.value}"] if f.decides else []
            noted = "".join(f" ({m})" for m in marks)
            lines.append(f"[{f.severity.value}] {f.rule} {f.location.where} {f.message}{noted}")
    return "\n".join(lines)


def _count(gates: Sequence[GateResult], status: Status) -> str:
    return str(sum(1 for g in gates if g.status is status))


def _suite(
    parent: ET.Element, name: str, gates: Sequence[GateResult], time: float, started: str, delta: str | None
) -> None:
    suite = ET.SubElement(
        parent,
        "testsuite",
        {
            "name": name,
            "tests": str(len(gates)),
            "failures": _count(gates, Status.FAIL),
            "errors": _count(gates, Status.ERROR),
            "skipped": _count(gates, Status.SKIPPED),
            "time": f"{time:.3f}",
            "timestamp": started,
        },
    )
    if delta is not None:
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", {"name": "gates.delta", "value": delta})
    for gate in gates:
        classname = f"gates.{gate.project}" if gate.project else "gates"
        case = ET.SubElement(
            suite, "testcase", {"classname": classname, "name": gate.name, "time": f"{gate.duration_s:.3f}"}
        )
        if gate.status is Status.FAIL:
            ET.SubElement(case, "failure", {"message": gate.reason, "type": "fail"}).text = _details(gate)
        elif gate.status is Status.ERROR:
            ET.SubElement(case, "error", {"message": gate.reason, "type": "error"}).text = gate.reason
        elif gate.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", {"message": gate.reason})
        else:
            ET.SubElement(case, "system-out").text = f"{gate.status.value}: {_details(gate)}"
    if delta is not None:
        ET.SubElement(suite, "system-out").text = f"What changed {delta}"


def render(verdict: Verdict) -> str:
    gates = verdict.gates
    top = f"gates ({verdict.policy.name})"
    suites = ET.Element(
        "testsuites",
        {
            "name": top,
            "tests": str(len(gates)),
            "failures": _count(gates, Status.FAIL),
            "errors": _count(gates, Status.ERROR),
            "time": f"{verdict.duration_s:.3f}",
        },
    )
    # One suite for the top level of the policy, then one per monorepo project (gates:<project>).
    groups: dict[str | None, list[GateResult]] = {}
    for gate in gates:
        groups.setdefault(gate.project, []).append(gate)
    changes = DeltaView.of(verdict)
    for project, members in groups.items():
        time = verdict.duration_s if len(groups) == 1 else sum(g.duration_s for g in members)
        name = f"gates:{project}" if project else top
        _suite(suites, name, members, time, verdict.started, changes.summary if changes else None)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
