"""build_outputs and `harness report`: re-score, summarise, check thresholds, write; rebuilds are identical."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from report_fixtures import parse_html, write_run

from harness.cli import main as cli_main
from harness.config import ScorerConfig
from harness.errors import ConfigError, StoreError
from harness.report import build_outputs

AXES = {"temperature": [0.0, 0.6], "topK": [20, 40]}
# Rendering draws every figure (~0.2 s each on 2 cores): tests that need no page pass html=False.


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    write_run(tmp_path / "run", axes=AXES, n_items=5, with_summary=False)
    return tmp_path / "run"


def test_build_outputs_writes_summary_with_threshold_verdicts(run_dir: Path) -> None:
    outputs = build_outputs(run_dir, html=False)
    on_disk = orjson.loads((run_dir / "summary.json").read_bytes())
    assert on_disk == orjson.loads(orjson.dumps(outputs.summary))
    assert on_disk["thresholds"] == [r.to_dict() for r in outputs.threshold_results]
    assert {r["metric"] for r in on_disk["thresholds"]} == {"accuracy", "p95_latency_s"}
    assert len(on_disk["thresholds"]) == 1 + 4  # best_cell once, each_cell per cell
    assert outputs.report_path is None


def test_summary_json_has_sorted_keys(run_dir: Path) -> None:
    build_outputs(run_dir, html=False)
    text = (run_dir / "summary.json").read_bytes()
    assert text == orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
    assert not (run_dir / "report.html").exists()


def test_rebuilding_from_the_run_directory_gives_identical_files(run_dir: Path) -> None:
    build_outputs(run_dir)
    first = {name: (run_dir / name).read_bytes() for name in ("scores.jsonl", "summary.json", "report.html")}
    for name in first:
        (run_dir / name).unlink()
    build_outputs(run_dir)
    assert {name: (run_dir / name).read_bytes() for name in first} == first


def test_scores_are_recomputed_from_the_suite_scorers(run_dir: Path) -> None:
    (run_dir / "scores.jsonl").write_bytes(b"")
    build_outputs(run_dir, html=False)
    scores = [orjson.loads(line) for line in (run_dir / "scores.jsonl").read_bytes().splitlines()]
    assert len(scores) == 4 * 5
    assert {s["scorer"] for s in scores} == {"numeric"}


def test_explicit_scorers_replace_the_suite_ones(run_dir: Path) -> None:
    outputs = build_outputs(run_dir, scorers=[ScorerConfig(name="contains")], html=False)
    assert outputs.summary["scorers"] == ["contains"]


def test_a_run_without_suite_keeps_its_scores(run_dir: Path) -> None:
    manifest = orjson.loads((run_dir / "manifest.json").read_bytes())
    manifest["suite"] = None
    (run_dir / "manifest.json").write_bytes(orjson.dumps(manifest))
    before = (run_dir / "scores.jsonl").read_bytes()
    outputs = build_outputs(run_dir, html=False)
    assert (run_dir / "scores.jsonl").read_bytes() == before
    assert outputs.threshold_results == []


def test_a_bad_scorer_in_the_manifest_names_its_field(run_dir: Path) -> None:
    manifest = orjson.loads((run_dir / "manifest.json").read_bytes())
    manifest["suite"]["scorers"] = [{"name": "numeric", "bogus": 1}]
    (run_dir / "manifest.json").write_bytes(orjson.dumps(manifest))
    with pytest.raises(ConfigError) as info:
        build_outputs(run_dir, html=False)
    assert info.value.file == "manifest.json"
    assert info.value.field == "suite.scorers[0].bogus"


def test_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a directory"):
        build_outputs(tmp_path / "missing")
    with pytest.raises(StoreError, match=r"manifest\.json: not found"):
        build_outputs(tmp_path)


def test_comparison_adds_a_section(tmp_path: Path) -> None:
    run_dir = tmp_path / "small"
    write_run(run_dir, axes={"temperature": [0.0, 0.6]}, n_items=3, with_summary=False)
    comparison = {
        "verdict": "regression",
        "headline": "regression in 1 check(s): accuracy at 'temperature=0.0'",
        "baseline": {
            "path": "reports/base",
            "started_at": "2026-11-20T00:00:00+00:00",
            "git_commit": "0ff1ce",
        },
        "checks": [
            {
                "cell_id": "temperature=0.0",
                "metric": "accuracy",
                "kind": "quality",
                "test": "paired",
                "n": 5,
                "baseline": 0.8,
                "current": 0.4,
                "estimate": -0.4,
                "ci_low": -0.6,
                "ci_high": -0.2,
                "p_value": 0.03,
                "p_holm": 0.03,
                "limit": 0.02,
                "verdict": "regression",
                "message": "dropped",
            }
        ],
        "flips": [
            {
                "cell_id": "temperature=0.0",
                "item_id": "item-1",
                "repeat": 0,
                "direction": "right_to_wrong",
                "reference": "42",
                "baseline_value": 1.0,
                "current_value": 0.0,
                "baseline_answer": "42",
                "current_answer": "<b>41</b>",
                "baseline_text": "",
                "current_text": "",
            }
        ],
        "flip_counts": {"right_to_wrong": 1, "wrong_to_right": 0, "shown": 1},
        "pairing": {"matched": 20, "only_baseline": 0, "only_current": 0, "error_pairs": 2},
        "problems": [],
        "notes": [],
    }
    outputs = build_outputs(run_dir, comparison=comparison)
    assert outputs.report_path is not None
    dom = parse_html(outputs.report_path.read_text())
    section = dom.find_id("comparison")
    checks = [
        [td.text() for td in tr.iter("td")]
        for tr in dom.find_id("table-comparison-checks").iter("tbody")[0].iter("tr")
    ]
    assert checks == [
        [
            "#1 temperature=0.0",
            "accuracy",
            "5",
            "80.0%",
            "40.0%",
            "−40.0% [−60.0%, −20.0%]",
            "drop ≤ 2.0%",
            "regression",
        ]
    ]
    flips = dom.find_id("table-comparison-flips").iter("tbody")[0].iter("tr")
    assert [td.text() for td in flips[0].iter("td")][3:] == ["right to wrong", "42", "42", "<b>41</b>"]
    assert section.iter("b") == []


def test_cli_report_exits_1_on_a_failed_threshold(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["report", str(run_dir), "--format", "md"])
    assert code == 1
    assert "threshold failed: p95_latency_s" in capsys.readouterr().err


def test_cli_report_exits_0_when_thresholds_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path, axes={"temperature": [0.0]}, n_items=2, thresholds=False, with_summary=False)
    assert cli_main(["report", str(tmp_path), "--format", "md"]) == 0
    assert capsys.readouterr().err == ""


def test_cli_report_markdown_to_stdout_and_to_a_file(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_main(["report", str(run_dir), "--format", "md"])
    out = capsys.readouterr().out
    assert out.startswith("### demo: accuracy ")
    assert not (run_dir / "report.html").exists()
    target = tmp_path / "summary.md"
    cli_main(["report", str(run_dir), "--format", "md", "--out", str(target)])
    assert target.read_text() == out


def test_cli_report_max_items_and_out(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "elsewhere.html"
    cli_main(["report", str(run_dir), "--max-items", "2", "--out", str(target)])
    assert capsys.readouterr().out.strip() == str(target)
    dom = parse_html(target.read_text())
    assert len([d for d in dom.iter("details") if "item" in (d.attrs.get("class") or "").split()]) == 2
    assert not (run_dir / "report.html").exists()


def test_cli_report_on_a_missing_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["report", str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_cli_report_rejects_a_negative_max_items(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli_main(["report", str(run_dir), "--max-items", "-1"])
    assert info.value.code == 2
    assert "expected 0 or more items" in capsys.readouterr().err


def test_cli_report_markdown_and_html_verdict_show_an_unfinished_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import orjson

    write_run(tmp_path, axes={"temperature": [0.0]}, n_items=2, thresholds=False, with_summary=False)
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    manifest.update(status="interrupted", stop_reason=None, plan={**manifest["plan"], "trials": 200})
    (tmp_path / "manifest.json").write_bytes(orjson.dumps(manifest))
    assert cli_main(["report", str(tmp_path), "--format", "md"]) == 0
    expected = "Run interrupted: 2 of 200 planned trials done"
    assert expected in capsys.readouterr().out
    cli_main(["report", str(tmp_path)])
    verdict = (tmp_path / "report.html").read_text().split('id="verdict"')[1].split("</section>")[0]
    assert expected in verdict


def _judge_record(key: str, *, ok: bool, cost: float) -> dict[str, object]:
    from harness.records import Record, Result, Timing, Usage

    return Record(
        trial_key=key,
        cell_id="judge-abc",
        cell={},
        item_id=f"{key}/0",
        repeat=0,
        seed=None,
        target="judge",
        model="m",
        delivery="sync",
        status="ok" if ok else "error",
        timing=Timing(scheduled_at_s=0.0, sent_at_s=0.0, done_at_s=0.1),
        results=[Result(text="VERDICT: CORRECT", finish_reason="stop")] if ok else [],
        usage=Usage(100, 20, 5, 120) if ok else None,
        cost_usd=cost,
    ).to_dict()


def test_judge_spend_is_in_the_summary_and_the_money_section(tmp_path: Path) -> None:
    write_run(tmp_path, axes={"temperature": [0.0]}, n_items=2, thresholds=False, with_summary=False)
    assert "judge" not in build_outputs(tmp_path, html=False).summary  # no judge ran
    (tmp_path / "judge").mkdir()
    lines = [_judge_record("a", ok=True, cost=0.002), _judge_record("b", ok=True, cost=0.003)]
    lines.append(_judge_record("c", ok=False, cost=0.0))
    (tmp_path / "judge" / "records.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines))
    outputs = build_outputs(tmp_path)
    assert outputs.summary["judge"] == {
        "trials": 3,
        "errors": 1,
        "prompt_tokens": 200,
        "completion_tokens": 40,
        "thinking_tokens": 10,
        "cost_usd": pytest.approx(0.005),
    }
    assert orjson.loads((tmp_path / "summary.json").read_bytes())["judge"]["trials"] == 3
    money = (tmp_path / "report.html").read_text().split('id="money"')[1].split("</section>")[0]
    assert (
        "Judge (not included above): 3 calls (1 failed), 200 prompt and 40 completion tokens, $0.005."
        in money
    )
