"""The `json` scorer: is the reply valid JSON, optionally valid against a JSON Schema (via the
`jsonschema` package) and optionally equal to the reference. Must not repair broken JSON: a fence or
surrounding prose may be stripped (lenient), a missing brace may not.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.paths import project_root
from harness.records import Record, Score
from harness.scoring.base import Scorer, references, result_at, scored_text, verdict
from harness.scoring.registry import scorer

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|jsonc)?[ \t]*\n(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()


class _NotJson(Exception):
    """The reply holds no JSON value."""


def extract_json(text: str, *, lenient: bool = True) -> Any:
    """The JSON value in a reply: the whole reply, or (lenient) a fenced block or the first `{`/`[` value.

    Raises ValueError (json.JSONDecodeError) when there is none.
    """
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        if not lenient:
            raise
    for block in reversed(_FENCE.findall(text)):
        try:
            return json.loads(block)
        except json.JSONDecodeError:
            continue
    for m in re.finditer(r"[\[{]", text):
        try:
            value, _ = _DECODER.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        return value
    return json.loads(stripped)  # re-raises with the decoder's own message


def load_schema(schema: dict[str, Any] | str) -> dict[str, Any]:
    """An inline schema, or one read from a .json/.yaml file (relative to the current directory or the
    project root)."""
    if isinstance(schema, dict):
        return schema
    path = Path(schema)
    if not path.is_absolute() and not path.exists():
        path = project_root() / schema
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read JSON Schema file {schema!r} ({exc})", field="options.schema") from exc
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            loaded = yaml.safe_load(raw)
        else:
            loaded = json.loads(raw)
    except (ValueError, ImportError) as exc:
        raise ConfigError(
            f"JSON Schema file {schema!r} does not parse ({exc})", field="options.schema"
        ) from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"JSON Schema file {schema!r} must hold an object", field="options.schema")
    return loaded


def _validator(schema: dict[str, Any]) -> Any:
    try:
        jsonschema = importlib.import_module("jsonschema")
    except ImportError as exc:
        raise ConfigError(
            "option schema needs the `jsonschema` package (pip install jsonschema)", field="options.schema"
        ) from exc
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        raise ConfigError(f"invalid JSON Schema: {exc.message}", field="options.schema") from exc
    return cls(schema)


@scorer("json")
def json_scorer(
    *,
    schema: dict[str, Any] | str | None = None,
    lenient: bool = True,
    match_reference: bool = False,
    use_reasoning: bool = False,
) -> Scorer:
    """Right when the reply holds JSON (and validates against `schema`, and equals the reference when
    `match_reference`: a reference string is parsed as JSON first)."""
    validator = _validator(load_schema(schema)) if schema is not None else None

    def score(record: Record, result_index: int) -> Score:
        text = scored_text(result_at(record, result_index), use_reasoning=use_reasoning)
        if not text.strip():
            return verdict(record, result_index, "json", extracted=None, correct=False)
        try:
            value = extract_json(text, lenient=lenient)
        except ValueError as exc:
            return verdict(
                record, result_index, "json", extracted=None, correct=False, how=f"not JSON: {exc}"
            )
        extracted = json.dumps(value, sort_keys=True, ensure_ascii=False)
        if len(extracted) > 500:
            extracted = extracted[:499] + "…"
        if validator is not None:
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
            if errors:
                where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
                how = f"schema: {where}: {errors[0].message}" + (
                    f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
                )
                return verdict(record, result_index, "json", extracted=extracted, correct=False, how=how)
        if match_reference:
            golds = [_as_json(ref) for ref in references(record, "json")]
            if value not in golds:
                return verdict(
                    record,
                    result_index,
                    "json",
                    extracted=extracted,
                    correct=False,
                    how="differs from the reference",
                )
        return verdict(record, result_index, "json", extracted=extracted, correct=True)

    return score


def _as_json(reference: Any) -> Any:
    if isinstance(reference, str):
        try:
            return json.loads(reference)
        except json.JSONDecodeError:
            return reference
    return reference
