"""The grid as the summary sees it: which axes were swept, the order of cells and axis values, and
which cells pool together for multi-sample metrics (cells that differ only in `seed`). Derived from
the records' cells and, when present, the manifest's suite grid; never from the order records were
written, so the summary does not depend on completion order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

SEED_AXIS = "seed"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _natural_key(value: Any) -> tuple[int, float, str]:
    """Numbers (numerically), then strings, then anything else (by canonical JSON); None first."""
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, bool):
        return (1, float(value), "")
    if isinstance(value, int | float):
        return (2, float(value), "")
    if isinstance(value, str):
        return (3, 0.0, value)
    return (4, 0.0, _canonical(value))


def grid_axes(manifest: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Axis -> declared values from the manifest's resolved suite (`suite.grid.axes`), or {}."""
    suite = (manifest or {}).get("suite")
    grid = suite.get("grid") if isinstance(suite, Mapping) else None
    if not isinstance(grid, Mapping):
        return {}
    axes = grid.get("axes", grid)
    if not isinstance(axes, Mapping):
        return {}
    return {str(k): list(v) for k, v in axes.items() if isinstance(v, list)}


class CellOrder:
    """Sort keys for axes, axis values and cells: the suite's declared order first, else natural order."""

    def __init__(self, cells: Mapping[str, Mapping[str, Any]], manifest: Mapping[str, Any] | None) -> None:
        declared = grid_axes(manifest)
        axes: list[str] = [a for a in declared if any(a in c for c in cells.values())]
        for cell_id in sorted(cells):
            axes.extend(a for a in cells[cell_id] if a not in axes)
        self.axes = axes
        self._rank = {
            axis: {_canonical(v): i for i, v in enumerate(values)} for axis, values in declared.items()
        }

    def value_key(self, axis: str, value: Any) -> tuple[int, tuple[int, float, str]]:
        rank = self._rank.get(axis, {}).get(_canonical(value))
        return (rank if rank is not None else 1 << 30, _natural_key(value))

    def cell_key(self, cell_id: str, cell: Mapping[str, Any]) -> tuple[Any, ...]:
        parts = tuple(
            (0, self.value_key(a, cell[a])) if a in cell else (1, (0, (0, 0.0, ""))) for a in self.axes
        )
        return (*parts, cell_id)

    def sort(self, cells: Mapping[str, Mapping[str, Any]]) -> list[str]:
        return sorted(cells, key=lambda cid: self.cell_key(cid, cells[cid]))


def pool_id(cell: Mapping[str, Any]) -> str:
    """Identity of a cell with its seed axis removed: cells sharing it are repeated draws of one setting."""
    return _canonical({k: v for k, v in cell.items() if k != SEED_AXIS})


def swept_axes(cells: Iterable[Mapping[str, Any]], order: CellOrder) -> list[str]:
    """Axes present in any cell, in the suite's order (an axis with one value still counts: it was set)."""
    present = {a for c in cells for a in c}
    return [a for a in order.axes if a in present]
