"""The package facade: a sorted __all__, every name importable, and nothing heavy imported eagerly."""

from __future__ import annotations

import subprocess
import sys

import pytest

import harness


def test_all_is_sorted_and_unique() -> None:
    assert harness.__all__ == sorted(set(harness.__all__))


def test_all_lists_exactly_the_lazy_exports() -> None:
    assert set(harness.__all__) == {"__version__", *harness._EXPORTS}


def test_every_exported_name_resolves() -> None:
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name


def test_load_run_is_the_stats_function() -> None:
    from harness.stats import load_run

    assert harness.load_run is load_run


def _loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported once it has run `code`."""
    probe = f"import sys\n{code}\nprint(','.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_harness_and_cli_do_not_import_heavy_libraries() -> None:
    heavy = ("pandas", "matplotlib", "datasets", "scipy", "aiohttp", "numpy")
    assert _loaded_after("import harness, harness.cli; harness.cli.build_parser()", heavy) == []


def test_what_a_run_imports_before_it_sends_leaves_the_outputs_modules_to_the_worker() -> None:
    # `harness run` in its own process: the worker's module, validation and planning (gate, stats.ci),
    # then the send. The summary model, the notebook, the Markdown summary and pandas belong to the
    # process that builds the outputs; loading them here would delay the first request (#15).
    code = (
        "import harness.report.worker, harness.loading, harness.orchestration.suite, harness.gate\n"
        "from harness.preflight import RunOptions, prepare_run\n"
        "from harness.loading import find_suite, load_suite_source\n"
        "prepare_run(load_suite_source(find_suite('gsm8k')), RunOptions(target='sim', limit=5))"
    )
    late = (
        "pandas",
        "numpy",
        "matplotlib",
        "harness.rundir.summary",
        "harness.stats.notebook",
        "harness.stats.summary",
        "harness.report.markdown",
        "harness.report.render",
    )
    assert _loaded_after(code, late) == []


def test_the_statistics_package_resolves_every_name_it_exports() -> None:
    import harness.stats
    from harness.stats import ci, notebook, paired, summary

    for name in harness.stats.__all__:
        assert getattr(harness.stats, name) is not None
    assert harness.stats.wilson_ci is ci.wilson_ci
    assert harness.stats.summarize is summary.summarize
    assert harness.stats.load_run is notebook.load_run
    assert harness.stats.holm is paired.holm
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = harness.stats.nope
