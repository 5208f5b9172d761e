"""Raw rows -> `Item`s: field mapping (dotted paths), filters, stable ids, seeded sampling, limit and
few-shot pools. Every error names the data file, the row and the mapped field; it never sends anything.
"""

from __future__ import annotations

import difflib
import hashlib
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from harness.datasets.config import DatasetConfig, FieldMap, FilterConfig, TargetFormat
from harness.datasets.media import MediaError, resolve_media
from harness.datasets.readers import RawRows, read_hub, read_local
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


def load_items(config: DatasetConfig, *, base_dir: Path, where: str = "dataset") -> list[Item]:
    """The items a suite evaluates: rows read, filtered, sampled and limited, in file order.

    Args:
        base_dir: the suite file's directory; relative paths are resolved from it.
        where: the config path of this section, used in error messages.
    """
    raw = _read(config.path, config.hf, config.split, config.format, base_dir=base_dir, where=where)
    return _select(raw, config, config.fields, config.filters, where=where)


def load_few_shot(
    config: DatasetConfig, *, base_dir: Path, exclude_ids: Collection[str] | None = None
) -> list[Item]:
    """The few-shot examples of `config.few_shot` (none when it is unset): n rows drawn with its seed.

    When the few-shot source is the main data set itself, the evaluated items are excluded (computed
    here unless `exclude_ids` is given).
    """
    shot = config.few_shot
    if shot is None:
        return []
    where = "dataset.few_shot"
    path, hf = shot.path, shot.hf
    if path is None and hf is None:  # another split of the main data set
        path, hf = config.path, config.hf
        if hf is not None:
            hf = hf.model_copy(update={"split": shot.split})
    split = shot.split or (None if shot.path or shot.hf else config.split)
    mapping = shot.fields or config.fields
    raw = _read(
        path, hf, split, shot.format or (None if shot.path else config.format), base_dir=base_dir, where=where
    )
    pool = _map_rows(raw, _apply_filters(raw, shot.filters, where=where), mapping, config, where=where)
    same_source = (
        shot.path is None and shot.hf is None and (shot.split is None or shot.split == _main_split(config))
    )
    if exclude_ids is None and same_source:
        exclude_ids = {item.id for item in load_items(config, base_dir=base_dir)}
    excluded = set(exclude_ids or ())
    pool = [item for item in pool if item.id not in excluded]
    if len(pool) < shot.n:
        raise ConfigError(
            f"{shot.n} few-shot examples asked for, but the source has only {len(pool)} usable rows"
            + (" once the evaluated rows are excluded" if excluded else ""),
            file=raw.source,
            field=f"{where}.n",
        )
    chosen = [pool[i] for i in seeded_indices(len(pool), shot.n, shot.seed)]
    return [_with_media(item, raw, mapping, config.max_media_bytes, where=where) for item in chosen]


def seeded_indices(population: int, n: int, seed: int) -> list[int]:
    """n distinct indices of range(population), sorted; a larger n keeps every index of a smaller one."""
    order = list(range(population))
    random.Random(seed).shuffle(order)
    return sorted(order[:n])


def content_id(row: dict[str, Any]) -> str:
    """A short, stable hash of a whole row (key order does not matter)."""
    blob = orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=_hashable)
    return hashlib.sha256(blob).hexdigest()[:ID_HASH_CHARS]


def _hashable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return hashlib.sha256(value).hexdigest()
    return repr(value)


def _main_split(config: DatasetConfig) -> str | None:
    return (config.hf.split if config.hf else None) or config.split


def _read(
    path: str | None,
    hf: Any,
    split: str | None,
    fmt: Any,
    *,
    base_dir: Path,
    where: str,
) -> RawRows:
    if hf is not None:
        raw = read_hub(hf, split=split, where=where, base_dir=base_dir)
    else:
        assert path is not None  # DatasetConfig guarantees one source
        raw = read_local((base_dir / Path(path).expanduser()).resolve(), fmt=fmt, split=split, where=where)
    if not raw.rows:
        raise ConfigError("the data set has no rows", file=raw.source, field=f"{where}.path")
    return raw


