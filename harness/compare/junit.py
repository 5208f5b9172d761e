"""JUnit XML of a comparison: one <testcase> per cell x gated metric, a <failure> with the numbers for
each regression, <skipped/> for checks without data, and an <error> testcase when a run is incomplete.
Follows the strict Ant/Jenkins schema (every required attribute and element present) so Jenkins,
GitLab, Azure DevOps and GitHub test-report actions all display it. Rendering only.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from harness.compare.model import Check, Comparison

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def render_junit(
    comparison: Comparison, *, timestamp: datetime | None = None, hostname: str | None = None
) -> str:
    """The JUnit XML document (UTF-8 text with an XML declaration)."""
    stamp = (timestamp or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    host = _clean(hostname or socket.gethostname() or "localhost") or "localhost"
    suite_name = f"harness compare {comparison.suite or 'suite'}"
    failures = len(comparison.regressions)
    errors = 1 if comparison.problems else 0
    skipped = sum(c.verdict == "skipped" for c in comparison.checks)
    root = ET.Element("testsuites")
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": suite_name,
            "package": "harness.compare",
            "id": "0",
            "timestamp": stamp,
            "hostname": host,
            "tests": str(len(comparison.checks) + errors),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": str(skipped),
            "time": "0",
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("mode", comparison.mode),
        ("verdict", comparison.verdict),
        ("baseline", str(comparison.baseline.get("path", ""))),
        ("current", str(comparison.current.get("path", ""))),
        ("tolerance", f"{comparison.gate.tolerance:g}"),
        ("latency_ratio", f"{comparison.gate.latency_ratio:g}"),
        ("cost_ratio", f"{comparison.gate.cost_ratio:g}"),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    if comparison.problems:
        case = _testcase(suite, "run completeness", f"harness.compare.{_classname(comparison.suite)}")
        error = ET.SubElement(
            case, "error", {"type": "incomplete", "message": _clean(comparison.problems[0])}
        )
        error.text = _clean("\n".join(comparison.problems))
    for check in comparison.checks:
        _add_check(suite, comparison, check)
    ET.SubElement(suite, "system-out").text = _clean(_system_out(comparison))
    ET.SubElement(suite, "system-err").text = ""
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(comparison: Comparison, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_junit(comparison), encoding="utf-8")


def render_junit_error(
    message: str, *, timestamp: datetime | None = None, hostname: str | None = None
) -> str:
    """A JUnit document with one errored testcase: the runs could not be compared (exit 2)."""
    stamp = (timestamp or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    host = _clean(hostname or socket.gethostname() or "localhost") or "localhost"
    root = ET.Element("testsuites")
    attrs = {"name": "harness compare", "package": "harness.compare", "id": "0", "timestamp": stamp}
    attrs |= {"hostname": host, "tests": "1", "failures": "0", "errors": "1", "skipped": "0", "time": "0"}
    suite = ET.SubElement(root, "testsuite", attrs)
    ET.SubElement(suite, "properties")
    case = _testcase(suite, "runs are comparable", "harness.compare")
    error = ET.SubElement(case, "error", {"type": "incompatible", "message": _clean(message)})
    error.text = _clean(message)
    ET.SubElement(suite, "system-out").text = ""
    ET.SubElement(suite, "system-err").text = _clean(message)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit_error(message: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_junit_error(message), encoding="utf-8")


def _add_check(suite: ET.Element, comparison: Comparison, check: Check) -> None:
    # The cell id goes into the name, not the classname: viewers split classnames at dots (0.6).
    classname = f"harness.compare.{_classname(comparison.suite)}"
    case = _testcase(suite, f"{check.metric} [{check.cell_id}]", classname)
    if check.verdict == "regression":
        failure = ET.SubElement(
            case, "failure", {"type": f"{check.kind}-regression", "message": _clean(check.message)}
        )
        failure.text = _clean(_details(check))
    elif check.verdict == "skipped":
        ET.SubElement(case, "skipped", {"message": _clean(check.message)})


def _testcase(suite: ET.Element, name: str, classname: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"name": _clean(name), "classname": classname, "time": "0"})


def _details(check: Check) -> str:
    lines = [
        f"cell: {check.cell_id}",
        f"metric: {check.metric} ({check.kind})",
        f"test: {check.test}",
        f"baseline: {check.baseline}",
        f"current: {check.current}",
        f"estimate: {check.estimate} ({'current - baseline' if check.kind == 'quality' else 'current / baseline'})",
        f"95% CI: [{check.ci_low}, {check.ci_high}]",
        f"limit: {check.limit} ({'tolerance' if check.kind == 'quality' else 'largest ratio'})",
    ]
    if check.p_value is not None:
        lines.append(f"p: {check.p_value} (Holm: {check.p_holm})")
    lines.append(f"n: {check.n}")
    return "\n".join(lines)


def _system_out(comparison: Comparison) -> str:
    lines = [comparison.headline(), *comparison.notes]
    counts = comparison.to_dict(max_flips=0)["flip_counts"]
    lines.append(
        f"flipped items: {counts['right_to_wrong']} right->wrong, {counts['wrong_to_right']} wrong->right"
    )
    return "\n".join(lines)


def _classname(text: str) -> str:
    return _clean(text).replace(".", "_") or "suite"


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters, even escaped: drop them."""
    return _CONTROL.sub("", text)
