"""A whole run of a suite, end to end: validate and plan (preflight), print the plan on --dry-run, start
the embedded simulator for `provider: simulator` targets, send through the engine, build scores, summary
and report, and map the outcome to an exit code. Owns orchestration only: no HTTP, scoring or statistics.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from harness.config import EstimateConfig, PriceConfig
from harness.errors import (
    EXIT_INFRA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REGRESSION,
    ConfigError,
    RunStoppedError,
)
from harness.loading import SuiteSource, display_path
from harness.plan import PlanEstimate, RunPlan, estimate_plan
from harness.preflight import PreparedRun, RunOptions, prepare_run
from harness.rundir import RunDir

if TYPE_CHECKING:
    from harness.report.worker import OutputsWorker
    from harness.runner import RunResult


@dataclass(slots=True)
class SuiteRunResult:
    """How a run ended: its exit code, where it wrote, and what the user should read."""

    exit_code: int
    status: str
    plan: RunPlan
    run_dir: Path | None = None
    report_path: Path | None = None
    summary: dict[str, Any] | None = None
    threshold_results: list[Any] = field(default_factory=list)
    estimate: PlanEstimate | None = None
    message: str = ""
    resume_command: str | None = None


def default_run_dir(suite_name: str, *, now: datetime | None = None) -> Path:
    """reports/NAME-YYYYmmdd-HHMMSS (UTC), with a -2, -3... suffix if that folder already exists."""
    from harness.paths import reports_dir

    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    base = reports_dir() / f"{suite_name}-{stamp}"
    path, n = base, 2
    while path.exists():
        path, n = base.with_name(f"{base.name}-{n}"), n + 1
    return path


def estimate_prepared(prepared: PreparedRun) -> PlanEstimate:
    """Tokens and cost the plan should use, from each target's price table and expected output lengths."""
    from harness.pricing import cost_usd, load_prices
    from harness.tokens import tokenizer_name

    prices: dict[str, PriceConfig] = {}
    estimates: dict[str, EstimateConfig] = {}
    thinking: dict[str, str | None] = {}
    for name, target in prepared.targets.items():
        prices[name] = load_prices(target.model, target.prices)
        estimates[name] = target.estimate or prepared.suite.estimate
        card = prepared.cards.get(name)
        spec = card.settings.get("thinkingLevel") if card is not None else None
        thinking[name] = str(spec.default) if spec is not None and spec.default is not None else None

    def cost(price: PriceConfig, prompt: int, completion: int, thinking_tokens: int) -> float:
        return cost_usd(
            price, prompt_tokens=prompt, completion_tokens=completion, thinking_tokens=thinking_tokens
        )

    return estimate_plan(
        prepared.plan,
        estimates,
        prices,
        cost=cost,
        tokenizer=tokenizer_name(),
        default_thinking_level=thinking,
    )


def format_plan(prepared: PreparedRun, estimate: PlanEstimate | None) -> str:
    """The --dry-run printout: counts, the cells, tokens, cost and the largest cost driver."""
    plan = prepared.plan
    lines = [
        f"suite {prepared.suite.name} ({prepared.source.file})",
        f"  cells     {plan.n_cells}",
        f"  items     {plan.n_items}",
        f"  trials    {plan.n_trials}",
        f"  requests  {plan.n_requests}"
        + (
            "  (" + ", ".join(f"{k}: {v}" for k, v in plan.requests_by_target.items()) + ")"
            if len(plan.requests_by_target) > 1
            else ""
        ),
        f"  results   {plan.results}",
    ]
    for name, target in prepared.targets.items():
        lines.append(
            f"  target    {name}: {target.provider} {target.model}, delivery {prepared.run.delivery or target.delivery}, "
            f"batch_size {target.batch_size}"
        )
    if estimate is not None:
        lines += [
            f"  prompt tokens      ~{estimate.prompt_tokens:,} ({estimate.tokenizer})",
            f"  completion tokens  ~{estimate.completion_tokens:,} (thinking ~{estimate.thinking_tokens:,}; expected lengths, see `estimate:`)",
            f"  estimated cost     ${estimate.cost_usd:,.4f}",
            f"  largest cost driver: {estimate.driver}",
        ]
        from harness.pricing import load_prices

        for name, target in prepared.targets.items():
            if load_prices(target.model, target.prices).placeholder:
                lines.append(
                    f"  note: target {name} uses placeholder prices (configs/prices.yaml or the target's "
                    "prices:); set the provider's real prices for a real estimate"
                )
        shown = estimate.cells[:20]
        lines.append("  cells (trials, est. cost):")
        lines += [f"    {c.cell_id}  {c.trials}  ${c.cost_usd:,.4f}" for c in shown]
        if len(estimate.cells) > len(shown):
            lines.append(f"    ... {len(estimate.cells) - len(shown)} more")
    from harness.power import plan_lines

    lines += plan_lines(prepared)
    if prepared.suite.load is not None:
        from harness.loadsweep import describe_load

        lines += describe_load(prepared.suite.load, plan.n_trials)
    for warning in prepared.warnings:
        lines.append(f"  warning: {warning}")
    lines.append("nothing was sent (dry run)")
    return "\n".join(lines)


