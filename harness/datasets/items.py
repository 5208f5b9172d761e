"""`Item` and the mapping of one raw row onto it: dotted column paths, choices, multiple-choice targets,
stable ids and media. Every error names the data file, the row and the mapped field; no file reading here.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from harness.datasets.config import DatasetConfig, FieldMap, TargetFormat
from harness.datasets.media import MediaError, resolve_media
from harness.datasets.readers import RawRows
from harness.errors import ConfigError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ID_HASH_CHARS = 16


@dataclass(frozen=True, slots=True)
class Item:
    """One evaluation example: what the prompt template and the scorers see."""

    id: str
    input: str
    target: Any
    choices: list[str] | None
    fields: dict[str, Any]
    images: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    source: str = ""
    row: int = 0

    def __hash__(self) -> int:
        return hash(self.id)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def lookup(row: dict[str, Any], path: str) -> Any:
    """A column, or a dotted path into nested values; MISSING when absent. A list of objects yields the key
    from each (`choices.text` over [{"text": ...}, ...]); a number indexes a list (`choices.0`)."""
    if path in row:
        return row[path]
    value: Any = row
    for part in path.split("."):
        if isinstance(value, dict):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list):
            if part.lstrip("-").isdigit():
                index = int(part)
                if not -len(value) <= index < len(value):
                    return MISSING
                value = value[index]
            elif value and all(isinstance(v, dict) and part in v for v in value):
                value = [v[part] for v in value]
            else:
                return MISSING
        else:
            return MISSING
    return value


def content_id(row: dict[str, Any]) -> str:
    """A short, stable hash of a whole row (key order does not matter)."""
    blob = orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=_hashable)
    return hashlib.sha256(blob).hexdigest()[:ID_HASH_CHARS]


def _hashable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return hashlib.sha256(value).hexdigest()
    return repr(value)


def map_rows(
    raw: RawRows, kept: list[int], mapping: FieldMap, config: DatasetConfig, *, where: str
) -> list[Item]:
    items: list[Item] = []
    seen: dict[str, int] = {}
    for index in kept:
        number, row = raw.rows[index]
        item = _map_row(raw, number, row, mapping, config.target_format, where=where)
        if item.id in seen:
            if mapping.id is not None:
                raise ConfigError(
                    f"duplicate id {item.id!r} (also at {raw.unit} {seen[item.id]})",
                    **location(raw, number, f"{where}.fields.id"),
                )
            # Identical rows hash alike: number the repeats in file order so ids stay stable.
            repeat = 2
            while f"{item.id}-{repeat}" in seen:
                repeat += 1
            item = _replace_id(item, f"{item.id}-{repeat}")
        seen[item.id] = number
        items.append(item)
    return items


def _replace_id(item: Item, new_id: str) -> Item:
    return Item(
        new_id,
        item.input,
        item.target,
        item.choices,
        item.fields,
        item.images,
        item.videos,
        item.source,
        item.row,
    )


def _map_row(
    raw: RawRows,
    number: int,
    row: dict[str, Any],
    mapping: FieldMap,
    target_format: TargetFormat,
    *,
    where: str,
) -> Item:
    def get(name: str, path: str) -> Any:
        value = lookup(row, path)
        if value is MISSING:
            raise ConfigError(
                f"{raw.unit} {number} has no column {path!r} (mapped by fields.{name}){did_you_mean(path, raw)}",
                **location(raw, number, f"{where}.fields.{name}"),
            )
        return value

    text = ""
    if mapping.input is not None:
        text = _as_text(get("input", mapping.input), raw, number, f"{where}.fields.input")
    choices: list[str] | None = None
    if isinstance(mapping.choices, list):
        choices = [
            _as_text(get("choices", c), raw, number, f"{where}.fields.choices") for c in mapping.choices
        ]
    elif mapping.choices is not None:
        value = get("choices", mapping.choices)
        if not isinstance(value, list) or not value:
            raise ConfigError(
                f"{raw.unit} {number}: choices column {mapping.choices!r} must be a non-empty list, got {value!r:.80}",
                **location(raw, number, f"{where}.fields.choices"),
            )
        choices = [_as_text(v, raw, number, f"{where}.fields.choices") for v in value]
    target = get("target", mapping.target) if mapping.target is not None else None
    if target_format != "raw" and mapping.target is not None:
        labels = get("labels", mapping.labels) if mapping.labels is not None else None
        position = _choice_position(target, choices or [], labels, raw, number, where)
        target = LETTERS[position] if target_format == "letter" else position
    if mapping.id is not None:
        raw_id = get("id", mapping.id)
        if raw_id is None or str(raw_id).strip() == "":
            raise ConfigError(
                f"{raw.unit} {number}: the id is empty", **location(raw, number, f"{where}.fields.id")
            )
        item_id = str(raw_id)
    else:
        item_id = content_id(row)
    for name in ("images", "videos"):
        path = getattr(mapping, name)
        if path is not None:
            get(name, path)  # presence is checked for every row; files are read only for chosen ones
    return Item(item_id, text, target, choices, row, [], [], raw.source, number)


def with_media(item: Item, raw: RawRows, mapping: FieldMap, max_bytes: int, *, where: str) -> Item:
    if mapping.images is None and mapping.videos is None:
        return item
    media: dict[str, list[str]] = {"images": [], "videos": []}
    for kind in ("images", "videos"):
        path = getattr(mapping, kind)
        if path is None:
            continue
        try:
            media[kind] = resolve_media(
                lookup(item.fields, path), kind=kind, base_dir=raw.base_dir, max_bytes=max_bytes
            )
        except MediaError as exc:
            raise ConfigError(
                f"{raw.unit} {item.row}: {exc}", **location(raw, item.row, f"{where}.fields.{kind}")
            ) from exc
    return Item(
        item.id,
        item.input,
        item.target,
        item.choices,
        item.fields,
        media["images"],
        media["videos"],
        item.source,
        item.row,
    )


def _choice_position(
    target: Any, choices: list[str], labels: Any, raw: RawRows, number: int, where: str
) -> int:
    at = location(raw, number, f"{where}.fields.target")
    if labels is not None and not isinstance(labels, list):
        raise ConfigError(
            f"{raw.unit} {number}: labels must be a list, got {labels!r:.80}",
            **location(raw, number, f"{where}.fields.labels"),
        )
    position: int | None = None
    if labels is not None and str(target) in [str(label) for label in labels]:
        position = [str(label) for label in labels].index(str(target))
    elif isinstance(target, int) and not isinstance(target, bool):
        position = target
    elif isinstance(target, str):
        letter = target.strip()
        if len(letter) == 1 and letter.upper() in LETTERS:
            position = LETTERS.index(letter.upper())
        elif letter in choices:
            position = choices.index(letter)
        elif letter.isdigit():
            raise ConfigError(
                f"{raw.unit} {number}: target {target!r} is a number in text, which could be a 0-based index "
                "or a 1-based label; map fields.labels to the options' labels",
                **at,
            )
    if position is None or not 0 <= position < len(choices):
        allowed = list(LETTERS[: len(choices)]) + (labels or [])
        raise ConfigError(
            f"{raw.unit} {number}: target {target!r} is not one of the {len(choices)} choices",
            allowed=allowed,
            **at,
        )
    return position


def _as_text(value: Any, raw: RawRows, number: int, field_path: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(
        f"{raw.unit} {number}: expected text, got {type(value).__name__} {value!r:.80}",
        **location(raw, number, field_path),
    )


def location(raw: RawRows, number: int, field_path: str) -> dict[str, Any]:
    return {"file": raw.source, "line": number if raw.unit == "line" else None, "field": field_path}


def columns(raw: RawRows) -> list[str]:
    return sorted({key for _, row in raw.rows[:100] for key in row})


def did_you_mean(path: str, raw: RawRows) -> str:
    hint = difflib.get_close_matches(path, columns(raw), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else f"; columns: {', '.join(columns(raw))}"
