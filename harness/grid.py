"""The `grid:` section of a suite and its expansion into cells: axes (cartesian product), zip groups,
explicit cells, exclude rules, and stable readable cell ids such as `temperature=0.6,topK=20`. Pure: it
checks the grid's shape, while the values are checked against the model's capability card elsewhere.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator
from pydantic_core import PydanticCustomError

from harness.errors import PlanError

DEFAULT_CELL_ID = "default"
FIELD_ERROR = "harness_field"


def field_error(path: tuple[str | int, ...], message: str, allowed: str | None = None) -> PydanticCustomError:
    """A model-level validation error about one field, at `path` below the model that raises it, so the
    loader can name that field and its line (pydantic would point at the whole model)."""
    context: dict[str, Any] = {"field_path": path}
    if allowed is not None:
        context["allowed"] = allowed
    return PydanticCustomError(FIELD_ERROR, message, context)


def did_you_mean(word: str, choices: list[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or ''."""
    import difflib

    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


# Grid axes that are not model settings; every other axis must be a setting of the capability card.
SPECIAL_AXES = ("seed", "numberResults", "repeats", "target")

AxisValues = list[JsonValue]


class GridConfig(BaseModel):
    """The `grid:` section: axes to sweep. Write axes directly (`temperature: [0, 0.6]`); they are
    collected under `axes`. Cartesian product by default, `zip` groups move together, `cells` adds
    explicit cells, `exclude` removes cells matching a rule."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    axes: dict[str, AxisValues] = Field(
        default_factory=dict,
        description="Axis name -> values. Any capability-card setting (temperature, topK, thinkingLevel, ...) "
        "or seed, numberResults, repeats, target. Usually written directly under grid:.",
    )
    zip: list[dict[str, AxisValues]] = Field(
        default_factory=list,
        description="Groups of axes that move together: each group is {axis: values} with equal-length lists; "
        "the i-th values of a group form one point, crossed with the other axes.",
    )
    cells: list[dict[str, JsonValue]] = Field(
        default_factory=list,
        description="Explicit cells ({axis: value}) added after the product of the axes.",
    )
    exclude: list[dict[str, JsonValue]] = Field(
        default_factory=list,
        description="Rules {axis: value}; a cell matching every key of a rule is dropped. "
        "A list value matches any of its elements.",
    )

    @model_validator(mode="before")
    @classmethod
    def _collect_axes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = set(cls.model_fields)
        extra = {k: v for k, v in data.items() if k not in known}
        if not extra:
            return data
        out = {k: v for k, v in data.items() if k in known}
        axes = dict(out.get("axes") or {})
        for key, values in extra.items():
            if key in axes:
                raise ValueError(f"axis {key!r} is given both directly and under axes:")
            axes[key] = values
        out["axes"] = axes
        return out

    @model_validator(mode="after")
    def _check(self) -> GridConfig:
        seen: dict[str, str] = {}
        for name, values in self.axes.items():
            _check_axis(name, values, "grid")
            if (pair := _repeated([[v] for v in values])) is not None:
                first, again = pair
                raise field_error(
                    ("axes", name, again),
                    f"{format_value(values[again])} is listed twice (also grid.{name}.{first}): "
                    "each value of an axis makes one cell, so a repeat would run the same cell twice",
                    allowed="distinct values",
                )
            seen[name] = "grid"
        for index, group in enumerate(self.zip):
            where = f"grid.zip[{index}]"
            if not group:
                raise ValueError(f"{where} is empty: give at least one axis")
            lengths = {name: len(values) for name, values in group.items()}
            if len(set(lengths.values())) > 1:
                raise ValueError(f"{where}: zipped axes need lists of equal length, got {lengths}")
            for name, values in group.items():
                if name in seen:
                    raise ValueError(f"axis {name!r} appears in both {seen[name]} and {where}")
                _check_axis(name, values, where)
                seen[name] = where
            points = [[group[name][i] for name in group] for i in range(len(next(iter(group.values()))))]
            if (pair := _repeated(points)) is not None:
                first, again = pair
                shown = ", ".join(f"{n}={format_value(v)}" for n, v in zip(group, points[again], strict=True))
                raise field_error(
                    ("zip", index),
                    f"point {again} ({shown}) repeats point {first}: it would run the same cell twice",
                    allowed="distinct points",
                )
        for index, cell in enumerate(self.cells):
            if not cell:
                raise ValueError(f"grid.cells[{index}] is empty")
            for name, value in cell.items():
                _check_axis(name, [value], f"grid.cells[{index}]")
        # An explicit cell may repeat a cell of the product (it is kept once), not another explicit cell.
        if (pair := _repeated([[cell] for cell in self.cells])) is not None:
            first, again = pair
            raise field_error(
                ("cells", again),
                f"repeats grid.cells.{first} ({cell_id(self.cells[again])}): it would be the same cell",
                allowed="distinct cells",
            )
        known = set(seen) | {name for cell in self.cells for name in cell}
        for index, rule in enumerate(self.exclude):
            if not rule:
                raise ValueError(f"grid.exclude[{index}] is empty")
            for name in rule:
                if name not in known:
                    hint = did_you_mean(name, sorted(known))
                    raise ValueError(
                        f"grid.exclude[{index}] names {name!r}, which is not an axis of the grid{hint} "
                        f"(axes: {', '.join(sorted(known)) or 'none'})"
                    )
        return self


def _value_key(value: Any) -> str:
    """Equal for values that send the same request: 20 and 20.0 are one value, true and 1 are not."""
    if isinstance(value, bool):
        return f"b:{value}"
    if isinstance(value, int | float):
        return f"n:{float(value)!r}"
    if isinstance(value, list):
        return "l:[" + ",".join(_value_key(v) for v in value) + "]"
    if isinstance(value, dict):
        return "d:{" + ",".join(f"{json.dumps(str(k))}:{_value_key(value[k])}" for k in sorted(value)) + "}"
    return "j:" + json.dumps(value)


def _repeated(rows: list[list[Any]]) -> tuple[int, int] | None:
    """(first, again): the indices of the first row that repeats an earlier one, or None."""
    first: dict[tuple[str, ...], int] = {}
    for index, row in enumerate(rows):
        key = tuple(_value_key(v) for v in row)
        if key in first:
            return first[key], index
        first[key] = index
    return None


def shadowed_settings(settings: Mapping[str, Any], cells: list[Cell]) -> list[str]:
    """Fixed settings that no cell uses: every cell gives its own value (a grid axis, a zip group, or
    explicit cells that all set it), so the `settings:` value would silently never be sent."""
    if not cells:
        return []
    return [name for name in settings if all(name in cell.values for cell in cells)]


def _check_axis(name: str, values: list[JsonValue], where: str) -> None:
    if not values:
        raise ValueError(f"{where}.{name} is an empty list: give at least one value")
    if name in ("repeats", "numberResults"):
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{where}.{name}: {value!r} is not a positive integer")
    elif name == "seed":
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4294967295:
                raise ValueError(f"{where}.seed: {value!r} is not an integer in 0..4294967295")
    elif name == "target":
        for value in values:
            if not isinstance(value, str) or not value:
                raise ValueError(f"{where}.target: {value!r} is not a target name")


@dataclass(frozen=True, slots=True)
class Cell:
    """One point of the grid: its readable id and the axis values that define it."""

    id: str
    values: dict[str, Any]


def format_value(value: Any) -> str:
    """A grid value as it appears in a cell id: plain for numbers and simple strings, JSON otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str) and value and not any(c in value for c in ",=[]{}\"' \n"):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def cell_id(values: Mapping[str, Any]) -> str:
    """`temperature=0.6,topK=20`: axes sorted by name, so the id does not depend on YAML key order."""
    if not values:
        return DEFAULT_CELL_ID
    return ",".join(f"{name}={format_value(values[name])}" for name in sorted(values))


