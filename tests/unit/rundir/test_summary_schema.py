"""The typed summary: summary.json round-trips through `Summary` byte for byte (the golden run's, and
one freshly written by build_outputs), and a summary that does not fit the schema is a StoreError."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from harness.errors import StoreError
from harness.report import build_outputs
from harness.rundir import RunDir, Summary, summary_from_json, summary_to_json
from harness.stats import summarize

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "run_small"
OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2


def _golden_summary() -> dict[str, object]:
    run = RunDir(GOLDEN)
    return summarize(run.records(), run.scores(), manifest=run.manifest().to_dict())


def test_golden_summary_round_trips() -> None:
    raw = _golden_summary()
    typed = Summary.model_validate(raw)
    assert summary_to_json(typed) == raw
    assert orjson.dumps(summary_to_json(typed), option=OPTIONS) == orjson.dumps(raw, option=OPTIONS)
    assert typed.overall.n_trials == 8
    assert typed.cell("temperature=0.0") is typed.cells[0]


def test_written_summary_round_trips(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(GOLDEN, run_dir)
    build_outputs(run_dir, html=False)
    written = (run_dir / "summary.json").read_bytes()
    summary = RunDir(run_dir).summary()
    assert summary.thresholds == []
    assert orjson.dumps(summary_to_json(summary), option=OPTIONS) + b"\n" == written


def test_numbers_keep_their_type() -> None:
    raw = _golden_summary()
    raw["rate"] = {"target_rps": 2, "achieved_rps": 1.0}
    dumped = summary_to_json(summary_from_json(raw))
    assert dumped["rate"] == {"target_rps": 2, "achieved_rps": 1.0}
    assert isinstance(dumped["rate"]["target_rps"], int)
    assert isinstance(dumped["rate"]["achieved_rps"], float)


def test_absent_blocks_stay_absent_and_null_stays_null() -> None:
    raw = _golden_summary()
    assert "judge" not in raw
    assert "thresholds" not in raw
    raw["overall"]["latency"]["ttft_s"] = None  # type: ignore[index]
    raw["comparisons"][0]["mcnemar_p"] = None  # type: ignore[index]
    dumped = summary_to_json(summary_from_json(raw))
    assert "judge" not in dumped
    assert "thresholds" not in dumped
    assert dumped["overall"]["latency"]["ttft_s"] is None
    assert dumped["comparisons"][0]["mcnemar_p"] is None


def test_a_misspelt_key_is_named() -> None:
    raw = _golden_summary()
    raw["overall"] = dict(raw["overall"], n_trails=8)  # type: ignore[call-overload]
    with pytest.raises(StoreError, match=r"field overall\.n_trails"):
        summary_from_json(raw)
