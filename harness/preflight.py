"""Everything checked before the first request, and the plan it yields: targets and their key variables,
every cell's settings against the model's capability card, scorers and thresholds, data rows, templates,
and the grid-size safety limit. All problems are collected into one ConfigError (exit 2). Sends nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from harness.config import RunConfig, SuiteConfig, TargetConfig
from harness.errors import ConfigError, PlanError
from harness.grid import Cell, did_you_mean, expand_grid, shadowed_settings
from harness.loading import SuiteSource, combine_errors, lines_by_path, load_target, target_names
from harness.plan import PlanItem, RunPlan, build_plan, resolve_cell

if TYPE_CHECKING:  # imported where used, to keep start-up light
    from harness.capability import ModelCard
    from harness.datasets import Item


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What the command line adds to a suite (None = keep the suite's value)."""

    target: str | None = None
    out: Path | None = None
    concurrency: int | None = None
    rate_rps: float | None = None
    max_cost_usd: float | None = None
    limit: int | None = None
    resume: Path | None = None
    dry_run: bool = False
    yes: bool = False
    progress: bool = True
    command: tuple[str, ...] = ()


@dataclass(slots=True)
class PreparedRun:
    """A validated suite turned into a plan, ready to send."""

    source: SuiteSource
    suite: SuiteConfig
    targets: dict[str, TargetConfig]
    default_target: str | None
    items: list[Item]
    plan: RunPlan
    cards: dict[str, ModelCard | None]
    warnings: list[str] = field(default_factory=list)

    @property
    def run(self) -> RunConfig:
        return self.suite.run


def effective_suite(source: SuiteSource, options: RunOptions) -> SuiteConfig:
    """The suite with --limit, --concurrency, --rate and --max-cost applied (validated like the file)."""
    data = source.config.model_dump(mode="json")
    flags: dict[str, tuple[str, Any]] = {}
    if options.limit is not None:
        data["dataset"]["limit"] = options.limit
        flags["dataset.limit"] = ("--limit", options.limit)
    for key, flag, value in (
        ("concurrency", "--concurrency", options.concurrency),
        ("rate_rps", "--rate", options.rate_rps),
        ("max_cost_usd", "--max-cost", options.max_cost_usd),
    ):
        if value is not None:
            data["run"][key] = value
            flags[f"run.{key}"] = (flag, value)
    if not flags:
        return source.config
    try:
        return SuiteConfig.model_validate(data)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            dotted = ".".join(str(p) for p in error["loc"])
            flag, value = flags.get(dotted, (dotted, error.get("input")))
            errors.append(ConfigError(f"{error['msg']} (got {value!r})", field=flag))
        raise combine_errors(errors) from None


def referenced_targets(suite: SuiteConfig, default: str | None) -> tuple[list[str], bool]:
    """Target names the run needs, and whether some cell falls back to the default target."""
    names: list[str] = []
    needs_default = False
    for cell in expand_grid(suite.grid):
        if "target" in cell.values:
            names.append(str(cell.values["target"]))
        else:
            needs_default = True
    if needs_default and default is not None:
        names.insert(0, default)
    return list(dict.fromkeys(names)), needs_default


def _target_origins(suite: SuiteConfig, options: RunOptions) -> dict[str, str]:
    """Where each target name comes from: the --target flag, the suite's `target:`, or a grid value
    (as a field path such as grid.target[1]); the first place wins."""
    origins: dict[str, str] = {}
    if options.target:
        origins[options.target] = "--target"
    elif suite.target:
        origins[suite.target] = "target"
    grid = suite.grid
    groups: list[tuple[str, Any]] = [("grid", grid.axes)]
    groups += [(f"grid.zip[{i}]", group) for i, group in enumerate(grid.zip)]
    for prefix, group in groups:
        values = group.get("target")
        if isinstance(values, list):
            for i, value in enumerate(values):
                origins.setdefault(str(value), f"{prefix}.target[{i}]")
        elif values is not None:
            origins.setdefault(str(values), f"{prefix}.target")
    for i, cell in enumerate(grid.cells):
        if "target" in cell:
            origins.setdefault(str(cell["target"]), f"grid.cells[{i}].target")
    return origins


