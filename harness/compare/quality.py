"""Quality checks of a comparison: per cell, the difference current - baseline with its 95% CI and a
p-value Holm-corrected across cells. Paired (shared trials: paired bootstrap + exact McNemar) or
unpaired (summaries only: MOVER CI from the two cells' CIs + z-test). Statistics come from
harness.stats; this module only chooses them, applies the tolerance and words the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.compare.load import RunSide
from harness.compare.model import Check, CheckVerdict, Flip, TrialKey
from harness.config import GateConfig
from harness.rundir.summary import Cell

PAIRED_TEST = "paired bootstrap CI, exact McNemar (Holm)"
PAIRED_TEST_NONBINARY = "paired bootstrap CI"
UNPAIRED_TEST = "unpaired: MOVER CI, two-proportion z-test (Holm)"


def tolerance_for(gate: GateConfig, cell_id: str, metric: str) -> float:
    """Per-cell override, else per-metric override, else the global tolerance."""
    for override in (gate.cells.get(cell_id), gate.metrics.get(metric)):
        if override is not None and override.tolerance is not None:
            return override.tolerance
    return gate.tolerance


def scorer_of(metric: str, primary: str | None) -> str | None:
    """accuracy is the primary scorer; score:<name> is that scorer."""
    return primary if metric == "accuracy" else metric.removeprefix("score:")


@dataclass(slots=True)
class _Pairs:
    keys: list[TrialKey]
    baseline: list[float]
    current: list[float]
    binary: bool


def paired_quality(
    baseline: RunSide, current: RunSide, cells: Sequence[str], metric: str, gate: GateConfig
) -> tuple[list[Check], int]:
    """One check per shared cell, and the number of matched pairs left out because a side errored."""
    from harness.stats import mcnemar_exact, paired_bootstrap_diff

    scorer_b = scorer_of(metric, baseline.primary_scorer)
    scorer_c = scorer_of(metric, current.primary_scorer)
    shared = sorted(baseline.trials.keys() & current.trials.keys())
    by_cell: dict[str, _Pairs] = {cell: _Pairs([], [], [], True) for cell in cells}
    error_pairs = 0
    for key in shared:
        pairs = by_cell.get(key[0])
        if pairs is None:
            continue
        row_b, row_c = baseline.trials[key], current.trials[key]
        if not (row_b.ok and row_c.ok):
            error_pairs += 1  # infrastructure failures are judged by max_error_rate, not as wrong answers
            continue
        vb, vc = row_b.values.get(scorer_b or ""), row_c.values.get(scorer_c or "")
        if vb is None or vc is None:
            continue
        pairs.keys.append(key)
        pairs.baseline.append(vb)
        pairs.current.append(vc)
        pairs.binary &= row_b.binary.get(scorer_b or "", False) and row_c.binary.get(scorer_c or "", False)
    checks: list[Check] = []
    for cell in cells:
        pairs = by_cell[cell]
        tol = tolerance_for(gate, cell, metric)
        if not pairs.keys:
            checks.append(_skipped(cell, metric, PAIRED_TEST, tol, "no scored pair without an error"))
            continue
        diff = paired_bootstrap_diff(pairs.current, pairs.baseline)
        lost = sum(b > 0.5 >= c for b, c in zip(pairs.baseline, pairs.current, strict=True))
        gained = sum(c > 0.5 >= b for b, c in zip(pairs.baseline, pairs.current, strict=True))
        p_value = mcnemar_exact(gained, lost) if pairs.binary else None
        checks.append(
            Check(
                cell_id=cell,
                metric=metric,
                kind="quality",
                test=PAIRED_TEST if pairs.binary else PAIRED_TEST_NONBINARY,
                n=diff.n_pairs,
                baseline=sum(pairs.baseline) / len(pairs.baseline),
                current=sum(pairs.current) / len(pairs.current),
                estimate=diff.diff,
                ci_low=diff.ci_low,
                ci_high=diff.ci_high,
                p_value=p_value,
                p_holm=None,
                limit=tol,
                verdict="pass",
                message=f"{lost} right->wrong, {gained} wrong->right",
            )
        )
    return _decide(checks, gate), error_pairs


def unpaired_quality(
    baseline: RunSide, current: RunSide, cells: Sequence[str], metric: str, gate: GateConfig
) -> list[Check]:
    """Compare each cell's STAT from the two summaries (independent samples)."""
    checks: list[Check] = []
    for cell in cells:
        tol = tolerance_for(gate, cell, metric)
        sb = _stat(baseline.summary_cell(cell), metric)
        sc = _stat(current.summary_cell(cell), metric)
        if sb is None or sc is None:
            missing = "baseline" if sb is None else "current"
            checks.append(
                _skipped(cell, metric, UNPAIRED_TEST, tol, f"{metric} missing from the {missing} summary")
            )
            continue
        (pb, lb, ub, nb, seb, wb), (pc, lc, uc, nc, sec, wc) = sb, sc
        diff = pc - pb
        # MOVER (Newcombe's method for Wilson intervals): combine each side's own CI.
        low = diff - math.sqrt((pc - lc) ** 2 + (ub - pb) ** 2)
        high = diff + math.sqrt((uc - pc) ** 2 + (pb - lb) ** 2)
        p_value = _two_proportion_p(pb, nb, pc, nc) if wb and wc else _z_p(diff, seb, sec)
        checks.append(
            Check(
                cell_id=cell,
                metric=metric,
                kind="quality",
                test=UNPAIRED_TEST,
                n=nc,
                baseline=pb,
                current=pc,
                estimate=diff,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
                p_holm=None,
                limit=tol,
                verdict="pass",
                message=f"n baseline {nb}, n current {nc}",
            )
        )
    return _decide(checks, gate)


