"""score_records / score_run: error records, ordering, labels, custom scorers, the scores.jsonl file."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from harness.config import ScorerConfig
from harness.errors import ConfigError, ScoringError, StoreError
from harness.records import Record
from harness.rundir import read_records
from harness.scoring import read_scores, score_records, score_run, scorer_names

MakeRecord = Callable[..., Record]
NUMERIC = ScorerConfig(name="numeric")


def test_every_result_and_scorer_in_order(make_record: MakeRecord) -> None:
    record = make_record(["The answer is 4.", "It is 5."], reference="4")
    scores = score_records([record], [NUMERIC, ScorerConfig(name="contains")])
    assert [(s.result_index, s.scorer, s.outcome) for s in scores] == [
        (0, "numeric", "correct"),
        (0, "contains", "correct"),
        (1, "numeric", "wrong"),
        (1, "contains", "wrong"),
    ]
    assert {(s.trial_key, s.cell_id, s.item_id, s.repeat) for s in scores} == {
        ("t1", "temperature=0.6", "item-1", 0)
    }


def test_error_record_gets_one_error_score_per_scorer(make_record: MakeRecord) -> None:
    record = make_record(status="error", reference="4")
    scores = score_records([record], [NUMERIC, ScorerConfig(name="exact")])
    assert [(s.result_index, s.scorer, s.value, s.outcome) for s in scores] == [
        (0, "numeric", 0.0, "error"),
        (0, "exact", 0.0, "error"),
    ]
    assert scores[0].explanation == "request failed: server: HTTP 503"


def test_ok_record_without_results_is_error(make_record: MakeRecord) -> None:
    record = make_record([], reference="4")
    [score] = score_records([record], [NUMERIC])
    assert (score.outcome, score.explanation) == ("error", "the service returned no result")


def test_metric_label_names_the_score(make_record: MakeRecord) -> None:
    configs = [NUMERIC, ScorerConfig(name="numeric", options={"tolerance": 1}, metric="numeric_pm1")]
    scores = score_records([make_record("The answer is 5.", reference="4")], configs)
    assert [(s.scorer, s.outcome) for s in scores] == [("numeric", "wrong"), ("numeric_pm1", "correct")]


def test_duplicate_label_is_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        score_records([], [NUMERIC, ScorerConfig(name="numeric", options={"tolerance": 1})])
    assert info.value.field == "scorers[1].metric"


def test_unknown_scorer_lists_allowed() -> None:
    with pytest.raises(ConfigError) as info:
        score_records([], [NUMERIC, ScorerConfig(name="numerik")])
    assert info.value.field == "scorers[1].name"
    assert "numeric" in list(info.value.allowed or [])
    assert "pkg.module:factory" in list(info.value.allowed or [])


def test_builtin_names() -> None:
    assert {"exact", "contains", "regex", "numeric", "choice", "f1", "json", "judge"} <= set(scorer_names())


def test_options_checked_before_any_record(make_record: MakeRecord) -> None:
    with pytest.raises(ConfigError, match="tolerance"):
        score_records(
            [make_record("x", reference="1")], [ScorerConfig(name="numeric", options={"tolerance": -2})]
        )


# --- custom scorers by dotted path -------------------------------------------------------------------

CUSTOM = """
from harness.scoring import scorer
from harness.scoring.base import make_score

def length_at_least(*, minimum: int = 3):
    def score(record, result_index):
        text = record.results[result_index].text
        if not text:
            return None
        return len(text) >= minimum
    return score

def partial(*, weight: float = 0.25):
    return lambda record, result_index: weight

def full(*, label: str = "mine"):
    def score(record, result_index):
        return make_score(record, result_index, label, value=1.0, outcome="correct", extracted="x")
    return score

def broken():
    return lambda record, result_index: "yes"

def crashing():
    def score(record, result_index):
        raise ZeroDivisionError("oops")
    return score

