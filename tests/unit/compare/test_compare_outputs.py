"""The gate's outputs: JUnit (validated against a JUnit XSD), Markdown (checked by content),
pytest-benchmark JSON, the terminal table and the CLI's exit codes."""

from __future__ import annotations

import io
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import xmlschema
from compare_builders import CellSpec, ones_then_zeros, write_run
from rich.console import Console

from harness.cli import main as cli_main
from harness.compare import Comparison, compare_runs, load_current
from harness.compare.benchjson import benchmark_json
from harness.compare.junit import render_junit, render_junit_error
from harness.compare.markdown import render_markdown
from harness.compare.table import print_comparison

XSD = Path(__file__).resolve().parents[2] / "data" / "junit.xsd"
N = 200
STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


@pytest.fixture
def regressed(tmp_path: Path) -> tuple[Path, Path]:
    lat = [1.0 + (i % 20) / 10 for i in range(N)]
    values = ones_then_zeros(N, 160)
    dropped = ones_then_zeros(N, 130)
    dropped[0] = 0  # and item q000 | with a pipe in nothing: keep ids simple
    base = write_run(
        tmp_path / "base",
        {"t=0.6": CellSpec(values, latency_s=lat), "t=1.0": CellSpec(values, latency_s=lat)},
    )
    cur = write_run(
        tmp_path / "cur",
        {
            "t=0.6": CellSpec(dropped, latency_s=lat),
            "t=1.0": CellSpec(values, latency_s=[x * 1.5 for x in lat]),
        },
    )
    return base, cur


@pytest.fixture
def comparison(regressed: tuple[Path, Path]) -> Comparison:
    base, cur = regressed
    return compare_runs(cur, base)


def test_junit_is_valid_and_has_one_testcase_per_cell_and_metric(
    comparison: Comparison, schema: xmlschema.XMLSchema
) -> None:
    xml = render_junit(comparison, timestamp=STAMP, hostname="ci")
    schema.validate(xml)
    root = ET.fromstring(xml)
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 2 * 4
    assert suite.get("tests") == "8"
    assert suite.get("failures") == str(len(comparison.regressions))
    assert suite.get("timestamp") == "2026-01-02T03:04:05"
    names = {c.get("name") for c in cases}
    assert "accuracy [t=0.6]" in names
    assert "p95_latency_s [t=1.0]" in names
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    acc = failed["accuracy [t=0.6]"]
    assert acc is not None
    assert acc.get("type") == "quality-regression"
    message = acc.get("message") or ""
    assert "80.0% -> 64.5%" in message
    assert "-15.5 pts" in message
    assert "95% CI" in message
    assert "cell: t=0.6" in (acc.text or "")
    assert "p95_latency_s [t=1.0]" in failed
    assert "accuracy [t=1.0]" not in failed


def test_junit_of_an_incomplete_run_has_an_error_case(tmp_path: Path, schema: xmlschema.XMLSchema) -> None:
    cells = {"a": CellSpec(ones_then_zeros(20, 10))}
    base = write_run(tmp_path / "base", cells)
    cur = write_run(tmp_path / "cur", cells, status="interrupted", planned=40)
    xml = render_junit(compare_runs(cur, base), timestamp=STAMP, hostname="ci")
    schema.validate(xml)
    error = ET.fromstring(xml).find("testsuite/testcase/error")
    assert error is not None
    assert error.get("type") == "incomplete"
    assert "20 of 40 trials" in (error.get("message") or "")


def test_junit_error_document_is_valid(schema: xmlschema.XMLSchema) -> None:
    xml = render_junit_error(
        "different suites: baseline is 'a', current is 'b'", timestamp=STAMP, hostname="h"
    )
    schema.validate(xml)
    assert "different suites" in xml


def test_the_xsd_rejects_a_failure_without_type(schema: xmlschema.XMLSchema, comparison: Comparison) -> None:
    xml = render_junit(comparison, timestamp=STAMP, hostname="ci").replace('type="quality-regression" ', "")
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(xml)


def test_junit_drops_control_characters(tmp_path: Path, schema: xmlschema.XMLSchema) -> None:
    cells = {"a\x07b": CellSpec(ones_then_zeros(20, 10))}
    base = write_run(tmp_path / "base", cells)
    cur = write_run(tmp_path / "cur", cells)
    xml = render_junit(compare_runs(cur, base), timestamp=STAMP, hostname="ci")
    schema.validate(xml)
    assert "accuracy [ab]" in xml


def test_markdown_names_the_verdict_cells_numbers_and_flips(comparison: Comparison) -> None:
    md = render_markdown(comparison)
    assert md.startswith("## ❌ harness compare: regression in 3 check(s)")
    assert "suite `gate-test`" in md
    assert "**paired** comparison" in md
    assert "| `t=0.6` | accuracy | 80.0% | 64.5% | -15.5 pts [" in md
    assert "| −2 pts | ❌ regression |" in md
    assert "| `t=1.0` | p95_latency_s |" in md
    assert "×1.50 [" in md
    assert "<details><summary>Flipped right → wrong: 31 item(s)</summary>" in md
    # Both answers of a flipped item, beside its reference.
    assert "| `t=0.6` | `q000` | 0 | 0 | 0 | 09 |" in md
    assert "wrong → right" not in md