def resume_command(prepared: PreparedRun, options: RunOptions, run_dir: Path) -> str:
    """The command that continues this run (printed on interruption)."""
    args = ["harness", "run", prepared.source.file]
    if options.target:
        args += ["--target", options.target]
    command = list(options.command)
    i = 0
    while i < len(command):
        if command[i] == "--set" and i + 1 < len(command):
            args += ["--set", command[i + 1]]
            i += 2
            continue
        if command[i].startswith("--set="):
            args.append(command[i])
        i += 1
    if options.limit is not None:
        args += ["--limit", str(options.limit)]
    args += ["--resume", display_path(run_dir)]
    import shlex

    return shlex.join(args)


def _check_run_dir(run_dir: Path, options: RunOptions, suite_name: str) -> None:
    """The directory a run writes to: a run directory of this suite to --resume, or (--out) a new or
    empty directory, or a run directory without records. Anything else could mix a run into other files."""
    from harness.rundir.layout import MANIFEST

    run = RunDir(run_dir)
    if options.resume is not None:
        if not run.has_manifest():
            raise ConfigError(f"not a run directory (no {MANIFEST})", file=str(run_dir), field="--resume")
        previous = run.manifest().suite_name
        if previous not in (None, suite_name):
            raise ConfigError(
                f"this run directory belongs to suite {previous!r}, not {suite_name!r}",
                file=str(run_dir),
                field="--resume",
            )
        return
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise ConfigError(
            "exists and is not a directory; --out must be a new or empty directory",
            file=str(run_dir),
            field="--out",
        )
    if run.has_records():
        raise ConfigError(
            "the run directory already holds records; continue it with --resume DIR or pick another --out",
            file=str(run_dir),
            field="--out",
        )
    if not run.has_manifest() and any(run_dir.iterdir()):
        raise ConfigError(
            f"the directory exists, is not empty and is not a run directory (no {MANIFEST}); --out must be "
            "a new or empty directory (or --resume a run directory)",
            file=str(run_dir),
            field="--out",
        )


def _answer_key(prepared: PreparedRun) -> dict[str, Any]:
    return {item.input: item.target for item in prepared.items if item.input and item.target is not None}


async def _run_async(prepared: PreparedRun, options: RunOptions, run_dir: Path) -> RunResult:
    from harness.orchestration.endpoints import live_targets
    from harness.runner import run_trials

    manifest = {
        "suite": prepared.suite.model_dump(mode="json"),
        "suite_file": prepared.source.file,
        "command": list(options.command) or ["harness", "run", prepared.source.file],
    }
    async with AsyncExitStack() as stack:
        targets = await live_targets(stack, prepared.targets, answer_key=_answer_key(prepared))
        if prepared.suite.load is not None:  # load sweep: one engine phase per load point
            from harness.runner.phases import run_load_phases

            return await run_load_phases(
                prepared.plan.trials,
                targets,
                prepared.run,
                run_dir,
                prepared.suite.load,
                slo=prepared.suite.slo,
                observer=_observer(options),
                manifest=manifest,
                embedded_simulator=any(t.provider == "simulator" for t in prepared.targets.values()),
            )
        if prepared.run.strategy == "racing":
            from harness.runner.race import run_race

            return await run_race(
                prepared.plan.trials,
                targets,
                prepared.run,
                run_dir,
                scorers=prepared.suite.scorers,
                observer=_observer(options),
                manifest=manifest,
            )
        return await run_trials(
            prepared.plan.trials,
            targets,
            prepared.run,
            run_dir,
            observer=_observer(options),
            manifest=manifest,
        )


