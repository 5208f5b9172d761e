"""harness.report.parallel: the second group is built in a forked copy, results keep their order, a
failure in the copy is redone here, and the page drawn with two processes is the page drawn with one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from report_fixtures import write_run

from harness.report.parallel import run_split
from harness.report.render import build_context, render_html
from harness.report.rundata import load_run_files

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")


def test_results_keep_their_order_and_the_second_group_runs_in_a_copy() -> None:
    here = os.getpid()
    results = run_split(
        [lambda: ("a", os.getpid()), lambda: ("b", os.getpid())], [lambda: ("c", os.getpid())]
    )
    assert [name for name, _ in results] == ["a", "b", "c"]
    assert results[0][1] == here
    assert results[1][1] == here
    assert results[2][1] != here


def test_one_job_builds_everything_here() -> None:
    here = os.getpid()
    assert run_split([os.getpid], [os.getpid, os.getpid], jobs=1) == [here, here, here]


def test_a_failure_in_the_copy_is_redone_here() -> None:
    here = os.getpid()

    def only_here() -> str:
        if os.getpid() != here:
            raise RuntimeError("fails in the copy")
        return "built here"

    assert run_split([lambda: 1], [only_here]) == [1, "built here"]


def test_an_error_of_the_second_group_surfaces_here() -> None:
    def broken() -> int:
        raise ValueError("bad figure")

    with pytest.raises(ValueError, match="bad figure"):
        run_split([lambda: 1], [broken])


def test_an_unpicklable_result_is_built_here() -> None:
    results = run_split([lambda: 1], [lambda: lambda: 2])
    assert results[0] == 1
    assert callable(results[1])
    assert results[1]() == 2


def test_two_processes_draw_the_same_page(tmp_path: Path) -> None:
    write_run(tmp_path / "run", axes={"temperature": [0.0, 0.6], "topK": [20, 40]}, n_items=6)
    files = load_run_files(tmp_path / "run")
    one = render_html(build_context(files, jobs=1))
    two = render_html(build_context(files, jobs=2))
    assert two == one
    assert one.count("<svg ") >= 5
