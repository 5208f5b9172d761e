"""`harness probe TARGET`, end to end: load the target and its card, design the experiments, turn their
arms into trials (one derived target per delivery or batch size), refuse before sending when the cost
estimate exceeds the cap, send through the engine into a run directory, then hand the records to outputs.py (verdicts,
probe.json, report page). Owns orchestration only: the design is in experiments.py, the verdicts in
verdicts.py and statistics.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.capability import ModelCard, find_card, load_card, validate_settings
from harness.config import EstimateConfig, RunConfig, SuiteConfig, TargetConfig
from harness.errors import EXIT_INFRA, EXIT_OK, ConfigError, RunStoppedError
from harness.plan import PlanEstimate, RunPlan, estimate_plan, trial_key
from harness.probe.experiments import (
    DEFAULT_MAX_COST_USD,
    DEFAULT_SAMPLES,
    PROMPT,
    Arm,
    Design,
    Protocol,
    design_probe,
)
from harness.probe.verdicts import Verdict, VerdictName
from harness.records import Message, Trial
from harness.rundir import layout

ITEM_ID = "probe"
PROBE_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    target: str
    card: str | None = None
    max_cost_usd: float = DEFAULT_MAX_COST_USD
    dry_run: bool = False
    suite: str | None = None
    out: Path | None = None
    samples: int = DEFAULT_SAMPLES
    command: tuple[str, ...] = ()


@dataclass(slots=True)
class PreparedProbe:
    target: TargetConfig
    card: ModelCard
    protocol: Protocol
    design: Design
    targets: dict[str, TargetConfig]  # derived targets by name (one per delivery / batch size)
    trials: list[Trial]
    arm_of: dict[str, str]  # trial key -> arm name
    estimate: PlanEstimate
    guarded: list[str]  # settings whose `ignored`/`rejected` verdict makes the exit code 1
    card_ref: str = ""  # how the manifest names the card for a rebuild: a file path, else its name


@dataclass(slots=True)
class ProbeResult:
    exit_code: int
    prepared: PreparedProbe
    verdicts: list[Verdict] = field(default_factory=list)
    by_setting: dict[str, VerdictName] = field(default_factory=dict)
    run_dir: Path | None = None
    report_path: Path | None = None
    failing: list[str] = field(default_factory=list)
    message: str = ""


def protocol_of(target: TargetConfig) -> Protocol:
    """The wire protocol a target speaks (the simulator speaks Runware's)."""
    return "openai" if target.provider == "openai" else "runware"


def suite_settings(suite: SuiteConfig) -> list[str]:
    """The settings (API names) a suite sends: fixed settings, grid axes, a system prompt, and usage and
    cost, which every run reads."""
    names: set[str] = set(suite.settings)
    names.update(suite.grid.axes)
    for group in suite.grid.zip:
        names.update(group)
    for cell in suite.grid.cells:
        names.update(cell)
    if suite.prompt.system:
        names.add("systemPrompt")
    names -= {"target", "repeats"}
    names |= {"includeUsage", "includeCost"}
    return sorted(names)


def _derived_target(target: TargetConfig, arm: Arm) -> TargetConfig:
    delivery = arm.delivery or target.delivery
    batch = arm.batch_size
    suffix = f"@{delivery}" + (f"x{batch}" if batch > 1 else "")
    return target.model_copy(
        update={"name": f"{target.name}{suffix}", "delivery": delivery, "batch_size": batch}
    )


def build_trials(
    design: Design, target: TargetConfig, count_tokens: Any
) -> tuple[dict[str, TargetConfig], list[Trial], dict[str, str]]:
    """One trial per (arm, seed position); trials of one arm and target are consecutive, so a batch
    arm's trials travel in one request."""
    targets: dict[str, TargetConfig] = {}
    trials: list[Trial] = []
    arm_of: dict[str, str] = {}
    messages = (Message("user", PROMPT),)
    for arm in design.arms.values():
        derived = _derived_target(target, arm)
        targets[derived.name] = derived
        settings = design.settings_of(arm)
        # The chat template's rule (plan.py): 3 for the reply header, 5 around each message.
        prompt_tokens = 3 + count_tokens(PROMPT) + 5
        if arm.system_prompt:
            prompt_tokens += count_tokens(arm.system_prompt) + 5
        for repeat, seed in enumerate(arm.seeds):
            cell = {"probe": arm.name, **settings}
            key = trial_key(
                target=derived.name,
                model=target.model,
                cell=arm.name,
                item_id=ITEM_ID,
                repeat=repeat,
                messages=messages,
                system_prompt=arm.system_prompt,
                settings=settings,
                seed=seed,
                number_results=arm.number_results,
                inputs=None,
            )
            trials.append(
                Trial(
                    key=key,
                    cell_id=arm.name,
                    cell=cell,
                    item_id=ITEM_ID,
                    repeat=repeat,
                    target=derived.name,
                    model=target.model,
                    messages=messages,
                    system_prompt=arm.system_prompt,
                    settings=dict(settings),
                    seed=seed,
                    number_results=arm.number_results,
                    prompt_tokens_estimate=prompt_tokens,
                )
            )
            arm_of[key] = arm.name
    return targets, trials, arm_of


def estimate_probe(
    trials: Sequence[Trial], targets: Mapping[str, TargetConfig], card: ModelCard
) -> PlanEstimate:
    """Tokens and cost of the probe, from the targets' price tables and expected output lengths."""
    from harness.pricing import cost_usd, load_prices
    from harness.tokens import tokenizer_name

    plan = RunPlan(cells=(), trials=tuple(trials), n_items=1, requests_by_target={}, results=0)
    spec = card.settings.get("thinkingLevel")
    level = str(spec.default) if spec is not None and spec.default is not None else None
    return estimate_plan(
        plan,
        {name: t.estimate or EstimateConfig() for name, t in targets.items()},
        {name: load_prices(t.model, t.prices) for name, t in targets.items()},
        cost=lambda price, p, c, th: cost_usd(
            price, prompt_tokens=p, completion_tokens=c, thinking_tokens=th
        ),
        tokenizer=tokenizer_name(),
        default_thinking_level={name: level for name in targets},
    )


def prepare_probe(options: ProbeOptions, *, environ: Mapping[str, str] | None = None) -> PreparedProbe:
    """Every check before the first request (ConfigError, exit 2): target, card, suite, key, sample
    size, each arm's settings against the card, and the cost cap."""
    from harness.loading import find_suite, load_suite, load_target
    from harness.preflight import check_keys
    from harness.tokens import count_tokens

    if options.samples < 2 or options.samples > 64:
        raise ConfigError(f"--samples must be 2..64, got {options.samples}", field="--samples")
    if options.max_cost_usd <= 0:
        raise ConfigError(f"--max-cost must be > 0, got {options.max_cost_usd}", field="--max-cost")
    target = load_target(options.target)
    card_name = options.card or target.capability
    card = load_card(card_name) if card_name else find_card(target.model)
    if card is None:
        raise ConfigError(
            f"no capability card lists model {target.model!r}: name one with --card",
            field="--card",
            file=f"target {target.name}",
        )
    errors = check_keys({target.name: target}, environ=os.environ if environ is None else environ)
    if errors and not options.dry_run:
        raise errors[0]
    design = design_probe(card, protocol_of(target), target.delivery, samples=options.samples)
    skipped = []
    for exp in design.experiments:
        for name in exp.arms:
            violations = validate_settings(card, design.settings_of(design.arms[name]))
            if violations:
                skipped.append(f"{exp.setting}: {violations[0].message}")
    if skipped:
        raise ConfigError(
            f"card {card.name} does not allow the probe's values: " + "; ".join(skipped),
            field="--card",
        )
    guarded = suite_settings(load_suite(find_suite(options.suite))) if options.suite else []
    prepared = assemble(target, card, design, guarded, count_tokens)
    prepared.card_ref = card_name if card_name and Path(card_name).is_file() else card.name
    estimate = prepared.estimate
    if estimate.cost_usd > options.max_cost_usd and not options.dry_run:
        raise ConfigError(
            f"the probe's estimated cost ${estimate.cost_usd:.4f} exceeds --max-cost ${options.max_cost_usd:.4f}; "
            "raise --max-cost or lower --samples",
            field="--max-cost",
        )
    return prepared


def assemble(
    target: TargetConfig, card: ModelCard, design: Design, guarded: list[str], count_tokens: Any
) -> PreparedProbe:
    """The trials, derived targets and estimate of a design (shared by a probe and its rebuild)."""
    targets, trials, arm_of = build_trials(design, target, count_tokens)
    estimate = estimate_probe(trials, targets, card)
    return PreparedProbe(
        target, card, protocol_of(target), design, targets, trials, arm_of, estimate, guarded
    )


def format_plan(prepared: PreparedProbe, options: ProbeOptions) -> str:
    """The --dry-run printout: what is sent and what it should cost."""
    est = prepared.estimate
    target = prepared.target
    arms = prepared.design.arms
    lines = [
        f"probe of target {target.name}: {target.provider} {target.model} (card {prepared.card.name}, "
        f"{prepared.protocol} protocol)",
        f"  experiments  {len(prepared.design.experiments)}",
        f"  arms         {len(arms)} ({options.samples} seeds per comparison)",
        f"  trials       {len(prepared.trials)}",
        f"  prompt tokens      ~{est.prompt_tokens:,} ({est.tokenizer})",
        f"  completion tokens  ~{est.completion_tokens:,} (thinking ~{est.thinking_tokens:,})",
        f"  estimated cost     ${est.cost_usd:,.4f} (cap --max-cost ${options.max_cost_usd:,.4f})",
    ]
    guarded = ", ".join(prepared.guarded) if prepared.guarded else "every probed setting (no --suite)"
    lines.append(f"  exit 1 guards      {guarded}")
    if est.cost_usd > options.max_cost_usd:
        lines.append("  the estimate exceeds the cap: a real probe would refuse to start")
    lines.append("nothing was sent (dry run)")
    return "\n".join(lines)


def default_probe_dir(target: str) -> Path:
    from harness.paths import reports_dir

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = reports_dir() / f"probe-{Path(target).stem}-{stamp}"
    path, n = base, 2
    while path.exists():
        path, n = base.with_name(f"{base.name}-{n}"), n + 1
    return path


async def _send(prepared: PreparedProbe, options: ProbeOptions, run_dir: Path) -> Any:
    from harness.orchestration.endpoints import live_targets
    from harness.runner import run_trials

    async with AsyncExitStack() as stack:
        # A simulator target is started the one way every run starts it (orchestration.endpoints), playing
        # the card the probe was given (--card), so the simulator validates what the probe checks against.
        targets = await live_targets(
            stack,
            {
                name: t.model_copy(update={"capability": prepared.card.name})
                if t.provider == "simulator"
                else t
                for name, t in prepared.targets.items()
            },
            answer_key={},
        )
        manifest = {
            "suite": None,
            "command": list(options.command) or ["harness", "probe", options.target],
            "probe": {
                "target": prepared.target.model_dump(mode="json"),
                "card": prepared.card_ref or prepared.card.name,
                "samples": prepared.design.samples,
                "guarded": list(prepared.guarded),
            },
        }
        run = RunConfig(concurrency=8, max_cost_usd=options.max_cost_usd, adaptive_concurrency=False)
        observer = None
        if sys.stderr.isatty():  # a bar while a real service thinks; nothing in logs and tests
            from harness.progress import make_observer

            observer = make_observer(sys.stderr)
        return await run_trials(prepared.trials, targets, run, run_dir, observer=observer, manifest=manifest)


def run_probe(options: ProbeOptions, *, environ: Mapping[str, str] | None = None) -> ProbeResult:
    """Prepare (exit 2 on any problem, nothing sent), send, judge and write; the exit code is 1 when a
    guarded setting is ignored or rejected, 3 when the run could not finish."""
    from harness.rundir import RunDir, read_records
    from harness.runner import run_event_loop

    prepared = prepare_probe(options, environ=environ)
    if options.dry_run:
        return ProbeResult(EXIT_OK, prepared, message=format_plan(prepared, options))
    run_dir = options.out or default_probe_dir(options.target)
    if RunDir(run_dir).has_records() or (run_dir / layout.PROBE).exists():
        raise ConfigError(
            "the run directory is not empty; pick another --out", file=str(run_dir), field="--out"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        run_result = run_event_loop(_send(prepared, options, run_dir))
    except RunStoppedError as exc:
        return ProbeResult(EXIT_INFRA, prepared, run_dir=run_dir, message=f"probe stopped: {exc}")
    from harness.probe.outputs import write_outputs

    result = write_outputs(prepared, run_dir, read_records(run_dir))
    if run_result.status != "complete":
        result.exit_code = EXIT_INFRA
        result.message = f"probe {run_result.status}: {run_result.stop_reason or 'not every trial finished'}"
    return result