def _preload_outputs(matplotlib: bool) -> None:
    """Import what scoring, statistics and the report need while the run waits on the network: the
    send phase is mostly idle, and these imports (pandas, matplotlib) are ~0.5 s of the user's wait."""
    import importlib

    try:
        # The one list of what building the outputs imports.
        from harness.report.worker import PRELOAD, PRELOAD_MATPLOTLIB

        for name in PRELOAD + (PRELOAD_MATPLOTLIB if matplotlib else ()):
            importlib.import_module(name)
    except Exception:  # an import problem surfaces, with its traceback, where the module is used
        return


def warm_up_dir(prepared: PreparedRun, run_dir: Path) -> Path | None:
    """The run dir the outputs worker may work ahead on while the run sends: a throw-away report of
    its first records (harness.report.worker.warm_up_build) and the scores of each line written;
    None when building outputs sends requests (a judge scorer) or the suite has no scorer to run."""
    scorers = prepared.suite.scorers
    if not scorers or any(s.name == "judge" for s in scorers):
        return None
    return run_dir


def _draws_with_matplotlib(prepared: PreparedRun) -> bool:
    from harness.report.worker import draws_with_matplotlib

    run = prepared.run
    deliveries = {run.delivery} if run.delivery else {t.delivery for t in prepared.targets.values()}
    return draws_with_matplotlib(
        cells=prepared.plan.n_cells,
        streamed="stream" in deliveries,
        open_loop=run.rate_rps is not None,
        load_sweep=prepared.suite.load is not None,
    )


def _observer(options: RunOptions) -> Any:
    if not options.progress:
        return None
    from harness.progress import make_observer

    return make_observer(sys.stderr)


def _finish(
    prepared: PreparedRun, run_dir: Path, result: SuiteRunResult, worker: OutputsWorker | None
) -> SuiteRunResult:
    from harness.gate import thresholds_passed
    from harness.orchestration.judge import run_judge_stage

    # The judge stage sends what the suite's judge scorers need before anything is scored.
    judged = run_judge_stage(run_dir, [s for s in prepared.suite.scorers if s.name == "judge"])
    if judged.stop_reason and not result.message:
        result.message = f"judge calls stopped early: {judged.stop_reason}"
    outputs = worker.build(run_dir) if worker is not None else None
    if outputs is None:
        from harness.report import build_outputs

        outputs = build_outputs(run_dir)
    result.summary = outputs.summary
    result.report_path = outputs.report_path
    result.threshold_results = list(outputs.threshold_results)
    if result.exit_code == EXIT_OK and not thresholds_passed(result.threshold_results):
        failed = [r.message for r in result.threshold_results if not r.passed]
        result.exit_code = EXIT_REGRESSION
        result.message = "threshold failed: " + "; ".join(failed)
    return result


