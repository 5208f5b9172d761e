"""What a probe run leaves besides its records: the verdict of each experiment over the run's records,
probe.json (through harness.rundir) and report.html, and their rebuild from the run directory alone
(`harness report RUN_DIR`). Sends nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.capability import load_card
from harness.config import TargetConfig
from harness.derived import e2e_s
from harness.errors import EXIT_OK, EXIT_REGRESSION, ConfigError
from harness.probe.experiments import design_probe, wire_name
from harness.probe.runner import PROBE_SCHEMA, PreparedProbe, ProbeResult, assemble, protocol_of
from harness.probe.verdicts import ALPHA, Context, Output, TaskData, Verdict, judge, setting_verdicts
from harness.records import Record


def task_data(record: Record) -> TaskData:
    """What the verdicts need of one record."""
    usage = record.usage
    error = record.error
    latency = e2e_s(record)
    return TaskData(
        seed=record.seed,
        outputs=tuple(Output(r.text or "", r.reasoning or "", r.finish_reason) for r in record.results),
        ok=record.status == "ok",
        error=None if error is None else f"{error.code or error.kind}: {error.message}",
        rejected=error is not None and error.kind == "bad_request",
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        thinking_tokens=usage.thinking_tokens if usage else None,
        cost_usd=record.cost_usd,
        price_table_cost_usd=record.price_table_cost_usd,
        latency_s=latency,
        delivery=record.delivery,
    )


def judge_run(prepared: PreparedProbe, records: Sequence[Record]) -> list[Verdict]:
    """Every experiment's verdict over the run's records, with how its setting went on the wire."""
    from harness.pricing import load_prices

    tasks: dict[str, list[TaskData]] = {name: [] for name in prepared.design.arms}
    for record in sorted(records, key=lambda r: (r.cell_id, r.repeat)):
        if record.cell_id in tasks:  # a record's cell is its arm
            tasks[record.cell_id].append(task_data(record))
    context = Context(
        include_cost=prepared.target.include_cost,
        cost_supported=prepared.protocol == "runware",
        placeholder_prices=load_prices(prepared.target.model, prepared.target.prices).placeholder,
    )
    verdicts = []
    for exp in prepared.design.experiments:
        verdict = judge(exp, [tasks[name] for name in exp.arms], context)
        sent_as = wire_name(exp.setting, prepared.protocol, prepared.target.reasoning_switch)
        if (
            exp.setting == "thinkingLevel"
            and prepared.protocol == "openai"
            and not prepared.target.reasoning_switch
        ):
            verdict = _not_sent(verdict, "thinkingLevel is not mapped for this target (no reasoning_switch)")
        verdicts.append(_with(verdict, sent_as=sent_as))
    return verdicts


def _with(original: Verdict, **changes: Any) -> Verdict:
    return dataclasses.replace(original, **changes)


def _not_sent(verdict: Verdict, why: str) -> Verdict:
    return _with(verdict, verdict="inconclusive", evidence=why, statistic="", p_value=None)


def probe_document(
    prepared: PreparedProbe, verdicts: Sequence[Verdict], failing: Sequence[str], cost_usd: float | None
) -> dict[str, Any]:
    """probe.json: the design, every verdict and the per-setting verdicts."""
    return {
        "schema_version": PROBE_SCHEMA,
        "target": prepared.target.name,
        "provider": prepared.target.provider,
        "protocol": prepared.protocol,
        "model": prepared.target.model,
        "card": prepared.card.name,
        "samples": prepared.design.samples,
        "alpha": ALPHA,
        "estimate_usd": prepared.estimate.cost_usd,
        "cost_usd": cost_usd,
        "trials": len(prepared.trials),
        "guarded_settings": list(prepared.guarded),
        "failing_settings": list(failing),
        "settings": setting_verdicts(verdicts),
        "verdicts": [dataclasses.asdict(v) for v in verdicts],
    }


def failing_settings(verdicts: Sequence[Verdict], guarded: Sequence[str]) -> list[str]:
    """Settings with an `ignored` or `rejected` verdict that the exit code guards (all when none given)."""
    by_setting = setting_verdicts(verdicts)
    watched = set(guarded) if guarded else set(by_setting)
    return sorted(s for s, v in by_setting.items() if v in ("ignored", "rejected") and s in watched)


def spent_usd(records: Sequence[Record]) -> float:
    """What the probe's tasks cost: the service's figure, else the price table's (rounded as the engine does)."""
    return round(sum(r.effective_cost_usd for r in records), 10)


def write_outputs(prepared: PreparedProbe, run_dir: Path, records: Sequence[Record]) -> ProbeResult:
    """Judge the records, write probe.json and report.html; exit 1 when a guarded setting failed."""
    from harness.report.probe import write_probe_report
    from harness.rundir import write_probe

    verdicts = judge_run(prepared, records)
    failing = failing_settings(verdicts, prepared.guarded)
    write_probe(run_dir, probe_document(prepared, verdicts, failing, spent_usd(records)))
    report = write_probe_report(run_dir)
    by_setting = setting_verdicts(verdicts)
    result = ProbeResult(EXIT_OK, prepared, verdicts, by_setting, run_dir, report, failing)
    if failing:
        result.exit_code = EXIT_REGRESSION
        result.message = "settings not honoured: " + ", ".join(f"{s} ({by_setting[s]})" for s in failing)
    return result


def rebuild_probe(run_dir: Path) -> ProbeResult:
    """Re-judge a probe's run directory from its records and manifest alone (no request) and rewrite
    probe.json and report.html, as `harness report RUN_DIR` does for a suite run."""
    from harness.rundir import read_manifest, read_records
    from harness.tokens import count_tokens

    manifest = read_manifest(run_dir)
    info = manifest.get("probe")
    if not isinstance(info, dict) or not isinstance(info.get("target"), dict):
        raise ConfigError("not a probe run directory (the manifest has no probe section)", file=str(run_dir))
    target = TargetConfig.model_validate(info["target"])
    card = load_card(info["card"])
    design = design_probe(card, protocol_of(target), target.delivery, samples=int(info["samples"]))
    prepared = assemble(target, card, design, list(info.get("guarded") or []), count_tokens)
    records = read_records(run_dir)
    return write_outputs(prepared, run_dir, records)
