"""The package facade: a sorted __all__, every name importable, and nothing heavy imported eagerly."""

from __future__ import annotations

import subprocess
import sys

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


def test_import_harness_and_cli_do_not_import_heavy_libraries() -> None:
    code = (
        "import sys, harness, harness.cli; harness.cli.build_parser();"
        "heavy = [m for m in ('pandas', 'matplotlib', 'datasets', 'scipy', 'aiohttp', 'numpy') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
