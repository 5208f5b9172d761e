"""A config file as a YAML document: the one guarded reader of suites, targets, capability cards and
price tables (UTF-8, size, nesting and alias-expansion limits, no NaN or infinity, no duplicate keys),
the line of every field, and pydantic errors turned into ConfigErrors that name the file, line, field
path, bad value and allowed keys (with a did-you-mean). Knows no config model: imports stay light.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

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


def _fast_parser() -> type[Any] | None:
    """libyaml's scanner and parser (PyYAML's C extension), when installed."""
    try:
        from yaml._yaml import CParser
    except ImportError:
        return None
    parser: type[Any] = CParser
    return parser


_CParser = _fast_parser()


class _GuardedComposer(yaml.composer.Composer):
    """PyYAML's composer with a nesting limit (it recurses: deep nesting would be a RecursionError)."""

    depth = 0
    name = "<yaml>"  # the file, as parse_yaml names it in errors

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


class _PureLoader(
    _GuardedComposer,
    yaml.constructor.SafeConstructor,
    yaml.resolver.Resolver,
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
):
    """PyYAML's SafeLoader with the guarded composer: all in Python."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


def _fast_loader(parser: type[Any]) -> type[Any]:
    """The guarded loader on libyaml's scanner and parser: the document is still composed in Python
    (so the nesting limit holds), from events libyaml makes 4x faster than PyYAML's pure-Python
    parser (a capability card: 13 -> 3 ms); the same nodes, marks and values."""

    def __init__(self: Any, stream: str) -> None:
        parser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    bases = (_GuardedComposer, yaml.constructor.SafeConstructor, yaml.resolver.Resolver, parser)
    return type("_FastLoader", bases, {"__init__": __init__})


_Loader: type[Any] = _fast_loader(_CParser) if _CParser is not None else _PureLoader


def parse_yaml(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    """Compose and construct one YAML document (parsed once); refuses alias bombs and deep nesting."""
    loader = _Loader(text)
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
    fewer), past MAX_DEPTH levels, or into a cycle: before anything walks the expanded values."""
    distinct: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in distinct:
            distinct.add(id(node))
            stack.extend(_children(node))
    limit = max(MAX_EXPANDED_VALUES, len(distinct))
    # (values, levels) of each node once expanded. Anchors come before their aliases in the file, so
    # this walk meets an aliased node's memo before descending it again: it recurses no deeper than the
    # file's own nesting (which the loader bounds), while the levels count the expanded nesting.
    measured: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def measure(node: yaml.Node) -> tuple[int, int]:
        key = id(node)
        if key in measured:
            return measured[key]
        line = node.start_mark.line + 1
        if key in active:
            raise ConfigError(
                "an alias refers to a value that contains it (a recursive structure)", file=file, line=line
            )
        active.add(key)
        total, levels = 1, 1
        for child in _children(node):
            values, child_levels = measure(child)
            total += values
            levels = max(levels, child_levels + 1)
            if total > limit:
                raise ConfigError(
                    f"YAML aliases expand this document to more than {MAX_EXPANDED_VALUES:,} values "
                    "(an anchor may be repeated, not multiplied: is this a 'billion laughs' file?)",
                    file=file,
                    line=child.start_mark.line + 1,
                )
            if levels > MAX_DEPTH:
                raise ConfigError(
                    f"values are nested more than {MAX_DEPTH} levels deep (through aliases)",
                    file=file,
                    line=child.start_mark.line + 1,
                )
        active.discard(key)
        measured[key] = (total, levels)
        return total, levels

    measure(root)


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
            dotted = field_path(loc)
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
                    field=field_path((*loc, key)),
                )
            seen.add(key)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*loc, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            lines[(*loc, index)] = child.start_mark.line + 1
            _index_lines(child, (*loc, index), lines, file)


def field_path(loc: Sequence[str | int]) -> str:
    """('grid', 'topK', 1) -> 'grid.topK.1', the field path errors show."""
    return ".".join(str(p) for p in loc)


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
        dotted = field_path(loc)
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
