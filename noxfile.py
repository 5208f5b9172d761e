"""Developer sessions: tests, lint, typecheck, bench, demo, regression, live."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite, exactly as CI runs it."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.4")
    session.run("ruff", "check", "harness", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "harness", "tests", "noxfile.py")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[dev]")
    session.run("mypy", "harness")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (pytest-benchmark); never part of the pass/fail test run."""
    session.install("-e", ".[test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/benchmarks",
        "-p",
        "no:cacheprovider",
        "--benchmark-only",
        "--benchmark-columns=min,median,max,rounds",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: demo suite on the embedded simulator -> run directory -> HTML report."""
    session.install("-e", ".")
    session.run("harness", "demo", *session.posargs)


@nox.session(python=PYTHON)
def regression(session: nox.Session) -> None:
    """The CI gate locally: the smoke suite on the simulator, compared with a baseline run.

    The baseline is reports/regression-baseline (made on first use); pass another run directory or a
    committed summary.json after `--`. Writes the JUnit, Markdown and benchmark files under reports/.
    """
    session.install("-e", ".")
    reports = Path("reports")
    smoke = ("harness", "run", "suites/smoke.yaml", "--target", "sim", "--no-progress", "--out")
    baseline = Path(session.posargs[0]) if session.posargs else reports / "regression-baseline"
    if not session.posargs and not (baseline / "records.jsonl").exists():
        shutil.rmtree(baseline, ignore_errors=True)
        session.run(*smoke, str(baseline))
    current = reports / "regression-current"
    shutil.rmtree(current, ignore_errors=True)
    session.run(*smoke, str(current))
    summary = reports / "regression-summary.md"
    summary.unlink(missing_ok=True)
    session.run(
        "harness",
        "compare",
        str(current),
        "--baseline",
        str(baseline),
        "--junit",
        str(reports / "regression-junit.xml"),
        "--markdown",
        str(summary),
        "--benchmark-json",
        str(reports / "regression-benchmark.json"),
    )


@nox.session(python=PYTHON)
def live(session: nox.Session) -> None:
    """Opt-in tests against the real Runware API (needs RUNWARE_API_KEY)."""
    if not os.environ.get("RUNWARE_API_KEY"):
        session.skip("RUNWARE_API_KEY is not set")
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-m", "live", env={"HARNESS_LIVE_TESTS": "1"})