def _select(
    raw: RawRows, config: DatasetConfig, mapping: FieldMap, filters: Sequence[FilterConfig], *, where: str
) -> list[Item]:
    kept = _apply_filters(raw, filters, where=where)
    items = _map_rows(raw, kept, mapping, config, where=where)
    if config.sample is not None:
        if config.sample.n > len(items):
            raise ConfigError(
                f"sample.n is {config.sample.n} but only {len(items)} rows are left"
                + (" after filters" if filters else ""),
                file=raw.source,
                field=f"{where}.sample.n",
            )
        items = [items[i] for i in seeded_indices(len(items), config.sample.n, config.sample.seed)]
    if config.limit is not None:
        items = items[: config.limit]
    return [_with_media(item, raw, mapping, config.max_media_bytes, where=where) for item in items]


def _apply_filters(raw: RawRows, filters: Sequence[FilterConfig], *, where: str) -> list[int]:
    """Indices into raw.rows of the rows every filter keeps."""
    kept = list(range(len(raw.rows)))
    for number, rule in enumerate(filters):
        values = [lookup(raw.rows[i][1], rule.field) for i in kept]
        if kept and all(v is MISSING for v in values):
            raise ConfigError(
                f"no row has the column {rule.field!r}{_did_you_mean(rule.field, raw)}",
                file=raw.source,
                field=f"{where}.filters[{number}].field",
                allowed=_columns(raw),
            )
        kept = [i for i, value in zip(kept, values, strict=True) if _keeps(rule, value)]
    if not kept:
        raise ConfigError(
            f"no rows are left after the filters ({len(raw.rows)} rows read)",
            file=raw.source,
            field=f"{where}.filters",
        )
    return kept


def _keeps(rule: FilterConfig, value: Any) -> bool:
    (operator,) = rule.operators()
    if operator == "equals":
        return value is not MISSING and _same(value, rule.equals)
    if operator == "not_equals":
        return value is MISSING or not _same(value, rule.not_equals)
    options = rule.in_ if operator == "in" else rule.not_in
    found = value is not MISSING and any(_same(value, option) for option in options or [])
    return found if operator == "in" else not found


def _same(value: Any, wanted: Any) -> bool:
    if value == wanted and type(value) is not bool and type(wanted) is not bool:
        return True
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    # CSV cells are text: "3" matches 3 and "0.5" matches 0.5.
    if isinstance(value, str) != isinstance(wanted, str):
        return str(value).strip() == str(wanted)
    return False


def _map_rows(
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
                    **_at(raw, number, f"{where}.fields.id"),
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
                f"{raw.unit} {number} has no column {path!r} (mapped by fields.{name}){_did_you_mean(path, raw)}",
                **_at(raw, number, f"{where}.fields.{name}"),
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
                **_at(raw, number, f"{where}.fields.choices"),
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
                f"{raw.unit} {number}: the id is empty", **_at(raw, number, f"{where}.fields.id")
            )
        item_id = str(raw_id)
    else:
        item_id = content_id(row)
    for name in ("images", "videos"):
        path = getattr(mapping, name)
        if path is not None:
            get(name, path)  # presence is checked for every row; files are read only for chosen ones
    return Item(item_id, text, target, choices, row, [], [], raw.source, number)


def _with_media(item: Item, raw: RawRows, mapping: FieldMap, max_bytes: int, *, where: str) -> Item:
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
                f"{raw.unit} {item.row}: {exc}", **_at(raw, item.row, f"{where}.fields.{kind}")
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
    at = _at(raw, number, f"{where}.fields.target")
    if labels is not None and not isinstance(labels, list):
        raise ConfigError(
            f"{raw.unit} {number}: labels must be a list, got {labels!r:.80}",
            **_at(raw, number, f"{where}.fields.labels"),
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
        **_at(raw, number, field_path),
    )


def _at(raw: RawRows, number: int, field_path: str) -> dict[str, Any]:
    return {"file": raw.source, "line": number if raw.unit == "line" else None, "field": field_path}


def _columns(raw: RawRows) -> list[str]:
    return sorted({key for _, row in raw.rows[:100] for key in row})


def _did_you_mean(path: str, raw: RawRows) -> str:
    hint = difflib.get_close_matches(path, _columns(raw), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else f"; columns: {', '.join(_columns(raw))}"