def test_markdown_of_a_clean_comparison(tmp_path: Path) -> None:
    cells = {"a": CellSpec(ones_then_zeros(50, 25))}
    comparison = compare_runs(write_run(tmp_path / "c", cells), write_run(tmp_path / "b", cells))
    md = render_markdown(comparison)
    assert md.startswith("## ✅ harness compare: no regression (4 checks, paired)")
    assert "Flipped" not in md
    assert "<sub>Gate: quality tolerance 2 pts, latency ratio ×1.2" in md


def test_markdown_escapes_pipes_and_html_in_answers(tmp_path: Path) -> None:
    base = write_run(tmp_path / "b", {"a": CellSpec([1, 1], references=["<b>x|y</b>", "2"])})
    cur = write_run(tmp_path / "c", {"a": CellSpec([0, 1], references=["<b>x|y</b>", "2"])})
    md = render_markdown(compare_runs(cur, base))
    assert "&lt;b&gt;x\\|y&lt;/b&gt;" in md
    assert "<b>" not in md


def test_unpaired_markdown_says_so(tmp_path: Path) -> None:
    cells = {"a": CellSpec(ones_then_zeros(100, 80))}
    base = write_run(tmp_path / "b", cells)
    cur = write_run(tmp_path / "c", cells)
    md = render_markdown(compare_runs(cur, base / "summary.json"))
    assert "**unpaired** comparison" in md
    assert "unpaired: the baseline is a summary without records" in md


def test_benchmark_json_has_p50_and_p95_per_cell(regressed: tuple[Path, Path]) -> None:
    _, cur = regressed
    doc = benchmark_json(load_current(cur))
    names = [b["fullname"] for b in doc["benchmarks"]]
    assert names == [
        "gate-test::p50_latency_s[t=0.6]",
        "gate-test::p95_latency_s[t=0.6]",
        "gate-test::p50_latency_s[t=1.0]",
        "gate-test::p95_latency_s[t=1.0]",
    ]
    p95 = doc["benchmarks"][3]
    # t=1.0 latencies are 1.5 * (1.0 + (i % 20) / 10): 20 values repeated 10 times.
    expected = 1.5 * (1.0 + 1.805)
    assert p95["stats"]["mean"] == pytest.approx(expected)
    assert p95["stats"]["median"] == pytest.approx(expected)
    assert p95["stats"]["ops"] == pytest.approx(1 / expected)
    assert p95["stats"]["rounds"] == N
    assert p95["stats"]["min"] <= p95["stats"]["mean"] <= p95["stats"]["max"]
    assert p95["extra_info"]["unit"] == "s"
    assert doc["commit_info"]["id"] == "abc123"


def test_pytest_benchmark_compare_reads_the_file(regressed: tuple[Path, Path], tmp_path: Path) -> None:
    _, cur = regressed
    path = tmp_path / "0001_bench.json"
    path.write_bytes(orjson.dumps(benchmark_json(load_current(cur))))
    out = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(path), "--columns=median,ops,rounds"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "p95_latency_s[t=1.0]" in out.stdout
    assert "Failed to load" not in out.stdout + out.stderr


def test_terminal_table_shows_checks_and_verdict(comparison: Comparison) -> None:
    buffer = io.StringIO()
    print_comparison(comparison, Console(file=buffer, width=200, color_system=None))
    text = buffer.getvalue()
    assert "regression" in text
    assert "t=0.6" in text
    assert "-15.5 pts" in text
    assert "right->wrong t=0.6 item q000#0: ref '0', baseline '0', current '09'" in text
    assert text.rstrip().endswith("(exit 1)")


def test_cli_writes_outputs_and_returns_the_gate_exit_code(
    regressed: tuple[Path, Path],
    tmp_path: Path,
    schema: xmlschema.XMLSchema,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, cur = regressed
    junit, md, bench = tmp_path / "out" / "junit.xml", tmp_path / "summary.md", tmp_path / "bench.json"
    md.write_text("previous step\n", encoding="utf-8")
    argv = ["compare", str(cur), "--baseline", str(base), "--no-report"]
    code = cli_main([*argv, "--junit", str(junit), "--markdown", str(md), "--benchmark-json", str(bench)])
    assert code == 1
    schema.validate(str(junit))
    text = md.read_text(encoding="utf-8")
    assert text.startswith("previous step\n## ❌ harness compare")
    assert len(orjson.loads(bench.read_bytes())["benchmarks"]) == 4
    assert "regression in 3 check(s)" in capsys.readouterr().out


def test_cli_exit_2_for_incompatible_runs_still_writes_the_reason(
    tmp_path: Path, schema: xmlschema.XMLSchema
) -> None:
    cells = {"a": CellSpec([1, 0])}
    base = write_run(tmp_path / "b", cells, suite="one")
    cur = write_run(tmp_path / "c", cells, suite="two")
    junit, md = tmp_path / "j.xml", tmp_path / "s.md"
    code = cli_main(
        [
            "compare",
            str(cur),
            "--baseline",
            str(base),
            "--no-report",
            "--junit",
            str(junit),
            "--markdown",
            str(md),
        ]
    )
    assert code == 2
    schema.validate(str(junit))
    assert "runs are not comparable" in md.read_text(encoding="utf-8")
    assert "different suites" in md.read_text(encoding="utf-8")


def test_cli_exit_0_when_nothing_changed(tmp_path: Path) -> None:
    cells = {"a": CellSpec(ones_then_zeros(40, 30))}
    base = write_run(tmp_path / "b", cells)
    cur = write_run(tmp_path / "c", cells)
    assert cli_main(["compare", str(cur), "--baseline", str(base), "--no-report"]) == 0