def _load_targets(
    names: Sequence[str], origins: Mapping[str, str], source: SuiteSource, errors: list[ConfigError]
) -> dict[str, TargetConfig]:
    """Each named target; a problem is reported at the field that named it (a suite field with its line,
    or --target when the name came from the flag)."""
    loaded: dict[str, TargetConfig] = {}
    for name in names:
        try:
            loaded[name] = load_target(name)
        except ConfigError as exc:
            origin = origins.get(name, "--target")
            if exc.field != "--target" or origin == "--target":
                errors.append(_locate(exc, source))
                continue
            message = exc.message if exc.file is None else f"{exc.message}: {exc.file}"
            errors.append(_locate(ConfigError(message, field=origin, allowed=exc.allowed), source))
    return loaded


def _locate(error: ConfigError, source: SuiteSource) -> ConfigError:
    """Give an error raised without a file (scorers, gate) the suite's file and the field's line."""
    if error.file is not None or error.field is None:
        return error
    dotted = error.field.replace("[", ".").replace("]", "")
    file, line = source.where(dotted)
    return ConfigError(error.message, file=file, field=error.field, line=line, allowed=error.allowed)


def _setting_origin(suite: SuiteConfig, cell: Cell, name: str) -> str:
    """Dotted path of the place a cell's setting comes from (for file and line in errors)."""
    grid = suite.grid
    if name in grid.axes:
        return f"grid.{name}"
    for index, group in enumerate(grid.zip):
        if name in group:
            return f"grid.zip.{index}.{name}"
    for index, explicit in enumerate(grid.cells):
        if name in explicit and all(cell.values.get(k) == v for k, v in explicit.items()):
            return f"grid.cells.{index}.{name}"
    return f"settings.{name}"


def check_shadowed(suite: SuiteConfig, source: SuiteSource, cells: Sequence[Cell]) -> list[ConfigError]:
    """A fixed setting that the grid gives in every cell: the grid would silently win, so the value
    under `settings:` is never sent. Named at both places."""
    errors = []
    for name in shadowed_settings(suite.settings, list(cells)):
        grid_path = _setting_origin(suite, cells[0], name)
        grid_file, grid_line = source.where(grid_path)
        file, line = source.where(f"settings.{name}")
        there = grid_path + (
            f" ({grid_file})" if grid_file != file else f" (line {grid_line})" if grid_line else ""
        )
        errors.append(
            ConfigError(
                f"{name} is also given by {there}, which sets it in every cell, so this value would never "
                f"be sent; remove settings.{name} or the grid's {name}",
                file=file,
                field=f"settings.{name}",
                line=line,
            )
        )
    return errors


def _with_value(violation: Any, value: Any) -> str:
    """The card's message with the bad value, unless the message already shows it."""
    text = str(violation.message).rstrip(".")
    if not any(f"got {shown}" in text for shown in (repr(value), str(value))):
        text += f"; got {value!r}"
    return text


def _allowed_text(violation: Any) -> Sequence[object] | str | None:
    if violation.allowed_values:
        return list(violation.allowed_values)
    if violation.min is not None or violation.max is not None:
        return f"{violation.min}..{violation.max}"
    return None


