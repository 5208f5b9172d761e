"""Reading suite and target YAML files into validated configs: YAML line numbers for every field, `--set`
dotted overrides (values parsed as YAML), pydantic errors turned into ConfigErrors that name the file, line,
field path, bad value and allowed keys (with a did-you-mean). Reads files only; never sends anything.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from harness import paths
from harness.config import SuiteConfig, TargetConfig
from harness.errors import ConfigError
from harness.grid import FIELD_ERROR, did_you_mean

OVERRIDE_FILE = "--set"
Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """Parsed YAML with the line (1-based) of every mapping key and sequence element, by path."""

    data: Any
    file: str
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Loc) -> int | None:
        """Line of the deepest existing prefix of `loc` (a missing key points at its parent)."""
        for end in range(len(loc), 0, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


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


def display_path(path: Path) -> str:
    """A path relative to the working directory when it is below it (shorter errors)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# Limits of what a hand-written config file may be. Aliases may repeat a value, never multiply it: a
# "billion laughs" document is a few hundred bytes that expands to billions of values downstream.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_EXPANDED_VALUES = 100_000
MAX_DEPTH = 64


def read_yaml(path: Path) -> YamlDocument:
    """Parse a YAML file; syntax errors, duplicate keys, non-UTF-8 bytes, alias bombs and non-finite
    numbers (.nan, .inf) become ConfigErrors with their line."""
    file = display_path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"the file has {size:,} bytes, more than the {MAX_FILE_BYTES:,} a config file may have "
                "(data belongs in the dataset file)",
                file=file,
            )
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError("file not found", file=file) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", file=file) from exc
    text = decode_utf8(raw, file)
    node, data = parse_yaml(text, file)
    lines: dict[Loc, int] = {}
    if node is not None:
        _index_lines(node, (), lines, file)
    doc = YamlDocument(data, file, lines)
    errors = non_finite_errors(doc)
    if errors:
        raise combine_errors(errors)
    return doc


