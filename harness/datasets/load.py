"""Selecting items from a data set: read, filter, map, sample, limit; and the few-shot pool. The public
entry points `load_items` and `load_few_shot` live here; row mapping is `items.py`, file reading `readers.py`.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from harness.datasets.config import DatasetConfig, FieldMap, FilterConfig, HubSpec, LocalFormat
from harness.datasets.items import MISSING, Item, columns, did_you_mean, lookup, map_rows, with_media
from harness.datasets.readers import RawRows, read_local
from harness.errors import ConfigError


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
    if path is None and hf is None:  # the main data set, or another split of it
        path, hf = config.path, config.hf
        if hf is not None and shot.split is not None:
            hf = hf.model_copy(update={"split": shot.split})
    split = shot.split or (None if shot.path or shot.hf else config.split)
    mapping = shot.fields or config.fields
    fmt = shot.format or (None if shot.path else config.format)
    raw = _read(path, hf, split, fmt, base_dir=base_dir, where=where)
    pool = map_rows(raw, _apply_filters(raw, shot.filters, where=where), mapping, config, where=where)
    if exclude_ids is None and shot.path is None and shot.hf is None:
        evaluated = load_items(config, base_dir=base_dir)
        if evaluated[0].source == raw.source:  # the same file, or the same split of a hub/Arrow data set
            exclude_ids = {item.id for item in evaluated}
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
    return [with_media(item, raw, mapping, config.max_media_bytes, where=where) for item in chosen]


def seeded_indices(population: int, n: int, seed: int) -> list[int]:
    """n distinct indices of range(population), sorted; a larger n keeps every index of a smaller one."""
    order = list(range(population))
    random.Random(seed).shuffle(order)
    return sorted(order[:n])


def _read(
    path: str | None,
    hf: HubSpec | None,
    split: str | None,
    fmt: LocalFormat | None,
    *,
    base_dir: Path,
    where: str,
) -> RawRows:
    if hf is not None:
        from harness.datasets.hf import read_hub

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
    items = map_rows(raw, kept, mapping, config, where=where)
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
    return [with_media(item, raw, mapping, config.max_media_bytes, where=where) for item in items]


def _apply_filters(raw: RawRows, filters: Sequence[FilterConfig], *, where: str) -> list[int]:
    """Indices into raw.rows of the rows every filter keeps."""
    kept = list(range(len(raw.rows)))
    for number, rule in enumerate(filters):
        values = [lookup(raw.rows[i][1], rule.field) for i in kept]
        if kept and all(v is MISSING for v in values):
            raise ConfigError(
                f"no row has the column {rule.field!r}{did_you_mean(rule.field, raw)}",
                file=raw.source,
                field=f"{where}.filters[{number}].field",
                allowed=columns(raw),
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
