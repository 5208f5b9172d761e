"""A racing sweep through the real runner on the embedded simulator (no latency): it finds the best of
four cells of the one-best-of-24 skill curve with fewer trials than the grid, writes its decisions to
the race log, and a race stopped by its budget and resumed ends exactly as an uninterrupted one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.paths import configs_dir, suites_dir
from harness.racing import RACE_FILE
from harness.rundir.layout import RECORDS

BEST = "temperature=0.7,topK=40"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fast_target(tmp_path: Path) -> Path:
    """The shipped one-best target without latency."""
    data = yaml.safe_load((configs_dir() / "targets" / "sim-one-best.yaml").read_text())
    data["simulator"] = {"latency": "0", "seed": 0, "skill": "one-best-of-24"}
    path = tmp_path / "fast-one-best.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def racing_suite(tmp_path: Path) -> Path:
    data: dict[str, Any] = yaml.safe_load((suites_dir() / "racing.yaml").read_text())
    data["dataset"]["path"] = str(suites_dir() / "data" / "gsm8k_test.jsonl.gz")
    data["dataset"]["limit"] = 120
    data["grid"] = {"temperature": [0.7], "topK": [1, 10, 40, 100]}  # 0.60, 0.64, 0.85, 0.67
    data["run"]["racing"] = {"first_items": 20, "growth": 1.5}
    path = tmp_path / "racing.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(tmp_path: Path, out: Path, *extra: str) -> int:
    target = fast_target(tmp_path)
    return main(["run", str(racing_suite(tmp_path)), "--target", str(target), "--no-progress", *extra])


pytestmark = pytest.mark.slow  # whole runs through the CLI, ~5-15 s each


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("race")
    out = tmp / "run"
    assert run(tmp, out, "--out", str(out)) == 0
    return out


def test_the_race_keeps_the_best_cell_and_spends_less_than_the_grid(finished: Path) -> None:
    log = json.loads((finished / RACE_FILE).read_text())
    records = read_jsonl(finished / RECORDS)
    assert BEST in log["survivors"]
    assert log["schedule"] == [20, 30, 45, 68, 102, 120]
    assert len(records) < 4 * 120
    assert {r["cell_id"] for r in records} == {f"temperature=0.7,topK={k}" for k in (1, 10, 40, 100)}
    dropped = [t["cell_id"] for look in log["looks"] for t in look["tests"] if t["dropped"]]
    assert dropped
    assert BEST not in dropped
    # A dropped cell got no item after the look that dropped it.
    for look in log["looks"]:
        for test in look["tests"]:
            if test["dropped"]:
                n = len({r["item_id"] for r in records if r["cell_id"] == test["cell_id"]})
                assert n == look["n_items"]


def test_summary_and_manifest_describe_the_race(finished: Path) -> None:
    summary = json.loads((finished / "summary.json").read_text())
    manifest = json.loads((finished / "manifest.json").read_text())
    racing = summary["power"]["racing"]
    assert racing["trials"] == len(read_jsonl(finished / RECORDS))
    assert racing["grid_trials"] == manifest["grid_plan"]["trials"] == 480
    # The finished race's plan is what it sent, so the run reads as complete (harness compare trusts it).
    assert manifest["plan"]["trials"] == racing["trials"]
    assert racing["survivors"] == json.loads((finished / RACE_FILE).read_text())["survivors"]
    assert summary["power"]["verdict"]["best"] == BEST
    assert manifest["run"]["strategy"] == "racing"
    assert "resumed" not in manifest  # one session, however many looks
    assert manifest["status"] == "complete"


def test_a_finished_race_can_be_gated(finished: Path, tmp_path: Path) -> None:
    assert main(["compare", str(finished), "--baseline", str(finished), "--no-report"]) == 0


def test_resuming_a_finished_race_sends_nothing(finished: Path, tmp_path: Path) -> None:
    before = (finished / RECORDS).read_bytes()
    log = (finished / RACE_FILE).read_text()
    assert run(tmp_path, finished, "--resume", str(finished)) == 0
    assert (finished / RECORDS).read_bytes() == before
    assert json.loads((finished / RACE_FILE).read_text())["looks"] == json.loads(log)["looks"]


def test_a_race_stopped_by_its_budget_resumes_to_the_same_end(finished: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run(tmp_path, out, "--out", str(out), "--max-cost", "0.012") == 3
    partial = json.loads((out / RACE_FILE).read_text()) if (out / RACE_FILE).exists() else {"looks": []}
    assert len(partial["looks"]) < len(json.loads((finished / RACE_FILE).read_text())["looks"])
    assert run(tmp_path, out, "--resume", str(out)) == 0
    again = json.loads((out / RACE_FILE).read_text())
    assert again["looks"] == json.loads((finished / RACE_FILE).read_text())["looks"]
    keys = {r["trial_key"] for r in read_jsonl(out / RECORDS)}
    assert keys == {r["trial_key"] for r in read_jsonl(finished / RECORDS)}


def test_the_dry_run_prints_the_looks_and_what_they_can_detect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.stats.power import paired_mde

    assert run(tmp_path, tmp_path / "unused", "--dry-run") == 0
    out = capsys.readouterr().out
    assert (
        "  power     assuming accuracy 0.60 (plan.accuracy), correlation 0.00 (default, the cautious choice)"
        in out
    )
    mde = paired_mde(120, 0.6, 0.0)
    assert mde is not None
    assert f"paired difference detectable at 80% power: {mde * 100:.1f} points for one comparison" in out
    assert (
        "  strategy  racing: 6 looks at 20, 30, 45, 68, 102, 120 items; each look tests at alpha 0.05/6"
        in out
    )
    assert "trials: at most 480 (no cell dropped), at least 80 (every cell through the first look)" in out
    assert not (tmp_path / "unused").exists()


def test_the_demo_report_names_no_winner_its_comparisons_cannot_support(tmp_path: Path) -> None:
    # The shipped demo (30 items, 12 cells) on a latency-free copy of its target: the same answers.
    data = yaml.safe_load((configs_dir() / "targets" / "sim.yaml").read_text())
    data["simulator"] = {"latency": "0", "seed": 0}
    target = tmp_path / "sim.yaml"
    target.write_text(yaml.safe_dump(data))
    out = tmp_path / "demo"
    args = [
        "run",
        str(suites_dir() / "demo.yaml"),
        "--target",
        str(target),
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    verdict = summary["power"]["verdict"]
    best = next(c for c in summary["cells"] if c["cell_id"] == verdict["best"])
    # Cells whose CIs overlap the best's are among the tied ones.
    overlapping = [
        c["cell_id"]
        for c in summary["cells"]
        if c["cell_id"] != verdict["best"]
        and c["metrics"]["accuracy"]["ci_high"] >= best["metrics"]["accuracy"]["ci_low"]
    ]
    assert overlapping
    assert set(overlapping) <= set(verdict["tied"])
    page = (out / "report.html").read_text()
    assert "No cell is distinguishable from the best by accuracy" in page
    assert "Best cell by accuracy" not in page


def test_a_load_sweep_cannot_race(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(suites_dir() / "load-sweep.yaml"), "--dry-run", "--set", "run.strategy=racing"])
    assert code == 2
    assert (
        "load-sweep.yaml: run.strategy: a load sweep (load:) measures the endpoint at fixed trials; it cannot "
        in (capsys.readouterr().err)
    )
