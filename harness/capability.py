"""Model capability cards (configs/models/*.yaml): their loader and the one validator of task fields and
settings against them, used by the simulator and by client-side pre-flight checks. The card holds every
model-specific value (ranges, defaults, enum values); this module must hold none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.errors import ConfigError
from harness.paths import configs_dir

ParamType = Literal["int", "float", "bool", "string", "enum", "string_list"]
_WIRE_TYPE = {
    "int": "integer",
    "float": "float",
    "bool": "boolean",
    "string": "string",
    "enum": "string",
    "string_list": "array",
}
_STRUCTURAL = ("messages", "inputs", "settings")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_URI_RE = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
_DATA_URI_RE = re.compile(r"^data:([a-z]+/[\w.+-]+);base64,([A-Za-z0-9+/]+={0,2})$")
_BASE64_RE = re.compile(r"^[A-Za-z0-9+/]{16,}={0,2}$")


class _Card(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", allow_inf_nan=False)


class ParameterSpec(_Card):
    """One task field or setting: its type, bounds, default and allowed values."""

    type: ParamType = Field(description="int | float | bool | string | enum | string_list.")
    description: str = Field(default="", description="What the parameter does.")
    default: Any = Field(default=None, description="Value the service uses when the field is omitted.")
    min: int | float | None = Field(default=None, description="Smallest number allowed.")
    max: int | float | None = Field(default=None, description="Largest number allowed.")
    allowed: list[str] | None = Field(default=None, description="Enum values.")
    required: bool = Field(default=False, description="The task is invalid without it.")
    format: Literal["uuid", "uri"] | None = Field(default=None, description="String format.")
    min_length: int | None = Field(default=None, ge=0, description="Shortest string (or list item).")
    max_length: int | None = Field(default=None, ge=1, description="Longest string (or list item).")
    max_items: int | None = Field(default=None, ge=1, description="Longest list.")
    unverified: bool = Field(
        default=False, description="Not confirmed by public material; check the model page."
    )
    wire_name: str | None = Field(
        default=None, description="Name on the wire when it differs (OpenAI-style APIs)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ParameterSpec:
        if self.type == "enum" and not self.allowed:
            raise ValueError("an enum needs `allowed` values")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) > max ({self.max})")
        if self.default is not None and (reason := check_value(self, self.default)):
            raise ValueError(f"default {self.default!r} is itself invalid: {reason}")
        return self


class MessagesSpec(_Card):
    roles: list[str] = Field(min_length=1, description="Allowed message roles.")
    last_role: str | None = Field(default=None, description="Role the last message must have.")
    description: str = Field(default="", description="Notes.")


class MediaSpec(_Card):
    """inputs.images / inputs.videos: accepted forms and the prompt-token rule."""

    max_items: int = Field(ge=1, description="Most items per task.")
    tokens_per_item: int = Field(default=0, ge=0, description="Prompt tokens per item (images).")
    tokens_per_second: float = Field(default=0, ge=0, description="Prompt tokens per second of video.")
    assumed_duration_s: float = Field(
        default=0, ge=0, description="Duration assumed for each video (never fetched)."
    )
    media_prefix: str = Field(description="MIME prefix a data URI must have, e.g. image/.")
    description: str = Field(default="", description="Notes.")

    def tokens(self, count: int) -> int:
        per_video = round(self.tokens_per_second * self.assumed_duration_s) + (
            2 if self.tokens_per_second else 0
        )
        return count * (self.tokens_per_item + per_video)


class ModelCard(_Card):
    """What a model accepts: configs/models/NAME.yaml."""

    name: str = Field(description="Card name (the file name without .yaml).")
    description: str = Field(default="", description="Which model and service.")
    provider: Literal["runware", "openai"] = Field(description="API whose vocabulary the card uses.")
    task_type: str = Field(default="textInference", description="Task type the card describes.")
    models: list[str] = Field(min_length=1, description="Model ids this card describes.")
    task: dict[str, ParameterSpec] = Field(default_factory=dict, description="Top-level task fields.")
    messages: MessagesSpec = Field(description="Message rules.")
    inputs: dict[str, MediaSpec] = Field(default_factory=dict, description="Media inputs (images, videos).")
    settings: dict[str, ParameterSpec] = Field(description="The `settings` object.")

    def defaults(self) -> dict[str, Any]:
        """Settings that have a default, with it."""
        return {k: s.default for k, s in self.settings.items() if s.default is not None}


@dataclass(slots=True, frozen=True)
class Violation:
    """One validation failure, convertible to a §5 error envelope entry."""

    code: str
    message: str
    parameter: str | None = None
    type: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    allowed_values: tuple[Any, ...] | None = None
    task_type: str = field(default="textInference")

    def to_error_dict(self, task_uuid: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter is not None:
            out["parameter"] = self.parameter
        if self.type is not None:
            out["type"] = self.type
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.allowed_values is not None:
            out["allowedValues"] = list(self.allowed_values)
        out["taskType"] = self.task_type
        if task_uuid is not None:
            out["taskUUID"] = task_uuid
        return out


def check_value(spec: ParameterSpec, value: Any) -> str | None:
    """Why `value` does not fit `spec`, or None when it does."""
    t = spec.type
    if t == "bool":
        return None if isinstance(value, bool) else f"expected a boolean, got {type(value).__name__}"
    if t in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected {'an integer' if t == 'int' else 'a number'}, got {type(value).__name__}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"expected a finite number, got {value!r}"  # NaN would pass the range check below
        if t == "int" and isinstance(value, float) and not value.is_integer():
            return f"expected an integer, got {value!r}"
        if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            return f"must be between {spec.min} and {spec.max}"
        return None
    if t == "enum":
        return (
            None
            if isinstance(value, str) and value in (spec.allowed or ())
            else f"must be one of {spec.allowed}"
        )
    if t == "string":
        if not isinstance(value, str):
            return f"expected a string, got {type(value).__name__}"
        return _check_string(spec, value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "expected an array of strings"
    if spec.max_items is not None and len(value) > spec.max_items:
        return f"at most {spec.max_items} items"
    for item in value:
        if reason := _check_string(spec, item):
            return f"item {item!r}: {reason}"
    return None


def _check_string(spec: ParameterSpec, value: str) -> str | None:
    if spec.min_length is not None and len(value) < spec.min_length:
        return (
            "must not be empty"
            if spec.min_length == 1
            else f"must have at least {spec.min_length} characters"
        )
    if spec.max_length is not None and len(value) > spec.max_length:
        return f"must have at most {spec.max_length} characters"
    if spec.format == "uuid" and not _UUID_RE.match(value):
        return "must be a UUID"
    if spec.format == "uri" and not _URI_RE.match(value):
        return "must be an http(s) URL"
    return None


def _violation(name: str, spec: ParameterSpec, reason: str, parameter: str) -> Violation:
    return Violation(
        code=f"invalid{name[:1].upper()}{name[1:]}",
        message=f"Invalid value for {name}: {reason}.",
        parameter=parameter,
        type=_WIRE_TYPE[spec.type],
        min=spec.min,
        max=spec.max,
        allowed_values=tuple(spec.allowed) if spec.allowed else None,
    )


def _unknown(parameter: str, known: list[str]) -> Violation:
    return Violation(
        code="unknownParameter",
        message=f"Unknown parameter {parameter!r}.",
        parameter=parameter,
        allowed_values=tuple(sorted(known)),
    )


def validate_settings(card: ModelCard, settings: Mapping[str, Any]) -> list[Violation]:
    """Check API-named settings (plus `seed`, `numberResults`) against the card; parameter = the name."""
    out: list[Violation] = []
    for name, value in settings.items():
        spec = card.settings.get(name)
        if spec is None and name in ("seed", "numberResults"):
            spec = card.task.get(name)
        if spec is None:
            out.append(
                _unknown(name, [*card.settings, *(k for k in ("seed", "numberResults") if k in card.task)])
            )
        elif reason := check_value(spec, value):
            out.append(_violation(name, spec, reason, name))
    return out


def validate_task(card: ModelCard, task: Mapping[str, Any]) -> list[Violation]:
    """Check one raw wire task (a dict from the request array) against the card (§5, §10 codes)."""
    if not isinstance(task, Mapping):
        return [
            Violation("invalidParameter", "Each task must be a JSON object.", parameter="task", type="object")
        ]
    out: list[Violation] = []
    for name, value in task.items():
        spec = card.task.get(name)
        if spec is None:
            if name not in _STRUCTURAL:
                out.append(_unknown(name, [*card.task, *_STRUCTURAL]))
        elif reason := check_value(spec, value):
            out.append(_violation(name, spec, reason, name))
    for name, spec in card.task.items():
        if spec.required and name not in task:
            out.append(
                Violation(
                    f"missing{name[:1].upper()}{name[1:]}",
                    f"Missing required parameter {name}.",
                    parameter=name,
                    type=_WIRE_TYPE[spec.type],
                )
            )
    model = task.get("model")
    if isinstance(model, str) and model not in card.models:
        out.append(
            Violation(
                "invalidModel",
                f"Model {model!r} is not described by card {card.name!r}.",
                parameter="model",
                type="string",
                allowed_values=tuple(card.models),
            )
        )
    out.extend(_validate_messages(card, task.get("messages")))
    if "inputs" in task:
        out.extend(_validate_inputs(card, task["inputs"]))
    settings = task.get("settings", {})
    if not isinstance(settings, Mapping):
        out.append(
            Violation(
                "invalidSettings", "settings must be a JSON object.", parameter="settings", type="object"
            )
        )
    else:
        for name, value in settings.items():
            spec = card.settings.get(name)
            if spec is None:
                out.append(_unknown(f"settings.{name}", list(card.settings)))
            elif reason := check_value(spec, value):
                out.append(_violation(name, spec, reason, f"settings.{name}"))
    if (
        task.get("deliveryMethod") == "stream"
        and isinstance(task.get("numberResults"), int)
        and task["numberResults"] > 1
    ):
        out.append(
            Violation(
                "unsupportedParameter",
                "numberResults > 1 is not supported with deliveryMethod stream.",
                parameter="numberResults",
                type="integer",
                max=1,
            )
        )
    return out


def _validate_messages(card: ModelCard, messages: Any) -> list[Violation]:
    def bad(message: str) -> list[Violation]:
        return [
            Violation(
                "invalidMessages",
                message,
                parameter="messages",
                type="array",
                allowed_values=tuple(card.messages.roles),
            )
        ]

    if messages is None:
        return [
            Violation(
                "missingMessages", "Missing required parameter messages.", parameter="messages", type="array"
            )
        ]
    if not isinstance(messages, list) or not messages:
        return bad("messages must be a non-empty array of {role, content} objects.")
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or set(m) != {"role", "content"}:
            return bad(f"messages[{i}] must be an object with exactly `role` and `content`.")
        if m["role"] not in card.messages.roles:
            return bad(f"messages[{i}].role {m['role']!r} is not allowed; use one of {card.messages.roles}.")
        if not isinstance(m["content"], str) or not m["content"].strip():
            return bad(f"messages[{i}].content must be a non-empty string.")
    last = card.messages.last_role
    if last is not None and messages[-1]["role"] != last:
        return bad(f"The last message must have role {last!r}.")
    return []


def media_form_ok(value: str, prefix: str) -> bool:
    """URL, UUID, data URI of the right media type, or bare base64."""
    if _URI_RE.match(value) or _UUID_RE.match(value):
        return True
    if m := _DATA_URI_RE.match(value):
        return m.group(1).startswith(prefix)
    return bool(_BASE64_RE.match(value)) and len(value) % 4 == 0


def _validate_inputs(card: ModelCard, inputs: Any) -> list[Violation]:
    if not isinstance(inputs, Mapping):
        return [
            Violation("invalidInputs", "inputs must be a JSON object.", parameter="inputs", type="object")
        ]
    out: list[Violation] = []
    for name, items in inputs.items():
        spec = card.inputs.get(name)
        code = f"invalid{name[:1].upper()}{name[1:]}"
        if spec is None:
            out.append(_unknown(f"inputs.{name}", list(card.inputs)))
        elif not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            out.append(
                Violation(code, f"inputs.{name} must be an array of strings.", f"inputs.{name}", "array")
            )
        elif len(items) > spec.max_items:
            out.append(
                Violation(
                    code,
                    f"inputs.{name} has more than {spec.max_items} items.",
                    f"inputs.{name}",
                    "array",
                    max=spec.max_items,
                )
            )
        else:
            for i, v in enumerate(items):
                if not media_form_ok(v, spec.media_prefix):
                    out.append(
                        Violation(
                            code,
                            f"inputs.{name}[{i}] must be a URL, UUID, {spec.media_prefix}* data URI or base64.",
                            f"inputs.{name}",
                            "string",
                        )
                    )
                    break
    return out


def load_card(name_or_path: str | Path) -> ModelCard:
    """A card by name (configs/models/NAME.yaml) or by path; ConfigError names the file and field."""
    from pydantic import ValidationError

    path = Path(name_or_path)
    if not path.is_file():
        candidate = configs_dir() / "models" / f"{name_or_path}.yaml"
        if not candidate.is_file():
            available = sorted(p.stem for p in (configs_dir() / "models").glob("*.yaml"))
            raise ConfigError(
                f"no capability card {str(name_or_path)!r}", field="capability", allowed=available
            )
        path = candidate
    from harness.yamldoc import YamlDocument, read_yaml, validation_errors

    doc = read_yaml(path)  # the one guarded reader: encoding, alias bombs, NaN, line numbers
    try:
        return ModelCard.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_errors(exc, ModelCard, YamlDocument(doc.data, doc.file, doc.lines)) from None


_scan_cache: dict[tuple[str, tuple[tuple[str, int], ...]], dict[str, ModelCard]] = {}


def find_card(model_id: str) -> ModelCard | None:
    """The card under configs/models/ whose `models` lists `model_id`, or None (rescanned on file changes)."""
    folder = configs_dir() / "models"
    files = (
        tuple(sorted((str(p), p.stat().st_mtime_ns) for p in folder.glob("*.yaml")))
        if folder.is_dir()
        else ()
    )
    key = (str(folder), files)
    index = _scan_cache.get(key)
    if index is None:
        index = {}
        for path, _ in files:
            card = load_card(path)
            for mid in card.models:
                index.setdefault(mid, card)
        _scan_cache.clear()
        _scan_cache[key] = index
    return index.get(model_id)
