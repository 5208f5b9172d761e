"""Reading suite and target files into validated configs: `--set` dotted overrides (values parsed as
YAML), suite and target lookup by name. Parsing, line numbers and error wording live in harness.yamldoc.
Reads files only; never sends anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness import paths
from harness.config import SuiteConfig, TargetConfig
from harness.errors import ConfigError
from harness.grid import did_you_mean
from harness.yamldoc import (
    OVERRIDE_FILE,
    Loc,
    YamlDocument,
    combine_errors,
    display_path,
    field_path,
    non_finite_errors,
    parse_yaml,
    read_yaml,
    validation_errors,
)

__all__ = [
    "OVERRIDE_FILE",
    "SuiteSource",
    "YamlDocument",
    "apply_overrides",
    "combine_errors",
    "display_path",
    "find_suite",
    "find_target",
    "lines_by_path",
    "load_suite",
    "load_suite_source",
    "load_target",
    "load_targets",
    "parse_override",
    "read_yaml",
    "target_names",
    "validation_errors",
]


@dataclass(frozen=True, slots=True)
class SuiteSource:
    """A validated suite with where each field came from, so later checks can name file and line."""

    config: SuiteConfig
    file: str
    path: Path
    lines: dict[Loc, int]
    overridden: frozenset[str]

    def where(self, dotted: str) -> tuple[str, int | None]:
        """(file, line) of a dotted field path such as 'grid.temperature' or 'settings.topK'."""
        for key in self.overridden:
            if dotted == key or dotted.startswith(key + "."):
                return OVERRIDE_FILE, None
        loc = tuple(int(p) if p.isdigit() else p for p in dotted.split("."))
        doc = YamlDocument(None, self.file, self.lines)
        return self.file, doc.line(loc)


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """`grid.temperature=[0,0.6]` -> (['grid', 'temperature'], [0, 0.6]); the value is parsed as YAML."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ConfigError(f"expected PATH=VALUE, got {text!r}", file=OVERRIDE_FILE)
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in path.split(".")]
    if any(p == "" for p in parts):
        raise ConfigError(f"empty component in the path {path!r}", file=OVERRIDE_FILE, field=path)
    if not raw.strip():
        return parts, None
    try:
        _, value = parse_yaml(raw, OVERRIDE_FILE)
    except ConfigError as exc:
        problem = exc.message.removeprefix("invalid YAML: ")
        raise ConfigError(
            f"the value {raw!r} is not valid YAML: {problem}", file=OVERRIDE_FILE, field=path
        ) from None
    return parts, value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> tuple[dict[str, Any], set[str]]:
    """Apply `--set` overrides to a (copied) document; returns it and the dotted paths that were set."""
    import copy

    out = copy.deepcopy(data)
    touched: set[str] = set()
    for text in overrides:
        parts, value = parse_override(text)
        node: Any = out
        for depth, part in enumerate(parts[:-1]):
            nxt = parts[depth + 1]
            node = _child(node, part, make_list=isinstance(nxt, int), path=parts[: depth + 1])
        _assign(node, parts[-1], value, parts)
        touched.add(field_path(parts))
    return out, touched


def _child(node: Any, part: str | int, *, make_list: bool, path: Sequence[str | int]) -> Any:
    if isinstance(node, dict):
        key = str(part)
        if node.get(key) is None:
            node[key] = [] if make_list else {}
        return node[key]
    if isinstance(node, list) and isinstance(part, int):
        if part >= len(node):
            raise ConfigError(
                f"index {part} is out of range (the list has {len(node)} elements)",
                file=OVERRIDE_FILE,
                field=field_path(path),
            )
        return node[part]
    raise ConfigError(
        "cannot set a field inside a value that is not a mapping or list",
        file=OVERRIDE_FILE,
        field=field_path(path),
    )


def _assign(node: Any, part: str | int, value: Any, path: Sequence[str | int]) -> None:
    if isinstance(node, dict):
        node[str(part)] = value
    elif isinstance(node, list) and isinstance(part, int) and part <= len(node):
        if part == len(node):
            node.append(value)
        else:
            node[part] = value
    else:
        raise ConfigError(
            "cannot set this path (not a mapping key or list index)",
            file=OVERRIDE_FILE,
            field=field_path(path),
        )


def load_suite_source(path: str | Path, *, overrides: Sequence[str] = ()) -> SuiteSource:
    """Read, override and validate a suite file."""
    path = Path(path)
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError("a suite file must be a YAML mapping (name:, dataset:, ...)", file=doc.file)
    data, touched = apply_overrides(doc.data, overrides)
    doc = YamlDocument(data, doc.file, doc.lines)
    if touched and (errors := non_finite_errors(doc, overridden=touched)):
        raise combine_errors(errors)
    try:
        config = SuiteConfig.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as exc:
        raise validation_errors(exc, SuiteConfig, doc, overridden=touched) from None
    return SuiteSource(config, doc.file, path, doc.lines, frozenset(touched))


def load_suite(path: str | Path, *, overrides: Sequence[str] = ()) -> SuiteConfig:
    """A validated SuiteConfig from suites/NAME.yaml (with `--set` overrides)."""
    return load_suite_source(path, overrides=overrides).config


def find_suite(name_or_path: str) -> Path:
    """A suite file given as a path, or as a name under suites/."""
    path = Path(name_or_path)
    if path.exists():
        return path
    for candidate in (paths.suites_dir() / name_or_path, paths.suites_dir() / f"{name_or_path}.yaml"):
        if candidate.is_file():
            return candidate
    available = sorted(p.stem for p in paths.suites_dir().glob("*.yaml"))
    raise ConfigError(
        f"suite {name_or_path!r} not found (neither a file nor a name under {paths.suites_dir()})"
        + did_you_mean(Path(name_or_path).stem, available),
        field="SUITE",
        allowed=available,
    )


def target_names() -> list[str]:
    """Targets shipped under configs/targets/."""
    folder = paths.configs_dir() / "targets"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def find_target(name_or_path: str) -> Path:
    """A target given as a file path, or as a name under configs/targets/."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or "/" in name_or_path:
        if path.is_file():
            return path
        raise ConfigError("target file not found", file=name_or_path, field="--target")
    for suffix in (".yaml", ".yml"):
        candidate = paths.configs_dir() / "targets" / f"{name_or_path}{suffix}"
        if candidate.is_file():
            return candidate
    names = target_names()
    raise ConfigError(
        f"unknown target {name_or_path!r}{did_you_mean(name_or_path, names)}", field="--target", allowed=names
    )


def load_target(name_or_path: str) -> TargetConfig:
    """A validated TargetConfig; its name defaults to the file's stem."""
    path = find_target(name_or_path)
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError("a target file must be a YAML mapping (provider:, model:, ...)", file=doc.file)
    data = dict(doc.data)
    data.setdefault("name", path.stem)
    try:
        return TargetConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_errors(exc, TargetConfig, YamlDocument(data, doc.file, doc.lines)) from None


def load_targets(names: Iterable[str]) -> dict[str, TargetConfig]:
    """Several targets by name; every problem reported at once. Keys are the names as given."""
    out: dict[str, TargetConfig] = {}
    errors: list[ConfigError] = []
    for name in dict.fromkeys(names):
        try:
            out[name] = load_target(name)
        except ConfigError as exc:
            errors.append(exc)
    if errors:
        raise combine_errors(errors)
    return out


def lines_by_path(lines: Mapping[Loc, int]) -> dict[str, int]:
    """Dotted path -> line, for modules that name fields as strings (prompts)."""
    return {field_path(loc): line for loc, line in lines.items()}