def execute(
    prepared: PreparedRun,
    options: RunOptions,
    *,
    out: TextIO | None = None,
    worker: OutputsWorker | None = None,
) -> SuiteRunResult:
    """Send a prepared plan (or print it on --dry-run) and build every derived output (in `worker`
    when given: harness.report.worker)."""
    out = out or sys.stdout
    if prepared.suite.load is not None and prepared.run.strategy == "racing":
        raise ConfigError(
            "a load sweep (load:) measures the endpoint at fixed trials; it cannot race cells",
            file=prepared.source.file,
            field="run.strategy",
            allowed=["grid"],
        )
    chosen = options.resume or options.out
    if options.dry_run and chosen is not None:  # the real run would refuse it: say so now
        _check_run_dir(chosen, options, prepared.suite.name)
    if options.dry_run:
        estimate = estimate_prepared(prepared)
        print(format_plan(prepared, estimate), file=out)
        return SuiteRunResult(EXIT_OK, "dry-run", prepared.plan, estimate=estimate)
    if prepared.suite.plan.from_run is not None:  # a bad plan.from_run fails before any request
        from harness.power import resolve_assumptions

        resolve_assumptions(prepared.suite.plan, file=prepared.source.file)
    run_dir = options.resume or options.out or default_run_dir(prepared.suite.name)
    _check_run_dir(run_dir, options, prepared.suite.name)
    if prepared.suite.load is not None:
        from harness.runner.phases import check_load

        check_load(prepared.suite.load, prepared.plan.n_trials, file=prepared.source.file)
    for warning in prepared.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    base = SuiteRunResult(EXIT_OK, "running", prepared.plan, run_dir=run_dir)
    matplotlib = _draws_with_matplotlib(prepared)
    if worker is not None:
        worker.expect(matplotlib=matplotlib, warm_up=warm_up_dir(prepared, run_dir))
    else:
        preloader = threading.Thread(
            target=_preload_outputs, args=(matplotlib,), name="preload-outputs", daemon=True
        )
        preloader.start()
    try:
        run_result = _run_loop(prepared, options, run_dir)
    except KeyboardInterrupt:
        base.exit_code, base.status = EXIT_INTERRUPTED, "interrupted"
        base.resume_command = resume_command(prepared, options, run_dir)
        base.message = f"interrupted; finished trials are saved in {display_path(run_dir)}"
        return base
    except RunStoppedError as exc:
        base.exit_code, base.status = EXIT_INFRA, "stopped"
        base.message = f"run stopped: {exc}"
        base.resume_command = resume_command(prepared, options, run_dir)
        if RunDir(run_dir).has_records():
            _finish(prepared, run_dir, base, worker)
        return base
    base.status = run_result.status
    if run_result.status == "interrupted":
        base.exit_code = EXIT_INTERRUPTED
        base.resume_command = resume_command(prepared, options, run_dir)
        base.message = f"interrupted after {run_result.n_done} trials"
        return base
    if run_result.status != "complete":
        base.exit_code = EXIT_INFRA
        base.message = f"run {run_result.status}: {run_result.stop_reason or 'not every trial finished'}"
        base.resume_command = resume_command(prepared, options, run_dir)
    else:
        # Every trial of the run directory by its latest record, earlier sessions of a resume included.
        done = run_result.total_ok + run_result.total_error
        rate = run_result.total_error / done if done else 0.0
        if rate > prepared.suite.gate.max_error_rate:
            base.exit_code = EXIT_INFRA
            base.message = (
                f"{run_result.total_error} of {done} trials failed ({rate:.0%}), more than "
                f"gate.max_error_rate={prepared.suite.gate.max_error_rate:.0%}"
            )
            cause = describe_errors(run_dir)
            if cause:
                base.message += f"; {cause}"
    return _finish(prepared, run_dir, base, worker)


def describe_errors(run_dir: Path) -> str:
    """The most common error kind among the trials' latest records, with a sample message:
    "mostly auth (5 of 5 errors): invalidApiKey: ..." ("" when no trial failed)."""
    import collections

    lines, _ = RunDir(run_dir).latest_lines()
    errors = [raw.get("error") or {} for _, raw in lines if raw.get("status") != "ok"]
    if not errors:
        return ""
    kinds = collections.Counter(str(e.get("kind") or "unknown") for e in errors)
    kind, count = kinds.most_common(1)[0]
    sample = next(e for e in reversed(errors) if str(e.get("kind") or "unknown") == kind)
    message = str(sample.get("message") or "").strip()
    code = sample.get("code")
    if code and str(code) not in message:
        message = f"{code}: {message}" if message else str(code)
    return f"mostly {kind} ({count} of {len(errors)} errors)" + (f": {message}" if message else "")


def _run_loop(prepared: PreparedRun, options: RunOptions, run_dir: Path) -> RunResult:
    from harness.runner import run_event_loop

    return run_event_loop(_run_async(prepared, options, run_dir))


def run_suite(
    source: SuiteSource,
    options: RunOptions,
    *,
    out: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    worker: OutputsWorker | None = None,
) -> SuiteRunResult:
    """Validate (exit 2 and nothing sent on any problem), plan, run and report one suite; `worker`
    (harness.report.worker) builds the outputs in a child process that imported them meanwhile."""
    from harness.tokens import count_tokens, estimate_tokens

    counter = count_tokens if options.dry_run or options.max_cost_usd is not None else estimate_tokens
    prepared = prepare_run(source, options, environ=environ, count_tokens=counter)
    return execute(prepared, options, out=out, worker=worker)


def summarize_result(result: SuiteRunResult) -> Sequence[str]:
    """Lines a command prints at the end of a run (stdout: paths; the caller prints the message to stderr)."""
    lines = []
    if result.run_dir is not None and result.status != "dry-run":
        lines.append(f"run directory: {display_path(result.run_dir)}")
    if result.report_path is not None:
        lines.append(f"report: {display_path(result.report_path)}")
    return lines