def check_settings(
    suite: SuiteConfig,
    source: SuiteSource,
    cells: Sequence[Cell],
    targets: Mapping[str, TargetConfig],
    cards: Mapping[str, ModelCard | None],
    default_target: str | None,
) -> list[ConfigError]:
    """Every cell's settings (plus seed and numberResults) against its target's capability card.

    `targets` is keyed by the name as written (suite, grid or --target), `cards` by target name.
    """
    from harness.capability import validate_settings

    errors: dict[tuple[str, str], ConfigError] = {}
    for cell in cells:
        res = resolve_cell(suite, cell, default_target or "")
        target = targets.get(res.target)
        card = cards.get(target.name) if target is not None else None
        if card is None:
            continue
        values: dict[str, Any] = dict(res.settings)
        if res.seed is not None:
            values["seed"] = res.seed
        if res.number_results != 1 or "numberResults" in {**suite.settings, **cell.values}:
            values["numberResults"] = res.number_results
        if res.system_prompt is not None and "systemPrompt" in card.settings:
            values["systemPrompt"] = res.system_prompt
        for violation in validate_settings(card, values):
            name = violation.parameter or ""
            origin = _setting_origin(suite, cell, name)
            key = (origin, repr(values.get(name)))
            if key in errors:
                continue
            file, line = source.where(origin)
            if violation.code == "unknownParameter":
                known = sorted(str(v) for v in violation.allowed_values or ())
                message = (
                    f"{name!r} is not a setting of {card.name} (target {res.target})"
                    f"{did_you_mean(name, known)}"
                )
            else:
                where = f"cell {cell.id}, " if origin.startswith("grid.") else ""
                message = f"{_with_value(violation, values.get(name))} ({where}target {res.target}, card {card.name})"
            errors[key] = ConfigError(
                message, file=file, field=origin, line=line, allowed=_allowed_text(violation)
            )
    shadowed = {name: suite.settings[name] for name in shadowed_settings(suite.settings, list(cells))}
    checked: set[str] = set()
    for cell in cells if shadowed else ():
        target = targets.get(resolve_cell(suite, cell, default_target or "").target)
        card = cards.get(target.name) if target is not None else None
        if card is None or card.name in checked:
            continue
        checked.add(card.name)
        for violation in validate_settings(card, shadowed):
            if violation.code == "unknownParameter":
                continue  # reported with the grid's values, which are the ones that would be sent
            name = violation.parameter or ""
            origin = f"settings.{name}"
            key = (origin, repr(shadowed.get(name)))
            file, line = source.where(origin)
            errors.setdefault(
                key,
                ConfigError(
                    f"{_with_value(violation, shadowed.get(name))} (card {card.name})",
                    file=file,
                    field=origin,
                    line=line,
                    allowed=_allowed_text(violation),
                ),
            )
    return list(errors.values())


def check_keys(
    targets: Mapping[str, TargetConfig],
    *,
    environ: Mapping[str, str],
    files: Mapping[str, str] | None = None,
) -> list[ConfigError]:
    """An API key variable that is named but unset (the simulator needs none). `files`: target name ->
    its file, for the error."""
    errors = []
    for name, target in targets.items():
        var = target.api_key_env
        if var and target.provider != "simulator" and not environ.get(var):
            errors.append(
                ConfigError(
                    f"the environment variable {var} is not set; it must hold the API key of target {name!r}",
                    field="api_key_env",
                    file=(files or {}).get(name, f"target {name}"),
                )
            )
    return errors


def check_endpoints(targets: Mapping[str, TargetConfig], files: Mapping[str, str]) -> list[ConfigError]:
    """A runware or openai target without an endpoint (the provider would refuse it mid-run)."""
    return [
        ConfigError(
            f"provider {target.provider} needs an endpoint URL",
            file=files.get(name, f"target {name}"),
            field="endpoint",
            allowed="an http(s) URL, e.g. https://api.runware.ai/v1 or http://127.0.0.1:8000/v1",
        )
        for name, target in targets.items()
        if target.provider != "simulator" and target.endpoint is None
    ]


def target_files(names: Sequence[str]) -> dict[str, str]:
    """Target name (as loaded) -> the file it came from, for errors about a loaded target."""
    from harness.loading import display_path, find_target

    out = {}
    for name in names:
        try:
            out[name] = display_path(find_target(name))
        except ConfigError:
            continue
    return out


def load_cards(targets: Mapping[str, TargetConfig], warnings: list[str]) -> dict[str, ModelCard | None]:
    """The capability card of each target: named by `capability`, else found by model id."""
    from harness.capability import find_card, load_card

    cards: dict[str, ModelCard | None] = {}
    for name, target in targets.items():
        card = load_card(target.capability) if target.capability else find_card(target.model)
        if card is None:
            warnings.append(
                f"no capability card lists model {target.model!r} (target {name}): its settings are not checked"
            )
        cards[name] = card
    return cards


def render_items(
    suite: SuiteConfig, source: SuiteSource, items: Sequence[Item], examples: Sequence[Item]
) -> list[PlanItem]:
    """Render every item's prompt (so a template error on any row stops the run before it starts)."""
    from harness.prompts import PromptRenderer

    renderer = PromptRenderer(
        suite.prompt, file=source.file, lines=lines_by_path(source.lines), examples=examples
    )
    out = []
    for row, item in enumerate(items):
        rendered = renderer.render(item, row=row)
        inputs: dict[str, list[str]] = {}
        if item.images:
            inputs["images"] = list(item.images)
        if item.videos:
            inputs["videos"] = list(item.videos)
        out.append(
            PlanItem(
                id=item.id,
                messages=rendered.messages,
                system_prompt=rendered.system_prompt,
                inputs=inputs or None,
                reference=item.target,
                choices=list(item.choices) if item.choices is not None else None,
            )
        )
    return out


