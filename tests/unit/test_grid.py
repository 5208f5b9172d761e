"""Grid checks against repeated values and settings the grid replaces (issue #10, item 3)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from harness.grid import FIELD_ERROR, GridConfig, expand_grid, shadowed_settings


def field_error(grid: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as info:
        GridConfig.model_validate(grid)
    (error,) = info.value.errors()
    assert error["type"] == FIELD_ERROR
    return dict(error)


def test_a_repeated_axis_value_names_its_index() -> None:
    error = field_error({"topK": [20, 40, 20]})
    assert error["ctx"]["field_path"] == ("axes", "topK", 2)
    assert "20 is listed twice (also grid.topK.0)" in error["msg"]


@pytest.mark.parametrize(
    ("values", "again"),
    [
        ([1, 0.5, 1.0], 2),
        (["low", "high", "low"], 2),
        ([[1, 2], [1, 2]], 1),
        ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], 1),
    ],
)
def test_values_that_send_the_same_request_are_repeats(values: list[Any], again: int) -> None:
    assert field_error({"x": values})["ctx"]["field_path"] == ("axes", "x", again)


def test_true_and_1_are_different_values() -> None:
    grid = GridConfig.model_validate({"flag": [True, 1, False, 0]})
    assert len(expand_grid(grid)) == 4


def test_a_repeated_zip_point_is_refused_but_a_repeated_value_inside_a_point_is_not() -> None:
    error = field_error({"zip": [{"temperature": [0.2, 0.7, 0.2], "topK": [20, 40, 20]}]})
    assert error["ctx"]["field_path"] == ("zip", 0)
    assert "point 2 (temperature=0.2, topK=20) repeats point 0" in error["msg"]
    grid = GridConfig.model_validate({"zip": [{"temperature": [0.2, 0.2], "topK": [20, 40]}]})
    assert [c.id for c in expand_grid(grid)] == ["temperature=0.2,topK=20", "temperature=0.2,topK=40"]


def test_a_setting_is_shadowed_when_every_cell_gives_it() -> None:
    settings = {"temperature": 0.6, "topK": 20, "maxTokens": 64}
    axis = expand_grid(GridConfig.model_validate({"temperature": [0.2, 0.7]}))
    assert shadowed_settings(settings, axis) == ["temperature"]
    zipped = expand_grid(GridConfig.model_validate({"zip": [{"topK": [5, 10], "minP": [0.1, 0.2]}]}))
    assert shadowed_settings(settings, zipped) == ["topK"]
    every_cell = expand_grid(GridConfig.model_validate({"cells": [{"topK": 5}, {"topK": 10, "minP": 0.1}]}))
    assert shadowed_settings(settings, every_cell) == ["topK"]


def test_an_explicit_cell_may_override_a_setting_the_other_cells_use() -> None:
    cells = expand_grid(GridConfig.model_validate({"topP": [0.8, 0.9], "cells": [{"temperature": 0}]}))
    assert shadowed_settings({"temperature": 0.6}, cells) == []


def test_exclude_can_leave_a_setting_unused() -> None:
    grid = {"temperature": [0.2, 0.7], "cells": [{"topP": 0.9}], "exclude": [{"topP": 0.9}]}
    assert shadowed_settings({"temperature": 0.6}, expand_grid(GridConfig.model_validate(grid))) == [
        "temperature"
    ]


def test_a_repeated_explicit_cell_is_refused_but_one_repeating_a_product_cell_is_kept_once() -> None:
    error = field_error(
        {"cells": [{"topK": 5, "temperature": 0}, {"topK": 6}, {"temperature": 0.0, "topK": 5}]}
    )
    assert error["ctx"]["field_path"] == ("cells", 2)
    assert "repeats grid.cells.0" in error["msg"]
    grid = GridConfig.model_validate({"topK": [20], "cells": [{"topK": 20}]})
    assert [c.id for c in expand_grid(grid)] == ["topK=20"]