def decode_utf8(raw: bytes, file: str) -> str:
    """The file's text; bytes that are not UTF-8 are a ConfigError naming their line and column."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, column {column} "
            "cannot be decoded (save the file as UTF-8)",
            file=file,
            line=line,
        ) from None


class _GuardedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit (its composer recurses: deep nesting would be a
    RecursionError)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = typing.cast(Any, self).peek_event().start_mark  # peek_event is untyped in the stubs
                raise ConfigError(
                    f"values are nested more than {MAX_DEPTH} levels deep",
                    file=str(self.name),
                    line=mark.line + 1 if mark else None,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse_yaml(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    """Compose and construct one YAML document (parsed once); refuses alias bombs and deep nesting."""
    loader = _GuardedLoader(text)
    loader.name = file
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        check_expansion(node, file)
        return node, loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
        raise ConfigError(message, file=file, line=mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()


def check_expansion(root: yaml.Node, file: str) -> None:
    """Refuse a document that aliases expand past MAX_EXPANDED_VALUES values (when the file itself holds
    fewer), past MAX_DEPTH levels, or into a cycle; before anything walks the expanded values."""
    distinct: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in distinct:
            distinct.add(id(node))
            stack.extend(_children(node))
    limit = max(MAX_EXPANDED_VALUES, len(distinct))
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        line = node.start_mark.line + 1
        if key in active:
            raise ConfigError(
                "an alias refers to a value that contains it (a recursive structure)", file=file, line=line
            )
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"values are nested more than {MAX_DEPTH} levels deep (through aliases)", file=file, line=line
            )
        active.add(key)
        total = 1
        for child in _children(node):
            total += size(child, depth + 1)
            if total > limit:
                raise ConfigError(
                    f"YAML aliases expand this document to more than {MAX_EXPANDED_VALUES:,} values "
                    "(an anchor may be repeated, not multiplied: is this a 'billion laughs' file?)",
                    file=file,
                    line=child.start_mark.line + 1,
                )
        active.discard(key)
        sizes[key] = total
        return total

    size(root, 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def non_finite_errors(doc: YamlDocument, *, overridden: Iterable[str] = ()) -> list[ConfigError]:
    """Every NaN or infinity in the document (YAML's .nan, .inf, -.inf): no setting, bound or limit
    means anything with them, and NaN passes every range check."""
    overridden = set(overridden)
    errors: list[ConfigError] = []
    seen: set[int] = set()  # an aliased value is reported once, where it first appears

    def walk(value: Any, loc: Loc) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            dotted = _dotted(loc)
            from_flag = any(dotted == o or dotted.startswith(o + ".") for o in overridden)
            errors.append(
                ConfigError(
                    f"{value!r} is not a finite number (.nan, .inf and -.inf are refused in every field)",
                    file=OVERRIDE_FILE if from_flag else doc.file,
                    line=None if from_flag else doc.line(loc),
                    field=dotted or None,
                    allowed="a finite number",
                )
            )
        elif isinstance(value, dict | list):
            if id(value) in seen:
                return
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                walk(child, (*loc, key if isinstance(key, int) and isinstance(value, list) else str(key)))

    walk(doc.data, ())
    return errors


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise ConfigError(
                    f"duplicate key {key!r}",
                    file=file,
                    line=key_node.start_mark.line + 1,
                    field=_dotted((*loc, key)),
                )
            seen.add(key)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*loc, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            lines[(*loc, index)] = child.start_mark.line + 1
            _index_lines(child, (*loc, index), lines, file)


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in loc)


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
        touched.add(_dotted(parts))
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
                field=_dotted(path),
            )
        return node[part]
    raise ConfigError(
        "cannot set a field inside a value that is not a mapping or list",
        file=OVERRIDE_FILE,
        field=_dotted(path),
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
            "cannot set this path (not a mapping key or list index)", file=OVERRIDE_FILE, field=_dotted(path)
        )


def combine_errors(errors: Sequence[ConfigError]) -> ConfigError:
    """One error for several problems: the first names file and field, the message lists them all."""
    if len(errors) == 1:
        return errors[0]
    first = errors[0]
    text = f"{len(errors)} problems:\n" + "\n".join(f"  - {e}" for e in errors)
    combined = ConfigError(text)
    combined.file, combined.field, combined.line = first.file, first.field, first.line
    return combined


def validation_errors(
    exc: ValidationError,
    model: type[BaseModel],
    doc: YamlDocument,
    *,
    overridden: Iterable[str] = (),
) -> ConfigError:
    """pydantic's errors as one ConfigError naming file:line, field path, bad value and allowed keys."""
    overridden = set(overridden)
    errors: list[ConfigError] = []
    for error in exc.errors():
        # A model-level check names the field it is about (harness.grid.field_error).
        inner = tuple(error.get("ctx", {}).get("field_path", ())) if error["type"] == FIELD_ERROR else ()
        loc = _data_loc(doc.data, (*error["loc"], *inner))
        dotted = _dotted(loc)
        file: str = doc.file
        line = doc.line(loc)
        inside = any(dotted == o or dotted.startswith(o + ".") for o in overridden)
        created = dotted and loc not in doc.lines and any(o.startswith(dotted + ".") for o in overridden)
        if inside or created:
            file, line = OVERRIDE_FILE, None
        kind = error["type"]
        allowed: list[str] | str | None = None
        if kind == "extra_forbidden":
            choices = _fields_at(model, loc[:-1])
            if loc[:1] == ("grid",) and len(loc) == 2:
                choices = []  # unreachable: grid collects unknown keys as axes
            message = f"unknown key {loc[-1]!r}{did_you_mean(str(loc[-1]), choices)}"
            allowed = choices or None
        elif kind == "missing":
            message = "required field is missing"
        elif kind == FIELD_ERROR:
            message = str(error["msg"])
            allowed = error.get("ctx", {}).get("allowed")
        else:
            text = str(error["msg"]).removeprefix("Value error, ")
            message = (
                f"{text} (got {_short(error.get('input'))})"
                if "input" in error and kind != "value_error"
                else text
            )
        errors.append(ConfigError(message, file=file, line=line, field=dotted or None, allowed=allowed))
    return combine_errors(errors)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _data_loc(data: Any, loc: Sequence[str | int]) -> Loc:
    """pydantic's loc mapped onto the YAML document: union tags dropped, grid.axes.X -> grid.X."""
    out: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        if in_dict or (isinstance(node, list) and isinstance(part, int) and part < len(node)):
            out.append(part)
            node = node[part]
        elif out == ["grid"] and part == "axes":
            continue
        elif isinstance(part, str) and (isinstance(node, dict) or node is None) and not _is_tag(part):
            out.append(part)  # a missing key: keep it in the path
            node = None
        # otherwise a union/validator tag such as 'function-before[...]' or 'list[...]': skip it
    return tuple(out)


def _is_tag(part: str) -> bool:
    return any(c in part for c in "[]()-") or part in ("str", "int", "float", "bool", "list", "dict")


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the model found at `loc` inside `model` (for did-you-mean), or []."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not isinstance(part, str) or part not in current.model_fields:
                return []
            current = current.model_fields[part].annotation
        else:
            origin = typing.get_origin(current)
            args = typing.get_args(current)
            if origin in (list, tuple) and args:
                current = args[0]
            elif origin is dict and len(args) == 2:
                current = args[1]
            else:
                return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:
            return models[0]
    return annotation


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
    return {_dotted(loc): line for loc, line in lines.items()}