def _attempt(errors: list[ConfigError], source: SuiteSource, step: Callable[[], Any]) -> Any:
    try:
        return step()
    except ConfigError as exc:
        errors.append(_locate(exc, source))
    except PlanError as exc:
        errors.append(ConfigError(str(exc), file=source.file))
    return None


def prepare_run(
    source: SuiteSource,
    options: RunOptions,
    *,
    environ: Mapping[str, str] | None = None,
    count_tokens: Callable[[str], int] | None = None,
) -> PreparedRun:
    """Validate everything a run needs and build its plan; raise one ConfigError listing every problem."""
    from harness.datasets import load_few_shot, load_items

    environ = os.environ if environ is None else environ
    suite = effective_suite(source, options)
    warnings: list[str] = []
    errors: list[ConfigError] = []
    default = options.target or suite.target
    cells: list[Cell] = _attempt(errors, source, lambda: expand_grid(suite.grid)) or []
    names, needs_default = referenced_targets(suite, default) if cells else ([], False)
    if needs_default and default is None:
        errors.append(
            ConfigError(
                "no target: pass --target or set `target:` in the suite",
                field="--target",
                allowed=target_names(),
            )
        )
    loaded = _load_targets(names, _target_origins(suite, options), source, errors)
    targets = {t.name: t for t in loaded.values()}
    files = {loaded[n].name: f for n, f in target_files(list(loaded)).items()}
    errors.extend(check_endpoints(targets, files))
    if loaded and not options.dry_run:
        errors.extend(check_keys(targets, environ=environ, files=files))
    elif loaded:
        warnings.extend(f"dry run: {e.message}" for e in check_keys(targets, environ=environ, files=files))
    errors.extend(check_shadowed(suite, source, cells))
    cards: dict[str, ModelCard | None] = _attempt(errors, source, lambda: load_cards(targets, warnings)) or {}
    if cells and len(loaded) == len(names):
        errors.extend(check_settings(suite, source, cells, loaded, cards, default))
    if suite.scorers:
        from harness.scoring.apply import build_scorers

        _attempt(errors, source, lambda: build_scorers(suite.scorers))
    if suite.thresholds:
        from harness.gate import validate_thresholds

        _attempt(errors, source, lambda: validate_thresholds(suite.thresholds))
    if suite.gate.metrics:
        from harness.compare import gated_metrics

        _attempt(errors, source, lambda: gated_metrics(suite.gate))
    base_dir = source.path.parent
    items: list[Item] | None = _attempt(errors, source, lambda: load_items(suite.dataset, base_dir=base_dir))
    if items is not None and not items:
        errors.append(
            ConfigError(
                "the data set has no items (after filters, sample and limit)",
                file=source.file,
                field="dataset",
            )
        )
    plan_items: list[PlanItem] = []
    if items:
        ids = {i.id for i in items}
        examples: list[Item] | None = []
        if suite.dataset.few_shot is not None:
            examples = _attempt(
                errors, source, lambda: load_few_shot(suite.dataset, base_dir=base_dir, exclude_ids=ids)
            )
        if examples is not None:
            plan_items = _attempt(errors, source, lambda: render_items(suite, source, items, examples)) or []
    if errors:
        raise combine_errors(errors)
    plan = build_plan(
        suite, plan_items, loaded, default_target=default or "", cells=cells, count_tokens=count_tokens
    )
    if plan.n_trials > suite.max_trials and not options.yes:
        raise PlanError(
            f"the plan has {plan.n_trials} trials ({plan.n_cells} cells x {plan.n_items} items x repeats), "
            f"more than the safety limit max_trials={suite.max_trials}; pass --yes to run it anyway, "
            "or raise max_trials in the suite"
        )
    default_name = loaded[default].name if default in loaded else None
    return PreparedRun(source, suite, targets, default_name, items or [], plan, cards, warnings)
