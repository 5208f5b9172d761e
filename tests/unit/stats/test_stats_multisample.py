"""Multi-sample metrics in the summary: pass@k, maj@k, pass^k and diversity, with their k and pool."""

from __future__ import annotations

from math import comb

import pytest
from stats_builders import make_record, make_score

from harness.records import Record, Score
from harness.stats.multisample import choose_k
from harness.stats.summary import summarize


def test_choose_k() -> None:
    assert choose_k([4, 4, 3, 1]) == 3
    assert choose_k([1, 1]) is None
    assert choose_k([]) is None


def _number_results_run() -> tuple[list[Record], list[Score]]:
    # Item a: 4 results, 1 right; item b: 4 results, 3 right (answers given explicitly for the vote).
    ra = make_record("a", texts=("1", "2", "3", "4"))
    rb = make_record("b", texts=("1", "2", "3", "4"))
    scores = [
        make_score(ra, 1.0, result_index=0, extracted="7"),
        make_score(ra, 0.0, result_index=1, extracted="5"),
        make_score(ra, 0.0, result_index=2, extracted="5"),
        make_score(ra, 0.0, result_index=3, extracted="6"),
        make_score(rb, 1.0, result_index=0, extracted="9"),
        make_score(rb, 1.0, result_index=1, extracted="9"),
        make_score(rb, 0.0, result_index=2, extracted=None, outcome="no_answer"),
        make_score(rb, 1.0, result_index=3, extracted="9"),
    ]
    return [ra, rb], scores


def test_pass_at_k_from_number_results_matches_closed_form() -> None:
    records, scores = _number_results_run()
    metrics = summarize(records, scores, manifest=None)["cells"][0]["metrics"]
    k = 4
    expected_pass = ((1 - comb(3, k) / comb(4, k)) + (1 - comb(1, k) / comb(4, k))) / 2
    assert metrics["pass@k"]["mean"] == pytest.approx(expected_pass)  # both items: at least one right
    assert metrics["pass@k"]["k"] == 4
    assert metrics["pass@k"]["pooled_over"] == ["numberResults"]
    assert metrics["pass@k"]["n"] == 2  # items
    assert metrics["pass^k"]["mean"] == 0.0  # neither item is right 4 times out of 4
    # Votes: a -> "5" (wrong), b -> "9" (right).
    assert metrics["maj@k"]["mean"] == 0.5
    # Distinct answers / k: a has 7,5,6 -> 3/4; b has 9 -> 1/4.
    assert metrics["diversity"]["mean"] == pytest.approx(0.5)
    assert metrics["accuracy"]["mean"] == 0.5
    assert metrics["accuracy"]["method"] == "cluster-bootstrap"


def test_seed_axis_pools_cells_that_differ_only_in_seed() -> None:
    records, scores = [], []
    for t in (0.0, 1.0):
        for seed in (1, 2, 3):
            for i in range(5):
                rec = make_record(f"q{i}", {"temperature": t, "seed": seed}, seed=seed)
                records.append(rec)
                right = i < 2 or (t == 0.0 and seed == 1)  # t=0: items 2..4 right once in 3
                scores.append(make_score(rec, 1.0 if right else 0.0, extracted=str(seed)))
    s = summarize(records, scores, manifest=None)
    assert len(s["cells"]) == 6
    by_id = {c["cell_id"]: c["metrics"] for c in s["cells"]}
    pooled_t0 = by_id["seed=1,temperature=0.0"]["pass@k"]
    assert pooled_t0 == by_id["seed=3,temperature=0.0"]["pass@k"]  # one pool, reported in each cell
    assert (pooled_t0["k"], pooled_t0["pooled_over"], pooled_t0["mean"]) == (3, ["seed"], 1.0)
    assert by_id["seed=2,temperature=1.0"]["pass@k"]["mean"] == pytest.approx(2 / 5)
    assert by_id["seed=2,temperature=0.0"]["pass^k"]["mean"] == pytest.approx(2 / 5)
    # maj@3 at t=0: items 0,1 right thrice; items 2..4 answers "1","2","3" -> vote "1" (tie, smallest), right.
    assert by_id["seed=2,temperature=0.0"]["maj@k"]["mean"] == 1.0
    assert "pass@k" not in s["overall"]["metrics"]


def test_repeats_pool_within_a_cell_and_single_samples_have_none() -> None:
    records, scores = [], []
    for repeat in range(2):
        for i in range(3):
            rec = make_record(f"q{i}", {"t": 1}, repeat=repeat)
            records.append(rec)
            scores.append(make_score(rec, 1.0 if (i + repeat) % 2 else 0.0))
    metrics = summarize(records, scores, manifest=None)["cells"][0]["metrics"]
    assert metrics["pass@k"]["pooled_over"] == ["repeat"]
    assert metrics["pass@k"]["mean"] == 1.0  # every item right once in two
    assert metrics["pass^k"]["mean"] == 0.0
    single = summarize(records[:3], scores[:3], manifest=None)["cells"][0]["metrics"]
    assert set(single) == {"accuracy", "score:numeric"}
