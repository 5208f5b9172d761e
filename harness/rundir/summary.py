"""summary.json as typed values: `Summary` and its parts (`Cell`, `Stat`, `Pct`, ...), the schema of
docs/architecture.md. `summary_from_json` / `summary_to_json` are the only converters: the JSON on disk
is exactly what `harness.stats.summarize` has always written (same keys, same ints and floats, nulls
where there were nulls, absent blocks absent), which a round-trip test checks.

Adding a block (another branch's `load`, `power`, `probe` ...): define a `SummaryBlock` subclass in
the module that computes it and add an optional field here, `load: LoadBlock | None = None`. A summary
without the block is unchanged on disk (`exclude_unset`), and a typo in a key fails loudly
(`extra="forbid"`); there is deliberately no free-form `dict` slot.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from harness.errors import StoreError
from harness.rundir.layout import SUMMARY

__all__ = [
    "SUMMARY_SCHEMA_VERSION",
    "Cell",
    "CellCost",
    "CellErrors",
    "Comparison",
    "JudgeSpend",
    "Latency",
    "MainEffect",
    "Outcomes",
    "Pct",
    "Rate",
    "RunCost",
    "Stat",
    "Summary",
    "SummaryBlock",
    "ThresholdVerdict",
    "Tokens",
    "summary_from_json",
    "summary_to_json",
]

SUMMARY_SCHEMA_VERSION = 1

# int | float keeps each number as it was computed (pydantic's smart union picks the exact type), so a
# count stays `3` and a mean stays `3.0` through a round trip.
Number = int | float


class SummaryBlock(BaseModel):
    """Base of every part of a summary: strict keys, values as computed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Stat(SummaryBlock):
    """A mean with its confidence interval (STAT)."""

    mean: Number | None
    ci_low: Number | None
    ci_high: Number | None
    se: Number | None
    n: int
    method: str
    k: int | None = None  # pass@k / maj@k / pass^k / diversity: the k they were computed at
    pooled_over: list[str] | None = None  # multi-sample STATs: the axes whose cells were pooled


class Pct(SummaryBlock):
    """Percentiles of a latency or rate (PCT), seconds or tokens/s."""

    p50: Number | None
    p90: Number | None
    p95: Number | None
    p99: Number | None
    mean: Number | None
    max: Number | None
    n: int


class Latency(SummaryBlock):
    e2e_s: Pct | None
    ttft_s: Pct | None
    ttft_answer_s: Pct | None
    itl_s: Pct | None
    output_tps: Pct | None
    e2e_from_schedule_s: Pct | None
    queue_s: Pct | None


class Tokens(SummaryBlock):
    prompt: int
    completion: int
    thinking: int
    per_trial_prompt: Number
    per_trial_completion: Number
    per_trial_thinking: Number


class CellCost(SummaryBlock):
    total_usd: Number
    per_trial_usd: Number | None
    per_correct_usd: Number | None
    service_usd: Number | None
    price_table_usd: Number | None
    mismatch: bool


class CellErrors(SummaryBlock):
    count: int
    rate: Number
    by_kind: dict[str, int]
    retries: int
    truncations: int
    rate_limit_wait_s: Number
    retry_wait_s: Number


class Outcomes(SummaryBlock):
    correct: int
    wrong: int
    no_answer: int
    truncated: int
    error: int
    invalid: int


class Cell(SummaryBlock):
    """One grid cell (or the pooled `overall`)."""

    cell_id: str
    cell: dict[str, JsonValue]
    n_trials: int
    n_ok: int
    n_error: int
    n_results: int
    n_items: int
    metrics: dict[str, Stat]
    outcomes: Outcomes
    latency: Latency
    tokens: Tokens
    cost: CellCost
    errors: CellErrors


class Comparison(SummaryBlock):
    """A paired comparison of two cells on the primary metric."""

    a: str
    b: str
    metric: str
    n_pairs: int
    diff: Number | None
    ci_low: Number | None
    ci_high: Number | None
    mcnemar_p: Number | None
    p_holm: Number | None
    b01: int
    b10: int


class MainEffect(SummaryBlock):
    value: JsonValue
    mean: Number | None
    ci_low: Number | None
    ci_high: Number | None
    n: int


class Rate(SummaryBlock):
    target_rps: Number | None
    achieved_rps: Number | None


class RunCost(SummaryBlock):
    total_usd: Number
    service_usd: Number | None
    price_table_usd: Number | None
    mismatch: bool


class JudgeSpend(SummaryBlock):
    """Tokens and cost of the judge's own calls (RUN_DIR/judge/), kept out of `cost`."""

    trials: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    thinking_tokens: int
    cost_usd: Number


class ThresholdVerdict(SummaryBlock):
    """harness.gate.ThresholdResult as written into the summary."""

    metric: str
    op: str
    value: Number
    on: str
    scope: str
    cell_id: str | None
    observed: Number | None
    passed: bool
    message: str


class Summary(SummaryBlock):
    """summary.json (schema_version 1). `judge` is set only when a judge scorer ran; `thresholds`
    once the gate has judged the summary (harness.report.build_outputs)."""

    schema_version: Literal[1] = 1
    suite: str | None
    primary_metric: str
    scorers: list[str]
    swept_axes: list[str]
    overall: Cell
    cells: list[Cell]
    comparisons: list[Comparison]
    main_effects: dict[str, list[MainEffect]]
    rate: Rate
    cost: RunCost
    judge: JudgeSpend | None = None
    thresholds: list[ThresholdVerdict] | None = None
    # Load sweeps (harness.stats.load.load_summary): still the JSON object that module writes; its
    # owner should give it a SummaryBlock of its own, as `judge` has.
    load: dict[str, JsonValue] | None = None
    # Sample-size planning and racing (harness.power.power_section), likewise still a JSON object.
    power: dict[str, JsonValue] | None = None

    def cell(self, cell_id: str) -> Cell | None:
        """The cell with this id (`overall` for the pooled run), or None."""
        if cell_id == self.overall.cell_id:
            return self.overall
        return next((c for c in self.cells if c.cell_id == cell_id), None)


def summary_from_json(raw: dict[str, Any], *, where: str = SUMMARY) -> Summary:
    """A Summary from its JSON object; a StoreError naming the field when it does not fit."""
    try:
        return Summary.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise StoreError(
            f"{where}: field {field}: {first.get('msg')} (not a {SUMMARY} this harness reads)"
        ) from exc


def summary_to_json(summary: Summary) -> dict[str, Any]:
    """The JSON object of a summary, exactly as summarize wrote it (unset optional blocks left out)."""
    return summary.model_dump(mode="json", exclude_unset=True)
