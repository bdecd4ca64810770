"""JUnit XML: one testcase per gate, so any CI shows gates as tests (fail -> failure, error -> error);
one testsuite per monorepo project."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any


def _details(gate: Mapping[str, Any]) -> str:
    lines = [gate["reason"]]
    for f in gate["findings"]:
        if not f["counted"]:
            continue
        where = f["location"]["path"] or f["location"]["logical"] or ""
        if f["location"]["line"]:
            where += f":{f['location']['line']}"
        lines.append(f"[{f['severity']}] {f['rule']} {where} {f['message']}")
    return "\n".join(lines)


def _suite(parent: ET.Element, name: str, gates: list[Mapping[str, Any]], time: float, started: str) -> None:
    count = {s: sum(1 for g in gates if g["status"] == s) for s in ("fail", "error", "skipped")}
    suite = ET.SubElement(
        parent,
        "testsuite",
        {
            "name": name,
            "tests": str(len(gates)),
            "failures": str(count["fail"]),
            "errors": str(count["error"]),
            "skipped": str(count["skipped"]),
            "time": f"{time:.3f}",
            "timestamp": started,
        },
    )
    for gate in gates:
        classname = f"gates.{gate['project']}" if gate.get("project") else "gates"
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": classname, "name": gate["name"], "time": f"{gate['duration_s']:.3f}"},
        )
        if gate["status"] == "fail":
            ET.SubElement(case, "failure", {"message": gate["reason"], "type": "fail"}).text = _details(gate)
        elif gate["status"] == "error":
            ET.SubElement(case, "error", {"message": gate["reason"], "type": "error"}).text = gate["reason"]
        elif gate["status"] == "skipped":
            ET.SubElement(case, "skipped", {"message": gate["reason"]})
        else:
            ET.SubElement(case, "system-out").text = f"{gate['status']}: {_details(gate)}"


def render(verdict: Mapping[str, Any]) -> str:
    gates = verdict["gates"]
    count = {s: sum(1 for g in gates if g["status"] == s) for s in ("fail", "error")}
    top = f"gates ({verdict['policy']['name']})"
    suites = ET.Element(
        "testsuites",
        {
            "name": top,
            "tests": str(len(gates)),
            "failures": str(count["fail"]),
            "errors": str(count["error"]),
            "time": f"{verdict['duration_s']:.3f}",
        },
    )
    # One suite for the top level of the policy, then one per monorepo project (gates:<project>).
    groups: dict[str | None, list[Mapping[str, Any]]] = {}
    for gate in gates:
        groups.setdefault(gate.get("project"), []).append(gate)
    for project, members in groups.items():
        time = verdict["duration_s"] if len(groups) == 1 else sum(g["duration_s"] for g in members)
        _suite(suites, f"gates:{project}" if project else top, members, time, verdict["started_at"])
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