NOT_CALLABLE = 3
"""


@pytest.fixture
def custom_module(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "my_scorers_mod.py").write_text(CUSTOM)
    sys.path.insert(0, str(tmp_path))
    try:
        yield "my_scorers_mod"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("my_scorers_mod", None)


def test_custom_scorer_returning_bool_and_none(custom_module: str, make_record: MakeRecord) -> None:
    config = ScorerConfig(name=f"{custom_module}:length_at_least", options={"minimum": 4})
    scores = score_records([make_record(["long text", "abc", ""])], [config])
    assert [(s.scorer, s.value, s.outcome) for s in scores] == [
        (config.name, 1.0, "correct"),
        (config.name, 0.0, "wrong"),
        (config.name, 0.0, "no_answer"),
    ]


def test_custom_scorer_returning_a_number(custom_module: str, make_record: MakeRecord) -> None:
    [score] = score_records([make_record("x")], [ScorerConfig(name=f"{custom_module}:partial", metric="p")])
    assert (score.scorer, score.value, score.outcome) == ("p", 0.25, "wrong")


def test_custom_scorer_returning_a_score_is_relabelled(custom_module: str, make_record: MakeRecord) -> None:
    [score] = score_records([make_record("x")], [ScorerConfig(name=f"{custom_module}:full", metric="m")])
    assert (score.scorer, score.value, score.extracted) == ("m", 1.0, "x")


def test_custom_scorer_bad_option(custom_module: str) -> None:
    with pytest.raises(ConfigError) as info:
        score_records([], [ScorerConfig(name=f"{custom_module}:length_at_least", options={"max": 1})])
    assert info.value.field == "scorers[0].options.max"
    assert list(info.value.allowed or []) == ["minimum"]


def test_custom_scorer_bad_return(custom_module: str, make_record: MakeRecord) -> None:
    with pytest.raises(ScoringError, match="returned 'yes'"):
        score_records([make_record("x")], [ScorerConfig(name=f"{custom_module}:broken")])


def test_custom_scorer_crash_names_trial(custom_module: str, make_record: MakeRecord) -> None:
    with pytest.raises(ScoringError, match=r"trial t1.*ZeroDivisionError: oops"):
        score_records([make_record("x")], [ScorerConfig(name=f"{custom_module}:crashing")])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no_such_module_xyz:f", "cannot import module"),
        ("my_scorers_mod:missing", "has no 'missing'"),
        ("my_scorers_mod:NOT_CALLABLE", "not callable"),
        (":f", "must have the form"),
    ],
)
def test_custom_scorer_bad_path(custom_module: str, name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        score_records([], [ScorerConfig(name=name)])


# --- run directories ---------------------------------------------------------------------------------


def write_records(run_dir: Path, records: list[Record], tail: bytes = b"") -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    body = b"".join(orjson.dumps(r.to_dict()) + b"\n" for r in records)
    (run_dir / "records.jsonl").write_bytes(body + tail)


def test_score_run_writes_scores_jsonl(tmp_path: Path, make_record: MakeRecord) -> None:
    records = [
        make_record("The answer is 4.", reference="4", key="a"),
        make_record(status="error", reference="4", key="b"),
    ]
    write_records(tmp_path, records)
    scores = score_run(tmp_path, [NUMERIC])
    assert [(s.trial_key, s.outcome) for s in scores] == [("a", "correct"), ("b", "error")]
    assert read_scores(tmp_path) == scores
    assert not list(tmp_path.glob(".*.tmp"))


def test_score_run_is_reproducible_byte_for_byte(tmp_path: Path, make_record: MakeRecord) -> None:
    write_records(tmp_path, [make_record(["The answer is 4.", "5"], reference="4")])
    score_run(tmp_path, [NUMERIC, ScorerConfig(name="exact")])
    first = (tmp_path / "scores.jsonl").read_bytes()
    score_run(tmp_path, [NUMERIC, ScorerConfig(name="exact")])
    assert (tmp_path / "scores.jsonl").read_bytes() == first


def test_score_run_rewrites_with_new_scorers(tmp_path: Path, make_record: MakeRecord) -> None:
    write_records(tmp_path, [make_record("The answer is 4.", reference="4")])
    score_run(tmp_path, [NUMERIC, ScorerConfig(name="exact")])
    score_run(tmp_path, [NUMERIC])
    assert [s.scorer for s in read_scores(tmp_path)] == ["numeric"]


def test_score_run_keeps_last_record_of_a_trial(tmp_path: Path, make_record: MakeRecord) -> None:
    write_records(
        tmp_path,
        [
            make_record(status="error", reference="4", key="a"),
            make_record("The answer is 4.", reference="4", key="a"),
        ],
    )
    [score] = score_run(tmp_path, [NUMERIC])
    assert score.outcome == "correct"


def test_reader_skips_torn_last_line(tmp_path: Path, make_record: MakeRecord) -> None:
    write_records(tmp_path, [make_record("4", reference="4")], tail=b'{"trial_key": "x", "cell')
    records = read_records(tmp_path)
    assert [r.trial_key for r in records] == ["t1"]


def test_reader_rejects_corrupt_middle_line(tmp_path: Path, make_record: MakeRecord) -> None:
    write_records(tmp_path, [])
    good = orjson.dumps(make_record("4", reference="4").to_dict())
    (tmp_path / "records.jsonl").write_bytes(b"{oops\n" + good + b"\n")
    with pytest.raises(StoreError, match=":1:"):
        read_records(tmp_path)


def test_a_trial_sent_again_is_scored_by_its_latest_record(tmp_path: Path, make_record: MakeRecord) -> None:
    failed = make_record(status="error", reference="4", key="a")
    retried = make_record("The answer is 4.", reference="4", key="a")
    write_records(tmp_path, [failed, make_record("5", reference="4", key="b"), retried])
    scores = score_run(tmp_path, [NUMERIC])
    assert [(s.trial_key, s.outcome) for s in scores] == [("b", "wrong"), ("a", "correct")]


def test_score_run_without_records(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="records"):
        score_run(tmp_path, [NUMERIC])


def test_read_scores_of_unscored_run(tmp_path: Path) -> None:
    assert read_scores(tmp_path) == []