def _same(a: Any, b: Any) -> bool:
    # True is not 1 here: a rule {flag: true} must not match {flag: 1}.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _matches(rule: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    for name, wanted in rule.items():
        if name not in values:
            return False
        have = values[name]
        if _same(have, wanted):
            continue
        if isinstance(wanted, list) and not isinstance(have, list) and any(_same(have, w) for w in wanted):
            continue
        return False
    return True


def expand_grid(grid: GridConfig) -> list[Cell]:
    """Cartesian product of the axes and zip groups, then the explicit cells, minus excluded ones.

    Cells keep the order of the product (first axis slowest); a cell that appears twice is kept once.
    """
    factors: list[list[dict[str, Any]]] = [
        [{name: value} for value in values] for name, values in grid.axes.items()
    ]
    for group in grid.zip:
        names = list(group)
        length = len(group[names[0]])
        factors.append([{name: group[name][i] for name in names} for i in range(length)])
    points: list[dict[str, Any]] = []
    if factors:
        for combo in itertools.product(*factors):
            merged: dict[str, Any] = {}
            for part in combo:
                merged.update(part)
            points.append(merged)
    points.extend(dict(cell) for cell in grid.cells)
    if not points:
        points = [{}]
    cells: list[Cell] = []
    seen: set[str] = set()
    for values in points:
        if any(_matches(rule, values) for rule in grid.exclude):
            continue
        cid = cell_id(values)
        if cid in seen:
            continue
        seen.add(cid)
        cells.append(Cell(cid, values))
    if not cells:
        raise PlanError("grid.exclude removes every cell of the grid: nothing to run")
    return cells
