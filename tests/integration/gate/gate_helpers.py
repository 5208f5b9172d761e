"""Runs the gate's compact suite through the real `harness run` and `harness compare` commands, in
process, against the embedded simulator on 127.0.0.1 with a target written per test."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main as cli_main

SUITE = Path(__file__).resolve().parent / "gate.yaml"
MODEL = "alibaba:qwen@3.5-397b"
ACCURACY = 0.75


def write_target(
    directory: Path, name: str, *, latency: str = "0", drop_at: float | None = None, drop: float = 0.08
) -> Path:
    """A simulator target with a flat accuracy, optionally `drop` lower at temperature `drop_at`."""
    skill: dict[str, Any] = {"fixed": ACCURACY}
    if drop_at is not None:
        skill["overrides"] = [{"when": {"temperature": drop_at}, "delta": -drop}]
    skill_path = directory / f"{name}-skill.yaml"
    skill_path.write_text(yaml.safe_dump(skill), encoding="utf-8")
    target = {
        "name": "sim",
        "provider": "simulator",
        "model": MODEL,
        "capability": "qwen3.5-397b",
        "simulator": {"latency": latency, "skill": str(skill_path)},
    }
    path = directory / f"{name}-target.yaml"
    path.write_text(yaml.safe_dump(target), encoding="utf-8")
    return path


def run_suite(out: Path, target: Path, *, seed: int, extra: tuple[str, ...] = ()) -> Path:
    """`harness run` of the gate suite; asserts it exits 0 and returns the run directory."""
    argv = ["run", str(SUITE), "--target", str(target), "--out", str(out), "--no-progress"]
    argv += ["--set", f"settings.seed={seed}", *extra]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        code = cli_main(argv)
    assert code == 0, printed.getvalue()
    return out


def compare(current: Path, baseline: Path, *args: str) -> tuple[int, str]:
    """`harness compare`; returns (exit code, what it printed)."""
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        code = cli_main(["compare", str(current), "--baseline", str(baseline), *args])
    return code, printed.getvalue()


def without_html(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip report.html in `harness run` (scores and summary.json are still written): the figures
    cost about a second a run, which the false-alarm test's forty runs cannot afford."""
    import harness.report

    real = harness.report.build_outputs

    def build_outputs(run_dir: Path | str, **kw: Any) -> Any:
        return real(run_dir, **{**kw, "html": False})

    monkeypatch.setattr(harness.report, "build_outputs", build_outputs)