def flips(baseline: RunSide, current: RunSide, cells: Sequence[str]) -> list[Flip]:
    """Items right in one run and wrong in the other (primary scorer; pairs without errors only)."""
    from harness.stats import flipped_items

    keep = {
        key
        for key in baseline.trials.keys() & current.trials.keys()
        if key[0] in set(cells) and baseline.trials[key].ok and current.trials[key].ok
    }
    scores_b = [s for s in baseline.scores if (s.cell_id, s.item_id, s.repeat) in keep]
    scores_c = [s for s in current.scores if (s.cell_id, s.item_id, s.repeat) in keep]
    if not scores_b or not scores_c or baseline.primary_scorer is None or current.primary_scorer is None:
        return []
    scores_b = [s for s in scores_b if s.scorer == baseline.primary_scorer]
    scores_c = [s for s in scores_c if s.scorer == current.primary_scorer]
    if current.primary_scorer != baseline.primary_scorer:
        # Same primary metric under another scorer name: flipped_items matches scorers by name.
        scores_c = [replace(s, scorer=baseline.primary_scorer) for s in scores_c]
    frame = flipped_items(
        scores_b, scores_c, scorer=baseline.primary_scorer, on=("cell_id", "item_id", "repeat")
    )
    out: list[Flip] = []
    for row in frame.to_dict("records"):
        key = (str(row["cell_id"]), str(row["item_id"]), int(row["repeat"]))
        tb, tc = baseline.trials[key], current.trials[key]
        out.append(
            Flip(
                cell_id=key[0],
                item_id=key[1],
                repeat=key[2],
                direction="right_to_wrong" if row["change"] == "lost" else "wrong_to_right",
                reference=tb.reference,
                baseline_value=float(row["mean_a"]),
                current_value=float(row["mean_b"]),
                baseline_answer=tb.answer,
                current_answer=tc.answer,
                baseline_text=tb.text,
                current_text=tc.text,
            )
        )
    order = {cell: i for i, cell in enumerate(cells)}
    out.sort(key=lambda f: (f.direction != "right_to_wrong", order.get(f.cell_id, 0), f.item_id, f.repeat))
    return out


def _decide(checks: list[Check], gate: GateConfig) -> list[Check]:
    """Holm across the cells' p-values, then the verdicts.

    Regression: the whole CI lies below -tolerance and the drop is significant after Holm (when a
    p-value exists). The CI alone is per cell; Holm keeps the family-wise false-alarm rate at alpha.
    """
    from harness.stats import holm

    tested = [i for i, c in enumerate(checks) if c.p_value is not None]
    adjusted = dict(zip(tested, holm([checks[i].p_value or 0.0 for i in tested]), strict=True))
    out: list[Check] = []
    for i, check in enumerate(checks):
        if check.verdict == "skipped":
            out.append(check)
            continue
        p_holm = adjusted.get(i)
        significant = p_holm is None or p_holm < gate.alpha
        low, high, tol = check.ci_low, check.ci_high, check.limit
        verdict: CheckVerdict = "pass"
        if high is not None and high < -tol and significant:
            verdict = "regression"
        elif low is not None and low > 0.0 and significant:
            verdict = "improvement"
        message = f"{_describe(check, verdict)}; {check.message}"
        out.append(replace(check, p_holm=p_holm, verdict=verdict, message=message))
    return out


def _describe(check: Check, verdict: CheckVerdict) -> str:
    ci = f"[{_pts(check.ci_low)}, {_pts(check.ci_high)}]"
    head = (
        f"{check.metric} {_pct(check.baseline)} -> {_pct(check.current)} "
        f"({_pts(check.estimate)} pts, 95% CI {ci}, n={check.n}"
    )
    if check.p_holm is not None or check.p_value is not None:
        head += f", p={_p(check.p_value)}"
    head += ")"
    if verdict == "regression":
        return f"{head}: the whole CI is below -{check.limit * 100:.1f} pts"
    if verdict == "improvement":
        return f"{head}: improved"
    return f"{head}: within tolerance -{check.limit * 100:.1f} pts"


def _skipped(cell: str, metric: str, test: str, tol: float, why: str) -> Check:
    return Check(
        cell, metric, "quality", test, 0, None, None, None, None, None, None, None, tol, "skipped", why
    )


def _stat(cell: Cell | None, metric: str) -> tuple[float, float, float, int, float | None, bool] | None:
    """(mean, ci_low, ci_high, n, se, is_wilson) of a summary STAT, None when it is incomplete."""
    stat = cell.metrics.get(metric) if cell is not None else None
    if stat is None:
        return None
    mean, low, high = _num(stat.mean), _num(stat.ci_low), _num(stat.ci_high)
    n = stat.n
    if mean is None or low is None or high is None or n <= 0:
        return None
    return mean, low, high, n, _num(stat.se), stat.method == "wilson"


def _num(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _two_proportion_p(p1: float, n1: int, p2: float, n2: int) -> float:
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if var <= 0.0:
        return 1.0
    return math.erfc(abs(p2 - p1) / math.sqrt(var) / math.sqrt(2.0))


def _z_p(diff: float, se1: float | None, se2: float | None) -> float | None:
    if se1 is None or se2 is None:
        return None
    se = math.hypot(se1, se2)
    return 1.0 if se == 0.0 else math.erfc(abs(diff) / se / math.sqrt(2.0))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _pts(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f}"


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2g}"
